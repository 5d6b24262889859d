/**
 * The KVM userspace ABI for x86-64: every ioctl number, capability number,
 * exit reason, flag, quirk bit and struct layout the backend uses, and the
 * rest of the Linux ABI it calls through libc (open/mmap/memfd flags,
 * syscall numbers, timers, userfaultfd). No other file holds a magic number
 * or offset; errno numbers are in `vmm/errors.ts`.
 *
 * Sources: `include/uapi/linux/kvm.h` and `arch/x86/include/uapi/asm/kvm.h`
 * (checked against `../shared/reference/kvm-uapi.md`, section D, by
 * `tests/vmm/kvm/uapi_test.ts`).
 *
 * @module
 */

/** The ioctl type byte of KVM. */
export const KVMIO = 0xae;

const IOC_NONE = 0;
const IOC_WRITE = 1;
const IOC_READ = 2;

function ioc(dir: number, type: number, nr: number, size: number): number {
  // dir<<30 would overflow into the sign bit of a 32-bit int: use arithmetic.
  return dir * 2 ** 30 + size * 2 ** 16 + type * 2 ** 8 + nr;
}

/** `_IO(type, nr)`: an ioctl without a struct argument. */
export function io(type: number, nr: number): number {
  return ioc(IOC_NONE, type, nr, 0);
}
/** `_IOR(type, nr, size)`: the kernel writes a struct of `size` bytes. */
export function ior(type: number, nr: number, size: number): number {
  return ioc(IOC_READ, type, nr, size);
}
/** `_IOW(type, nr, size)`: the kernel reads a struct of `size` bytes. */
export function iow(type: number, nr: number, size: number): number {
  return ioc(IOC_WRITE, type, nr, size);
}
/** `_IOWR(type, nr, size)`: both directions. */
export function iowr(type: number, nr: number, size: number): number {
  return ioc(IOC_READ | IOC_WRITE, type, nr, size);
}

/** Struct sizes in bytes. */
export const SIZEOF = {
  kvm_run: 2352,
  kvm_regs: 144,
  kvm_sregs: 312,
  kvm_segment: 24,
  kvm_dtable: 16,
  kvm_userspace_memory_region: 32,
  kvm_dirty_log: 16,
  kvm_clear_dirty_log: 24,
  kvm_enable_cap: 104,
  kvm_cpuid2: 8,
  kvm_cpuid_entry2: 40,
  kvm_msrs: 8,
  kvm_msr_entry: 16,
  kvm_stats_header: 24,
  kvm_stats_desc: 16,
  u64: 8,
} as const;

/** ioctl numbers by name (the name is what errors report). */
export const IOCTL = {
  // /dev/kvm
  KVM_GET_API_VERSION: io(KVMIO, 0x00),
  KVM_CREATE_VM: io(KVMIO, 0x01),
  KVM_CHECK_EXTENSION: io(KVMIO, 0x03),
  KVM_GET_VCPU_MMAP_SIZE: io(KVMIO, 0x04),
  KVM_GET_SUPPORTED_CPUID: iowr(KVMIO, 0x05, SIZEOF.kvm_cpuid2),
  // VM fd
  KVM_CREATE_VCPU: io(KVMIO, 0x41),
  KVM_GET_DIRTY_LOG: iow(KVMIO, 0x42, SIZEOF.kvm_dirty_log),
  KVM_SET_USER_MEMORY_REGION: iow(KVMIO, 0x46, SIZEOF.kvm_userspace_memory_region),
  KVM_SET_TSS_ADDR: io(KVMIO, 0x47),
  KVM_SET_IDENTITY_MAP_ADDR: iow(KVMIO, 0x48, SIZEOF.u64),
  KVM_ENABLE_CAP: iow(KVMIO, 0xa3, SIZEOF.kvm_enable_cap),
  KVM_CLEAR_DIRTY_LOG: iowr(KVMIO, 0xc0, SIZEOF.kvm_clear_dirty_log),
  KVM_GET_STATS_FD: io(KVMIO, 0xce),
  // vCPU fd
  KVM_RUN: io(KVMIO, 0x80),
  KVM_GET_REGS: ior(KVMIO, 0x81, SIZEOF.kvm_regs),
  KVM_SET_REGS: iow(KVMIO, 0x82, SIZEOF.kvm_regs),
  KVM_GET_SREGS: ior(KVMIO, 0x83, SIZEOF.kvm_sregs),
  KVM_SET_SREGS: iow(KVMIO, 0x84, SIZEOF.kvm_sregs),
  KVM_GET_MSRS: iowr(KVMIO, 0x88, SIZEOF.kvm_msrs),
  KVM_SET_MSRS: iow(KVMIO, 0x89, SIZEOF.kvm_msrs),
  KVM_SET_CPUID2: iow(KVMIO, 0x90, SIZEOF.kvm_cpuid2),
} as const;

