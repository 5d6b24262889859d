/**
 * `cap page_write_tracking on|off|on_demand`: KVM_CAP_PAGE_WRITE_TRACKING
 * (seed 000, not merged), and the on-demand allocation mainline merged
 * instead (6.9).
 *
 * @module
 */
import {
  type CapDef,
  ENABLE_CAP,
  invalidArg,
  onlyBits,
  unknownValue,
  VMM_PRIVATE,
  wordOf,
} from "./cap.ts";
import { ERRNO_NUMBERS, ErrnoError, UnsupportedError } from "../errors.ts";

const NAME = "page_write_tracking";
const VALUES = { on: 1n, off: 0n, on_demand: VMM_PRIVATE };

/** `page_write_tracking`: args[0] 1 enables, 0 disables; `on_demand` is mainline's design. */
export const PAGE_WRITE_TRACKING: CapDef = {
  values: VALUES,
  emu(mmu, arg0) {
    if (arg0 === VMM_PRIVATE) return mmu.tracking.setPolicy("on_demand");
    // The seed's kvm_vm_ioctl_enable_cap, in its order.
    onlyBits(NAME, arg0, 1n);
    const enabling = arg0 === 1n;
    if (!enabling && mmu.tracking.mmuNeedsTracking) {
      throw new ErrnoError(
        ENABLE_CAP,
        ERRNO_NUMBERS.EBUSY,
        `${NAME}: args[0] = 0: the shadow MMU needs write tracking for guest page tables`,
      );
    }
    // Enabling and disabling alike: "may only be set before any mem slots are created".
    if (mmu.slots.userCount > 0) {
      throw invalidArg(NAME, arg0, "may only be set before any memslot is created");
    }
    if (mmu.tracking.hasExternalUser) {
      throw invalidArg(NAME, arg0, "an external write tracker is registered");
    }
    mmu.tracking.setPolicy(enabling ? "on" : "off");
  },
  kvm(host, arg0) {
    const value = wordOf(VALUES, arg0);
    if (value === undefined) throw unknownValue(NAME, VALUES, arg0);
    const state = host.writeTracking();
    if (value === state) return;
    const mmu = host.mmu();
    throw new UnsupportedError(
      mmu.mode === "shadow"
        ? `cap ${NAME} ${value}: this host uses shadow paging, which always tracks writes: ${NAME} is on (${mmu.source})`
        : `cap ${NAME} ${value}: KVM has no uAPI for it; this TDP host allocates write-tracking metadata ${state}`,
    );
  },
  doc: {
    proposal: "KVM_CAP_PAGE_WRITE_TRACKING (seed 000, not merged); `on_demand` is mainline 6.9",
    rules:
      "`args[0] & ~1` → EINVAL; `off` under `mmu shadow` → EBUSY; then `on` or `off` once a memslot or tracker exists → EINVAL; `on_demand` (bit 63) at any time",
    emu:
      "`on` (default): 2 B per 4K page per slot; `off`: none; `on_demand`: allocated when the first tracker registers",
    kvm:
      "no uAPI: the host's state is accepted (shadow paging always tracks; a TDP host ≥ 6.9 allocates on demand), another is UnsupportedError",
  },
};
