/**
 * `cap x86_memory_fault_exit absent_mapping`: KVM_CAP_X86_MEMORY_FAULT_EXIT
 * (seed 003): args[0] selects the memory-fault reasons that exit to
 * userspace with information; without `absent_mapping` such a fault fails
 * KVM_RUN with EFAULT.
 *
 * @module
 */
import { type CapDef, notInMainline, onlyBits } from "./cap.ts";

const NAME = "x86_memory_fault_exit";
/** KVM_MEMFAULT_REASON_UNKNOWN. */
const REASON_UNKNOWN = 1n << 0n;
/** KVM_MEMFAULT_REASON_ABSENT_MAPPING. */
const REASON_ABSENT_MAPPING = 1n << 1n;

/** `x86_memory_fault_exit`: args[0] is a set of KVM_MEMFAULT_REASON_* bits. */
export const X86_MEMORY_FAULT_EXIT: CapDef = {
  values: { absent_mapping: REASON_ABSENT_MAPPING },
  emu(mmu, arg0) {
    onlyBits(NAME, arg0, REASON_UNKNOWN | REASON_ABSENT_MAPPING);
    mmu.caps.memoryFaultExit = (arg0 & REASON_ABSENT_MAPPING) !== 0n;
  },
  kvm() {
    throw notInMainline(NAME, "`demand uffd`");
  },
  doc: {
    proposal: "KVM_CAP_X86_MEMORY_FAULT_EXIT, reason KVM_MEMFAULT_REASON_ABSENT_MAPPING (seed 003)",
    rules: "`args[0] & ~3` → EINVAL",
    emu:
      "without `absent_mapping`, the absent-mapping case fails the run with EFAULT and no fault information",
    kvm: "UnsupportedError: never merged",
  },
};
