/**
 * `cap memory_fault_nowait on|off`: KVM_CAP_MEMORY_FAULT_NOWAIT (seed 003,
 * never merged). With it on, the slot flag `absent_fault` makes an access to
 * an absent host mapping a memory fault instead of a sleeping fault-in.
 *
 * @module
 */
import { type CapDef, notInMainline, onlyBits } from "./cap.ts";

const NAME = "memory_fault_nowait";

/** `memory_fault_nowait`: args[0] 1 on, 0 off. */
export const MEMORY_FAULT_NOWAIT: CapDef = {
  values: { on: 1n, off: 0n },
  emu(mmu, arg0) {
    onlyBits(NAME, arg0, 1n);
    mmu.caps.memoryFaultNowait = arg0 === 1n;
  },
  kvm() {
    throw notInMainline(NAME, "`demand uffd`");
  },
  doc: {
    proposal: "KVM_CAP_MEMORY_FAULT_NOWAIT + slot flag KVM_MEM_ABSENT_MAPPING_FAULT (seed 003)",
    rules: "`args[0] & ~1` → EINVAL",
    emu:
      "an access to an absent host page of an `absent_fault` slot exits with `memory_fault` (with `x86_memory_fault_exit`) instead of faulting it in",
    kvm: "UnsupportedError: never merged (use `demand uffd`)",
  },
};
