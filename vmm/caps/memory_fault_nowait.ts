/**
 * `cap memory_fault_nowait`: KVM_CAP_MEMORY_FAULT_NOWAIT (seed 003, never
 * merged). Probe-only, as the seed documents it ("Returns: -EINVAL ...
 * Attempting to enable the capability directly will fail"): its presence
 * says the slot flag `absent_fault` (KVM_MEM_ABSENT_MAPPING_FAULT) is
 * accepted, and that flag turns the behaviour on: an access to an absent
 * host mapping is a memory fault instead of a sleeping fault-in.
 *
 * @module
 */
import { type CapDef, invalidArg, notInMainline, onlyBits } from "./cap.ts";

const NAME = "memory_fault_nowait";

/** `memory_fault_nowait`: probe-only; enabling it is EINVAL whatever args[0] is. */
export const MEMORY_FAULT_NOWAIT: CapDef = {
  values: { on: 1n, off: 0n },
  probeOnly: true,
  emu(_mmu, arg0) {
    onlyBits(NAME, arg0, 1n);
    // kvm_vm_ioctl_enable_cap has no case for it: the default -EINVAL.
    throw invalidArg(NAME, arg0, "probe-only: set the slot flag absent_fault instead");
  },
  kvm() {
    throw notInMainline(NAME, "`demand uffd`");
  },
  doc: {
    proposal: "KVM_CAP_MEMORY_FAULT_NOWAIT + slot flag KVM_MEM_ABSENT_MAPPING_FAULT (seed 003)",
    rules: "probe-only: every `args[0]` → EINVAL",
    emu:
      "the slot flag `absent_fault` (settable on a live slot) turns it on: an access to an absent host page of such a slot exits with `memory_fault` (with `x86_memory_fault_exit`, else EFAULT) instead of faulting it in",
    kvm: "UnsupportedError: never merged (use `demand uffd`)",
  },
};
