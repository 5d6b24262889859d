/**
 * `cap dirty_log_recovery zap|in_place|in_place_6_13`: "Promote pages
 * in-place when disabling dirty logging" (seed 004, not merged) and what
 * mainline 6.13 merged instead (in place on the TDP MMU, no uAPI). The
 * proposal had no capability, so args[0] is the VMM's own: 0 zap, 1 the
 * seed's in-place promotion, the private bit alone mainline 6.13's.
 *
 * @module
 */
import {
  type CapDef,
  type DirtyLogRecovery,
  invalidArg,
  notInMainline,
  onlyBits,
  unknownValue,
  VMM_PRIVATE,
  wordOf,
} from "./cap.ts";
import { UnsupportedError } from "../errors.ts";

const NAME = "dirty_log_recovery";
const VALUES = { zap: 0n, in_place: 1n, in_place_6_13: VMM_PRIVATE };

/** `dirty_log_recovery`: how huge pages come back when dirty logging stops. */
export const DIRTY_LOG_RECOVERY: CapDef = {
  values: VALUES,
  emu(mmu, arg0) {
    onlyBits(NAME, arg0, VALUES.in_place | VMM_PRIVATE);
    const word = wordOf(VALUES, arg0);
    if (word === undefined) {
      throw invalidArg(NAME, arg0, "in_place and in_place_6_13 exclude each other");
    }
    mmu.caps.recovery = word as DirtyLogRecovery;
  },
  kvm(host, arg0) {
    const value = wordOf(VALUES, arg0);
    if (value === undefined) throw unknownValue(NAME, VALUES, arg0);
    const state = host.dirtyLogRecovery();
    if (value === state) return;
    if (value === "in_place") throw notInMainline(`${NAME} in_place`, `${NAME} ${state}`);
    throw new UnsupportedError(
      `cap ${NAME} ${value}: the host kernel decides, and this one does ${state} (${host.mmu().source})`,
    );
  },
  doc: {
    proposal:
      '"Promote pages in-place when disabling dirty logging" (seed 004, not merged); `in_place_6_13` is mainline 6.13',
    rules:
      "`args[0] & ~(1 | 1 << 63)` → EINVAL; both bits set → EINVAL (the VMM's own encoding: no uAPI)",
    emu:
      "when dirty logging stops: `zap` (default) zaps the slot's collapsible tables, the guest refaults huge; `in_place` (seed's `try_promote_lpage`) puts a fresh huge SPTE with full access over each present table; `in_place_6_13` (`make_huge_spte`) one with the first present child's permissions, so a write-protected child means a write fault",
    kvm:
      "the kernel decides (`in_place_6_13` on a TDP-MMU host ≥ 6.13, else `zap`): its mode is accepted, the other is UnsupportedError; `in_place` was never merged",
  },
};
