/**
 * `cap dirty_log_recovery zap|in_place`: "Promote pages in-place when
 * disabling dirty logging" (seed 004, not merged; mainline 6.13 recovers in
 * place on the TDP MMU, with no uAPI). The proposal had no capability, so
 * args[0] is the VMM's own: 0 zap, 1 in place.
 *
 * @module
 */
import { type CapDef, onlyBits, unknownValue, wordOf } from "./cap.ts";
import { UnsupportedError } from "../errors.ts";

const NAME = "dirty_log_recovery";
const VALUES = { zap: 0n, in_place: 1n };

/** `dirty_log_recovery`: how huge pages come back when dirty logging stops. */
export const DIRTY_LOG_RECOVERY: CapDef = {
  values: VALUES,
  emu(mmu, arg0) {
    onlyBits(NAME, arg0, VALUES.in_place);
    mmu.caps.recoverInPlace = arg0 === VALUES.in_place;
  },
  kvm(host, arg0) {
    const value = wordOf(VALUES, arg0);
    if (value === undefined) throw unknownValue(NAME, VALUES, arg0);
    const state = host.dirtyLogRecovery();
    if (value === state) return;
    throw new UnsupportedError(
      `cap ${NAME} ${value}: the host kernel decides, and this one does ${state} (${host.mmu().source})`,
    );
  },
  doc: {
    proposal: '"Promote pages in-place when disabling dirty logging" (seed 004, not merged)',
    rules: "`args[0] & ~1` → EINVAL (the VMM's own encoding: no uAPI)",
    emu:
      "when dirty logging stops: `zap` (default) zaps the slot's leaf SPTEs to refault huge; `in_place` replaces split tables with huge SPTEs",
    kvm:
      "the kernel decides (in place only on a TDP-MMU host ≥ 6.13): its mode is accepted, the other is UnsupportedError",
  },
};