/** The name of an ioctl. */
export type IoctlName = keyof typeof IOCTL;

/** The only API version this backend speaks (stable since Linux 2.6.22). */
export const KVM_API_VERSION = 12;

/** Mainline capability numbers (never a proposal's number: see dsl.md). */
export const CAP = {
  NR_MEMSLOTS: 10,
  MAX_VCPUS: 66,
  READONLY_MEM: 81,
  DISABLE_QUIRKS: 116,
  MANUAL_DIRTY_LOG_PROTECT2: 168,
  HYPERV_ENFORCE_CPUID: 199,
  DIRTY_LOG_RING: 192,
  BINARY_STATS_FD: 203,
  DISABLE_QUIRKS2: 213,
  USER_MEMORY2: 231,
  MEMORY_FAULT_INFO: 232,
  GUEST_MEMFD: 234,
  VM_TYPES: 235,
} as const;

/**
 * Capability numbers that proposals claimed but that mean something else in
 * mainline (184 = LAST_CPU, 228 = ARM_EAGER_SPLIT_CHUNK_SIZE, 236 =
 * PRE_FAULT_MEMORY, 239/240/243 = other caps or KVM Userfault revisions).
 * The backend must never put these in an ENABLE_CAP or CHECK_EXTENSION.
 */
export const PROPOSAL_CAP_NUMBERS: readonly number[] = [184, 228, 236, 239, 240, 243];

/** KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 argument bits. */
export const MANUAL_PROTECT_ENABLE = 1;
/** Dirty bitmaps start all-set when logging is enabled (we do not use it). */
export const MANUAL_PROTECT_INITIALLY_SET = 2;

/** KVM_X86_QUIRK_* bits (KVM_CAP_DISABLE_QUIRKS2). */
export const QUIRK = {
  LINT0_REENABLED: 0x1,
  CD_NW_CLEARED: 0x2,
  LAPIC_MMIO_HOLE: 0x4,
  OUT_7E_INC_RIP: 0x8,
  MISC_ENABLE_NO_MWAIT: 0x10,
  FIX_HYPERCALL_INSN: 0x20,
  MWAIT_NEVER_UD_FAULTS: 0x40,
  SLOT_ZAP_ALL: 0x80,
  STUFF_FEATURE_MSRS: 0x100,
  IGNORE_GUEST_PAT: 0x200,
} as const;

/** Memslot flags (`kvm_userspace_memory_region.flags`). */
export const MEM = {
  LOG_DIRTY_PAGES: 1,
  READONLY: 2,
  GUEST_MEMFD: 4,
} as const;

/** KVM_EXIT_* reasons (`kvm_run.exit_reason`). */
export const EXIT = {
  UNKNOWN: 0,
  EXCEPTION: 1,
  IO: 2,
  HYPERCALL: 3,
  DEBUG: 4,
  HLT: 5,
  MMIO: 6,
  IRQ_WINDOW_OPEN: 7,
  SHUTDOWN: 8,
  FAIL_ENTRY: 9,
  INTR: 10,
  NMI: 16,
  INTERNAL_ERROR: 17,
  SYSTEM_EVENT: 24,
  X86_RDMSR: 29,
  X86_WRMSR: 30,
  DIRTY_RING_FULL: 31,
  X86_BUS_LOCK: 33,
  NOTIFY: 37,
  MEMORY_FAULT: 39,
} as const;

/** `kvm_run.io.direction`. */
export const KVM_EXIT_IO_IN = 0;
/** `kvm_run.io.direction` for `out`. */
export const KVM_EXIT_IO_OUT = 1;

/** KVM_MEMORY_EXIT_FLAG_* (memory_fault.flags) by bit. */
export const MEMORY_EXIT_FLAG_PRIVATE = 1n << 3n;

