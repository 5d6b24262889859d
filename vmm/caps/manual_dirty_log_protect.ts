/**
 * `cap manual_dirty_log_protect on|off`: mainline KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2
 * (168). `on` is MANUAL_PROTECT_ENABLE only, not INITIALLY_SET: a first GET
 * then reports exactly the pages written since logging started, as without it.
 *
 * @module
 */
import { type CapDef, onlyBits, unknownValue, wordOf } from "./cap.ts";
import { UnsupportedError } from "../errors.ts";
import { CAP, MANUAL_PROTECT_ENABLE } from "../kvm/uapi.ts";

const NAME = "manual_dirty_log_protect";
const ENABLE = BigInt(MANUAL_PROTECT_ENABLE);
const VALUES = { on: ENABLE, off: 0n };

/** `manual_dirty_log_protect`: a real capability, sent to the kernel as is. */
export const MANUAL_DIRTY_LOG_PROTECT: CapDef = {
  values: VALUES,
  emu(mmu, arg0) {
    // INITIALLY_SET (2) is not modelled: refused rather than ignored.
    onlyBits(NAME, arg0, ENABLE);
    mmu.caps.manualProtect = arg0 === ENABLE;
  },
  kvm(host, arg0) {
    if (wordOf(VALUES, arg0) === undefined) throw unknownValue(NAME, VALUES, arg0);
    const offered = host.checkExtension(CAP.MANUAL_DIRTY_LOG_PROTECT2);
    if ((offered & MANUAL_PROTECT_ENABLE) === 0) {
      throw new UnsupportedError(
        `cap ${NAME}: this host's KVM lacks KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2`,
      );
    }
    host.enableCap(CAP.MANUAL_DIRTY_LOG_PROTECT2, arg0);
    host.manualProtect = arg0 === ENABLE;
  },
  kvmOffered: (host) =>
    (host.checkExtension(CAP.MANUAL_DIRTY_LOG_PROTECT2) & MANUAL_PROTECT_ENABLE) !== 0,
  doc: {
    proposal: "mainline KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 (168)",
    rules: "`args[0] & ~1` → EINVAL (INITIALLY_SET is not modelled)",
    emu: "`dirty_log NAME clear` re-protects only what was cleared",
    kvm: "real cap: `KVM_ENABLE_CAP(168, MANUAL_PROTECT_ENABLE)`, no INITIALLY_SET",
  },
};
