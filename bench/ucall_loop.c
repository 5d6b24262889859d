/*
 * The C reference loop of bench/ucall.ts: runs the very guest bytes the
 * benchmark hands it (a memory image of the system region, kvm_sregs and
 * kvm_regs as the VMM set them) on /dev/kvm with a minimal KVM_RUN loop that
 * decodes each ucall the way the VMM does (cmd from the `out` data, label
 * and value from the vCPU's slot), until `done`.
 *
 * Usage: ucall_loop MEM SREGS REGS SLOT_GPA
 * Prints one JSON object: exits, wall/user/system microseconds of the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define UCALL_PORT 0x1000
#define UCALL_DONE 1
#define UCALL_SYNC 2
#define UCALL_FAIL 3
#define LABEL_OFFSET 8
#define VALUE_OFFSET 16
#define MAX_LABEL 63
#define TSS_ADDR 0xfffbd000UL

static void die(const char *what) {
  fprintf(stderr, "ucall_loop: %s: %s\n", what, strerror(errno));
  exit(1);
}

static size_t read_file(const char *path, void *buf, size_t max) {
  FILE *f = fopen(path, "rb");
  if (!f) die(path);
  size_t n = fread(buf, 1, max, f);
  fclose(f);
  return n;
}

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static double tv_us(struct timeval t) { return t.tv_sec * 1e6 + t.tv_usec; }

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: ucall_loop MEM SREGS REGS SLOT_GPA\n");
    return 2;
  }
  int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm < 0) die("/dev/kvm");
  int vm = ioctl(kvm, KVM_CREATE_VM, 0);
  if (vm < 0) die("KVM_CREATE_VM");
  ioctl(vm, KVM_SET_TSS_ADDR, TSS_ADDR); /* needed on Intel only; harmless to fail elsewhere */

  FILE *f = fopen(argv[1], "rb");
  if (!f) die(argv[1]);
  fseek(f, 0, SEEK_END);
  size_t size = (size_t)ftell(f);
  fclose(f);
  uint8_t *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) die("mmap guest memory");
  read_file(argv[1], mem, size);
  struct kvm_userspace_memory_region region = {
      .slot = 0, .guest_phys_addr = 0, .memory_size = size, .userspace_addr = (uintptr_t)mem};
  if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) die("KVM_SET_USER_MEMORY_REGION");

  int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
  if (vcpu < 0) die("KVM_CREATE_VCPU");
  int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (run_size < 0) die("KVM_GET_VCPU_MMAP_SIZE");
  struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
  if (run == MAP_FAILED) die("mmap kvm_run");

  int nent = 256;
  struct kvm_cpuid2 *cpuid = calloc(1, sizeof(*cpuid) + nent * sizeof(struct kvm_cpuid_entry2));
  cpuid->nent = nent;
  if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) die("KVM_GET_SUPPORTED_CPUID");
  if (ioctl(vcpu, KVM_SET_CPUID2, cpuid) < 0) die("KVM_SET_CPUID2");

  struct kvm_sregs sregs;
  struct kvm_regs regs;
  if (read_file(argv[2], &sregs, sizeof(sregs)) != sizeof(sregs)) die("short kvm_sregs");
  if (read_file(argv[3], &regs, sizeof(regs)) != sizeof(regs)) die("short kvm_regs");
  if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) die("KVM_SET_SREGS");
  if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) die("KVM_SET_REGS");
  uint64_t slot = strtoull(argv[4], NULL, 0);

  /* The first entry faults in the guest's pages; time the loop from the second exit on. */
  if (ioctl(vcpu, KVM_RUN, 0) < 0) die("KVM_RUN");
  long exits = 0;
  uint64_t check = 0;
  struct rusage r0, r1;
  getrusage(RUSAGE_SELF, &r0);
  double t0 = now_us();
  for (;;) {
    if (ioctl(vcpu, KVM_RUN, 0) < 0) {
      if (errno == EINTR) continue;
      die("KVM_RUN");
    }
    exits++;
    if (run->exit_reason != KVM_EXIT_IO) {
      fprintf(stderr, "ucall_loop: unexpected exit reason %u\n", run->exit_reason);
      return 1;
    }
    if (run->io.port != UCALL_PORT || run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 4) {
      continue;
    }
    uint32_t cmd = *(uint32_t *)((uint8_t *)run + run->io.data_offset);
    if (cmd == UCALL_DONE) break;
    if (cmd == UCALL_SYNC || cmd == UCALL_FAIL) {
      uint64_t label, value;
      memcpy(&label, mem + slot + LABEL_OFFSET, 8);
      memcpy(&value, mem + slot + VALUE_OFFSET, 8);
      size_t len = label && label < size ? strnlen((char *)mem + label, MAX_LABEL) : 0;
      check += value + len;
      if (cmd == UCALL_FAIL) {
        fprintf(stderr, "ucall_loop: guest failed\n");
        return 1;
      }
    }
  }
  double t1 = now_us();
  getrusage(RUSAGE_SELF, &r1);
  printf("{\"exits\": %ld, \"wallUs\": %.1f, \"userUs\": %.1f, \"systemUs\": %.1f, \"check\": %llu}\n",
         exits, t1 - t0, tv_us(r1.ru_utime) - tv_us(r0.ru_utime),
         tv_us(r1.ru_stime) - tv_us(r0.ru_stime), (unsigned long long)check);
  return 0;
}
