/**
 * The mainline x86 quirks `quirk NAME on|off` sets through
 * KVM_CAP_DISABLE_QUIRKS2: one row each (bit, emulator behaviour, doc).
 * The kvm backend needs nothing more than the bit.
 *
 * @module
 */
import type { QuirkDef } from "./cap.ts";
import { QUIRK } from "../kvm/uapi.ts";

/** Every quirk by DSL name. */
export const QUIRKS = {
  slot_zap_all: {
    bit: QUIRK.SLOT_ZAP_ALL,
    emu(mmu, on) {
      mmu.caps.zapOnlyMemslot = !on;
    },
    doc:
      "on (default): a memslot delete/move zaps every root; off: only the slot's SPTEs (as `cap memslot_zap_control zap_only_memslot`)",
  },
  ignore_guest_pat: {
    bit: QUIRK.IGNORE_GUEST_PAT,
    emu(mmu, on) {
      mmu.memtype.ignoreGuestPat = on;
    },
    doc:
      "on (default): memory is WB with IPAT; off: the guest PAT is honoured (emu models a self-snoop CPU)",
  },
  cd_nw_cleared: {
    bit: QUIRK.CD_NW_CLEARED,
    emu(mmu, on) {
      mmu.memtype.cdNwCleared = on;
    },
    doc: "on (default): a guest with CR0.CD set still gets WB",
  },
} as const satisfies Readonly<Record<string, QuirkDef>>;

/** A quirk's DSL name. */
export type QuirkName = keyof typeof QUIRKS;