/**
 * One C field: its name, its size in bytes, and its alignment when that is
 * not its size (arrays and nested structs; a scalar aligns to its size). A
 * name starting with `_` is padding: laid out, not returned.
 */
type Field = readonly [name: string, size: number, align?: number];

/** The offsets {@linkcode layout} returns: one per field not named `_…`, prefixed. */
type Offsets<F extends readonly Field[], P extends string> = {
  readonly [K in F[number][0] as K extends `_${string}` ? never : `${P}${K}`]: number;
};

/**
 * Field offsets of a C struct on x86-64 from its fields in order: each
 * starts at the next multiple of its alignment, as the C compiler lays it out.
 *
 * @param fields the fields in declaration order
 * @param at the offset of the struct (a union member inside a larger struct)
 * @param prefix prepended to each name (union members share one object)
 * @returns each field's offset by (prefixed) name
 */
function layout<const F extends readonly Field[], const P extends string = "">(
  fields: F,
  at = 0,
  prefix = "" as P,
): Offsets<F, P> {
  const offsets: Record<string, number> = {};
  let next = at;
  for (const [name, size, align = size] of fields) {
    if (![1, 2, 4, 8].includes(align)) throw new Error(`uapi: field ${name} needs its alignment`);
    next = Math.ceil(next / align) * align;
    if (!name.startsWith("_")) offsets[prefix + name] = next;
    next += size;
  }
  return offsets as Offsets<F, P>;
}

/** Where `kvm_run`'s exit union starts. */
const RUN_EXIT_UNION = 32;

/** `struct kvm_run` offsets: the header, then the union members the backend reads (`io_port`, …). */
export const RUN = {
  ...layout([
    ["request_interrupt_window", 1],
    ["immediate_exit", 1],
    ["_padding1", 6, 1],
    ["exit_reason", 4],
    ["ready_for_interrupt_injection", 1],
    ["if_flag", 1],
    ["flags", 2],
  ]),
  ...layout(
    [["direction", 1], ["size", 1], ["port", 2], ["count", 4], ["data_offset", 8]],
    RUN_EXIT_UNION,
    "io_",
  ),
  ...layout(
    [["phys_addr", 8], ["data", 8, 1], ["len", 4], ["is_write", 1]],
    RUN_EXIT_UNION,
    "mmio_",
  ),
  ...layout([["reason", 8], ["cpu", 4]], RUN_EXIT_UNION, "fail_entry_"),
  ...layout([["suberror", 4], ["ndata", 4], ["data", 0, 8]], RUN_EXIT_UNION, "internal_"),
  ...layout([["type", 4]], RUN_EXIT_UNION, "system_event_"),
  ...layout([["flags", 8], ["gpa", 8], ["size", 8]], RUN_EXIT_UNION, "memory_fault_"),
};

/** `struct kvm_regs` offsets: the 16 GPRs in this order at 8-byte steps, then rip, rflags. */
export const REGS_ORDER = [
  "rax",
  "rbx",
  "rcx",
  "rdx",
  "rsi",
  "rdi",
  "rsp",
  "rbp",
  "r8",
  "r9",
  "r10",
  "r11",
  "r12",
  "r13",
  "r14",
  "r15",
] as const;
/** `kvm_regs.rip`. */
export const REGS_RIP = 128;
/** `kvm_regs.rflags`. */
export const REGS_RFLAGS = 136;

/** `struct kvm_segment` field offsets. */
export const SEG = layout([
  ["base", 8],
  ["limit", 4],
  ["selector", 2],
  ["type", 1],
  ["present", 1],
  ["dpl", 1],
  ["db", 1],
  ["s", 1],
  ["l", 1],
  ["g", 1],
  ["avl", 1],
  ["unusable", 1],
]);

/** `struct kvm_sregs` offsets. */
export const SREGS = layout([
  ...(["cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt"] as const).map((n) =>
    [n, SIZEOF.kvm_segment, 8] as const
  ),
  ["gdt", SIZEOF.kvm_dtable, 8],
  ["idt", SIZEOF.kvm_dtable, 8],
  ["cr0", 8],
  ["cr2", 8],
  ["cr3", 8],
  ["cr4", 8],
  ["cr8", 8],
  ["efer", 8],
  ["apic_base", 8],
]);
/** `struct kvm_dtable`: base u64 @0, limit u16 @8. */
export const DTABLE_LIMIT = layout([["base", 8], ["limit", 2]]).limit;

