/**
 * The uAPI table against the reference (../shared/reference/kvm-uapi.md,
 * section D) and the layouts a kernel returns. Needs no /dev/kvm.
 */
import { assertEquals } from "@std/assert";
import { CAP, EXIT, IOCTL, QUIRK, RUN, SIZEOF, SREGS } from "../../../vmm/kvm/uapi.ts";

/** The ioctl values as the reference table gives them. */
const REFERENCE_IOCTLS: Record<string, number> = {
  KVM_GET_API_VERSION: 0xae00,
  KVM_CREATE_VM: 0xae01,
  KVM_CHECK_EXTENSION: 0xae03,
  KVM_GET_VCPU_MMAP_SIZE: 0xae04,
  KVM_CREATE_VCPU: 0xae41,
  KVM_GET_DIRTY_LOG: 0x4010ae42,
  KVM_SET_USER_MEMORY_REGION: 0x4020ae46,
  KVM_SET_TSS_ADDR: 0xae47,
  KVM_SET_IDENTITY_MAP_ADDR: 0x4008ae48,
  KVM_RUN: 0xae80,
  KVM_GET_REGS: 0x8090ae81,
  KVM_SET_REGS: 0x4090ae82,
  KVM_GET_SREGS: 0x8138ae83,
  KVM_SET_SREGS: 0x4138ae84,
  KVM_SET_CPUID2: 0x4008ae90,
  KVM_GET_SUPPORTED_CPUID: 0xc008ae05,
  KVM_ENABLE_CAP: 0x4068aea3,
  KVM_CLEAR_DIRTY_LOG: 0xc018aec0,
  KVM_GET_STATS_FD: 0xaece,
  // Not in the reference table; from the kernel header (_IOW/_IOWR(KVMIO, 0x89/0x88, struct kvm_msrs)).
  KVM_SET_MSRS: 0x4008ae89,
  KVM_GET_MSRS: 0xc008ae88,
};

Deno.test("uapi: every ioctl number matches the reference table", () => {
  for (const [name, value] of Object.entries(REFERENCE_IOCTLS)) {
    assertEquals(
      (IOCTL as Record<string, number>)[name],
      value,
      `${name} = 0x${(IOCTL as Record<string, number>)[name]?.toString(16)}`,
    );
  }
  assertEquals(Object.keys(IOCTL).sort(), Object.keys(REFERENCE_IOCTLS).sort());
});

Deno.test("uapi: capability numbers, quirk bits and exit reasons match the reference", () => {
  assertEquals(CAP.MANUAL_DIRTY_LOG_PROTECT2, 168);
  assertEquals(CAP.DISABLE_QUIRKS2, 213);
  assertEquals(CAP.BINARY_STATS_FD, 203);
  assertEquals(CAP.MEMORY_FAULT_INFO, 232);
  assertEquals(CAP.NR_MEMSLOTS, 10);
  assertEquals(CAP.READONLY_MEM, 81);
  assertEquals(QUIRK.SLOT_ZAP_ALL, 0x80);
  assertEquals(QUIRK.IGNORE_GUEST_PAT, 0x200);
  assertEquals(QUIRK.CD_NW_CLEARED, 0x2);
  assertEquals(EXIT.IO, 2);
  assertEquals(EXIT.HLT, 5);
  assertEquals(EXIT.MMIO, 6);
  assertEquals(EXIT.SHUTDOWN, 8);
  assertEquals(EXIT.FAIL_ENTRY, 9);
  assertEquals(EXIT.INTR, 10);
  assertEquals(EXIT.INTERNAL_ERROR, 17);
  assertEquals(EXIT.SYSTEM_EVENT, 24);
  assertEquals(EXIT.MEMORY_FAULT, 39);
});

Deno.test("uapi: struct layouts match the reference", () => {
  assertEquals(SIZEOF.kvm_run, 2352);
  assertEquals(SIZEOF.kvm_regs, 144);
  assertEquals(SIZEOF.kvm_sregs, 0x138);
  assertEquals(SIZEOF.kvm_enable_cap, 104);
  assertEquals(RUN.exit_reason, 8);
  assertEquals(RUN.io_port, 34);
  assertEquals(RUN.io_data_offset, 40);
  assertEquals(RUN.memory_fault_gpa, 40);
  assertEquals(SREGS.cr0, 224);
  assertEquals(SREGS.efer, 264);
  assertEquals(SREGS.gdt, 192);
});
