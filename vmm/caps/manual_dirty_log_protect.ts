/**
 * `cap manual_dirty_log_protect on|off`: mainline KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2
 * (168). `on` is MANUAL_PROTECT_ENABLE only, not INITIALLY_SET: a first GET
 * then reports exactly the pages written since logging started, as without it.
 *
 * @module
 */
import { type CapDef, onlyBits } from "./cap.ts";
import { UnsupportedError } from "../errors.ts";
import { CAP, MANUAL_PROTECT_ENABLE, MANUAL_PROTECT_INITIALLY_SET } from "../kvm/uapi.ts";

const NAME = "manual_dirty_log_protect";
const ENABLE = BigInt(MANUAL_PROTECT_ENABLE);
const INITIALLY_SET = BigInt(MANUAL_PROTECT_INITIALLY_SET);
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
    // A raw args[0] goes to the kernel (it answers unknown bits with EINVAL),
    // except INITIALLY_SET, which the VMM's dirty-log reads do not model.
    if ((arg0 & INITIALLY_SET) !== 0n) {
      throw new UnsupportedError(`cap ${NAME}: INITIALLY_SET (2) is not modelled by this VMM`);
    }
    const offered = host.checkExtension(CAP.MANUAL_DIRTY_LOG_PROTECT2);
    if ((offered & MANUAL_PROTECT_ENABLE) === 0) {
      throw new UnsupportedError(
        `cap ${NAME}: this host's KVM lacks KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2`,
      );
    }
    host.enableCap(CAP.MANUAL_DIRTY_LOG_PROTECT2, arg0);
    host.manualProtect = (arg0 & ENABLE) !== 0n;
  },
  kvmOffered: (host) =>
    (host.checkExtension(CAP.MANUAL_DIRTY_LOG_PROTECT2) & MANUAL_PROTECT_ENABLE) !== 0,
  doc: {
    proposal: "mainline KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 (168)",
    rules: "`args[0] & ~1` → EINVAL (INITIALLY_SET is not modelled)",
    emu: "`dirty_log NAME clear` re-protects only what was cleared",
    kvm:
      "real cap: `KVM_ENABLE_CAP(168, args[0])` (the kernel judges a raw value), no INITIALLY_SET",
  },
};