/** `struct kvm_userspace_memory_region`. */
export const REGION = layout([
  ["slot", 4],
  ["flags", 4],
  ["guest_phys_addr", 8],
  ["memory_size", 8],
  ["userspace_addr", 8],
]);
/** `struct kvm_dirty_log`: slot u32, then the bitmap pointer. */
export const DIRTY_LOG = layout([["slot", 4], ["bitmap", 8]]);
/** `struct kvm_clear_dirty_log`. */
export const CLEAR_DIRTY_LOG = layout([
  ["slot", 4],
  ["num_pages", 4],
  ["first_page", 8],
  ["bitmap", 8],
]);
/** `struct kvm_enable_cap`: cap u32, flags u32, args[4] u64. */
export const ENABLE_CAP = layout([["cap", 4], ["flags", 4], ["args", 32, 8]]);
/** `struct kvm_cpuid2` header (nent u32, entries 8-aligned) and `kvm_cpuid_entry2` fields. */
export const CPUID = {
  ...layout([["nent", 4], ["entries", 0, 8]]),
  ...layout([
    ["function", 4],
    ["index", 4],
    ["flags", 4],
    ["eax", 4],
    ["ebx", 4],
    ["ecx", 4],
    ["edx", 4],
  ]),
};
/** `struct kvm_msrs` header (nmsrs u32, entries 8-aligned) and `kvm_msr_entry` (index u32, data u64). */
export const MSRS = {
  ...layout([["nmsrs", 4], ["entries", 0, 8]]),
  ...layout([["index", 4], ["data", 8]]),
};

/** `struct kvm_stats_header` offsets. */
export const STATS_HEADER = layout([
  ["flags", 4],
  ["name_size", 4],
  ["num_desc", 4],
  ["id_offset", 4],
  ["desc_offset", 4],
  ["data_offset", 4],
]);
/** `struct kvm_stats_desc` offsets (the name follows, `name_size` bytes). */
export const STATS_DESC = layout([
  ["flags", 4],
  ["exponent", 2],
  ["size", 2],
  ["offset", 4],
  ["bucket_size", 4],
  ["name", 0, 1],
]);
/** KVM_STATS_TYPE_* (`flags & 0xf`). */
export const STATS_TYPE_MASK = 0xf;

/** MSR numbers. */
export const MSR_IA32_PAT = 0x277;

/** CPUID leaf 0x80000001 EDX bit 26: 1 GiB pages (pdpe1gb). */
export const CPUID_EXT_FEATURES = 0x8000_0001;
/** The pdpe1gb bit in leaf 0x80000001 EDX. */
export const CPUID_PDPE1GB_BIT = 26;

/** KVM_SYSTEM_EVENT_* types. */
export const SYSTEM_EVENT = { SHUTDOWN: 1, RESET: 2, CRASH: 3, WAKEUP: 4, SUSPEND: 5 } as const;

// --- the rest of the Linux x86-64 ABI the backend calls through libc -------

/** open(2) flags. */
export const O_RDWR = 2;
/** Do not block (userfaultfd: another handler may have taken the message). */
export const O_NONBLOCK = 0o4000;
/** Close the fd on exec (so child processes never inherit KVM fds). */
export const O_CLOEXEC = 0o2000000;

/** mmap(2) protection and flags. */
export const PROT_READ = 1;
/** Writable mapping. */
export const PROT_WRITE = 2;
/** Shared mapping (memfd backing, the kvm_run page). */
export const MAP_SHARED = 0x01;
/** Private mapping (anonymous backing). */
export const MAP_PRIVATE = 0x02;
/** No file behind the mapping. */
export const MAP_ANONYMOUS = 0x20;
/** Do not reserve swap: a huge slot costs nothing until touched. */
export const MAP_NORESERVE = 0x4000;
/** Back the mapping with hugetlbfs pages. */
export const MAP_HUGETLB = 0x40000;
/** log2(page size) in MAP_HUGETLB's size field. */
export const MAP_HUGE_SHIFT = 26;
/** madvise(2): populate (prefault) page tables writable (Linux 5.14). */
export const MADV_POPULATE_WRITE = 23;
/** madvise(2): drop the range's page-table entries (shmem keeps its page cache). */
export const MADV_DONTNEED = 4;
/** memfd_create(2): close on exec. */
export const MFD_CLOEXEC = 1;

