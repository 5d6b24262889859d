/**
 * `cap memslot_zap_control zap_only_memslot|zap_all`: KVM_CAP_MEMSLOT_ZAP_CONTROL
 * (seed 001, rejected); mainline 6.12's quirk `slot_zap_all` is the mechanism.
 *
 * @module
 */
import { type CapDef, onlyBits, unknownValue } from "./cap.ts";

const NAME = "memslot_zap_control";
/** KVM_ZAP_ONLY_MEMSLOT_SPTES, the proposal's only flag. */
const ZAP_ONLY_MEMSLOT_SPTES = 1n;
const VALUES = { zap_only_memslot: ZAP_ONLY_MEMSLOT_SPTES, zap_all: 0n };

/** `memslot_zap_control`: args[0] is a flag set, KVM_ZAP_ONLY_MEMSLOT_SPTES its only flag. */
export const MEMSLOT_ZAP_CONTROL: CapDef = {
  values: VALUES,
  emu(mmu, arg0) {
    onlyBits(NAME, arg0, ZAP_ONLY_MEMSLOT_SPTES);
    mmu.caps.zapOnlyMemslot = (arg0 & ZAP_ONLY_MEMSLOT_SPTES) !== 0n;
  },
  kvm(host, arg0) {
    // The quirk on means zap-all; a proposal flag never reaches the kernel.
    if (arg0 === VALUES.zap_only_memslot) return host.setQuirk("slot_zap_all", false);
    if (arg0 === VALUES.zap_all) return host.setQuirk("slot_zap_all", true);
    throw unknownValue(NAME, VALUES, arg0);
  },
  // What it maps to on mainline: the quirk KVM_X86_QUIRK_SLOT_ZAP_ALL, where the host offers it.
  kvmOffered: (host) => host.quirkOffered("slot_zap_all"),
  doc: {
    proposal: "KVM_CAP_MEMSLOT_ZAP_CONTROL, flag KVM_ZAP_ONLY_MEMSLOT_SPTES (seed 001, rejected)",
    rules: "`args[0] & ~1` → EINVAL",
    emu:
      "on memslot delete/move: `zap_all` (default) invalidates every root; `zap_only_memslot` zaps the slot's leaf SPTEs",
    kvm:
      "`quirk slot_zap_all off` (mainline 6.12) where the host offers it, else UnsupportedError; `zap_all` after `zap_only_memslot` is an error (a quirk cannot be re-enabled)",
  },
};
