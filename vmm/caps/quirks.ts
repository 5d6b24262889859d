/**
 * The mainline x86 quirks `quirk NAME on|off` sets through
 * KVM_CAP_DISABLE_QUIRKS2: one row each (bit, emulator behaviour, doc).
 * The kvm backend needs nothing more than the bit.
 *
 * @module
 */
import type { QuirkDef } from "./cap.ts";
import { QUIRK } from "../kvm/uapi.ts";

/** A quirk's DSL name (the rows' keys, spelt out so the public API has explicit types). */
export type QuirkName =
  | "slot_zap_all"
  | "ignore_guest_pat"
  | "cd_nw_cleared";

/** Every quirk's row, by DSL name (typed by {@linkcode QUIRKS}). */
const QUIRK_ROWS = {
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
} as const satisfies Readonly<Record<QuirkName, QuirkDef>>;

/** A quirk's DSL name. */
/** Every quirk by DSL name. */
export const QUIRKS: Readonly<Record<QuirkName, QuirkDef>> = QUIRK_ROWS;