/** x86-64 syscall numbers used through `syscall()`: gettid(). */
export const SYS_GETTID = 186;
/** tgkill(tgid, tid, sig). */
export const SYS_TGKILL = 234;
/** timer_create(clockid, sigevent*, timer_t*). */
export const SYS_TIMER_CREATE = 222;
/** timer_settime(timer, flags, new*, old*). */
export const SYS_TIMER_SETTIME = 223;
/** timer_delete(timer). */
export const SYS_TIMER_DELETE = 226;

/** struct sigevent (64 B): signo i32 @8, notify i32 @12, thread id i32 @16. */
export const SIGEVENT = { size: 64, signo: 8, notify: 12, tid: 16 } as const;
/** SIGEV_THREAD_ID: deliver the timer's signal to one thread. */
export const SIGEV_THREAD_ID = 4;
/** CLOCK_MONOTONIC. */
export const CLOCK_MONOTONIC = 1;
/** SIGUSR2, the signal that kicks a vCPU out of KVM_RUN. */
export const SIGUSR2 = 12;
/**
 * glibc's x86-64 `struct sigaction` (152 B): `sa_handler` @0, `sa_mask`
 * (1024 bits) @8, `sa_flags` i32 @136, `sa_restorer` @144 (the `sigaction()`
 * wrapper fills the restorer itself).
 */
export const SIGACTION = { size: 152, handler: 0, mask: 8, flags: 136 } as const;
/**
 * `struct itimerspec` as four i64 words: `it_interval` {tv_sec, tv_nsec},
 * then `it_value` {tv_sec, tv_nsec}.
 */
export const ITIMERSPEC = {
  words: 4,
  interval_sec: 0,
  interval_nsec: 1,
  value_sec: 2,
  value_nsec: 3,
} as const;

// --- userfaultfd (include/uapi/linux/userfaultfd.h) -------------------------

/** The ioctl type byte of userfaultfd (`UFFDIO`). */
export const UFFDIO_TYPE = 0xaa;
/** `UFFD_API`: the only API version (`uffdio_api.api`). */
export const UFFD_API = 0xaa;
/** userfaultfd(2) on x86-64. */
export const SYS_USERFAULTFD = 323;
/**
 * Flags of userfaultfd(2) and USERFAULTFD_IOC_NEW: O_CLOEXEC | O_NONBLOCK
 * (the handlers poll, then read without blocking: another handler may have
 * taken the message first).
 */
export const UFFD_OPEN_FLAGS = O_CLOEXEC | O_NONBLOCK;
/** `/dev/userfaultfd`: the path when the syscall is refused (vm.unprivileged_userfaultfd = 0). */
export const USERFAULTFD_DEV = "/dev/userfaultfd";

/** Struct sizes of the userfaultfd ABI. */
export const UFFD_SIZEOF = {
  uffdio_api: 24,
  uffdio_range: 16,
  uffdio_register: 32,
  uffdio_copy: 40,
  uffdio_zeropage: 32,
  uffdio_continue: 32,
  uffd_msg: 32,
  pollfd: 8,
} as const;

/** userfaultfd ioctl numbers by name (kept out of `IOCTL`, which is KVM's). */
export const UFFDIO = {
  /** On /dev/userfaultfd: a new userfaultfd; the argument is the open flags. */
  USERFAULTFD_IOC_NEW: io(UFFDIO_TYPE, 0x00),
  UFFDIO_API: iowr(UFFDIO_TYPE, 0x3f, UFFD_SIZEOF.uffdio_api),
  UFFDIO_REGISTER: iowr(UFFDIO_TYPE, 0x00, UFFD_SIZEOF.uffdio_register),
  UFFDIO_UNREGISTER: ior(UFFDIO_TYPE, 0x01, UFFD_SIZEOF.uffdio_range),
  UFFDIO_WAKE: ior(UFFDIO_TYPE, 0x02, UFFD_SIZEOF.uffdio_range),
  UFFDIO_COPY: iowr(UFFDIO_TYPE, 0x03, UFFD_SIZEOF.uffdio_copy),
  UFFDIO_ZEROPAGE: iowr(UFFDIO_TYPE, 0x04, UFFD_SIZEOF.uffdio_zeropage),
  /** _IOWR(UFFDIO, _UFFDIO_CONTINUE = 0x07, struct uffdio_continue) (Linux 5.13). */
  UFFDIO_CONTINUE: iowr(UFFDIO_TYPE, 0x07, UFFD_SIZEOF.uffdio_continue),
} as const;

/** The name of a userfaultfd ioctl. */
export type UffdioName = keyof typeof UFFDIO;

/** `uffdio_register.mode`: report missing pages. */
export const UFFDIO_REGISTER_MODE_MISSING = 1n;
/**
 * `uffdio_register.mode`: report minor faults, pages present in the page
 * cache but not mapped in this mapping (1 << 2; 1 << 1 is MODE_WP).
 */
export const UFFDIO_REGISTER_MODE_MINOR = 1n << 2n;
/** `uffdio_api.features`: MINOR mode on shmem (and memfd) mappings (1 << 10, Linux 5.14). */
export const UFFD_FEATURE_MINOR_SHMEM = 1n << 10n;
/** `uffdio_register.ioctls` (out) bit of UFFDIO_COPY (1 << _UFFDIO_COPY). */
export const UFFDIO_IOCTL_BIT_COPY = 1n << 3n;
/** `uffdio_register.ioctls` (out) bit of UFFDIO_ZEROPAGE. */
export const UFFDIO_IOCTL_BIT_ZEROPAGE = 1n << 4n;
/** `uffdio_register.ioctls` (out) bit of UFFDIO_CONTINUE (1 << _UFFDIO_CONTINUE). */
export const UFFDIO_IOCTL_BIT_CONTINUE = 1n << 7n;

/** `struct uffdio_api`: api u64 @0, features u64 @8, ioctls u64 @16 (out). */
export const UFFDIO_API_OFF = { api: 0, features: 8, ioctls: 16 } as const;
/** `struct uffdio_register`: range {start u64 @0, len u64 @8}, mode u64 @16, ioctls u64 @24 (out). */
export const UFFDIO_REGISTER_OFF = { start: 0, len: 8, mode: 16, ioctls: 24 } as const;
/** `struct uffdio_range` (UNREGISTER, WAKE). */
export const UFFDIO_RANGE_OFF = { start: 0, len: 8 } as const;
/**
 * `struct uffdio_copy`: dst, src, len, mode u64, then copy s64 (out): bytes
 * copied, or a negative errno when nothing was.
 */
export const UFFDIO_COPY_OFF = { dst: 0, src: 8, len: 16, mode: 24, copy: 32 } as const;
/** `struct uffdio_zeropage`: range {start, len}, mode u64 @16, zeropage s64 @24 (out). */
export const UFFDIO_ZEROPAGE_OFF = { start: 0, len: 8, mode: 16, zeropage: 24 } as const;
/**
 * `struct uffdio_continue`: range {start, len}, mode u64 @16, mapped s64 @24
 * (out): bytes mapped, or a negative errno when nothing was.
 */
export const UFFDIO_CONTINUE_OFF = { start: 0, len: 8, mode: 16, mapped: 24 } as const;
/**
 * `struct uffd_msg` (32 B, packed): event u8 @0, then the union at 8; for a
 * page fault: flags u64 @8, address u64 @16, ptid u32 @24.
 */
export const UFFD_MSG_OFF = { event: 0, pf_flags: 8, pf_address: 16, pf_ptid: 24 } as const;
/** `uffd_msg.event` of a page fault. */
export const UFFD_EVENT_PAGEFAULT = 0x12;
/** `uffd_msg.pagefault.flags`: the access was a write. */
export const UFFD_PAGEFAULT_FLAG_WRITE = 1n;
/** `uffd_msg.pagefault.flags`: a minor fault (the range is registered MODE_MINOR). */
export const UFFD_PAGEFAULT_FLAG_MINOR = 1n << 2n;

/** `struct pollfd`: fd i32 @0, events i16 @4, revents i16 @6. */
export const POLLFD_OFF = { fd: 0, events: 4, revents: 6 } as const;
/** poll(2): data to read. */
export const POLLIN = 1;
