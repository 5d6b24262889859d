/**
 * The DSL's capabilities and quirks on a real kernel: each maps to the
 * mainline mechanism (a real KVM_ENABLE_CAP), to the host's fixed behaviour
 * (accepted when asked for, an error naming it otherwise), or to
 * "unsupported". A proposal's capability number is never sent.
 *
 * @module
 */
import { UnsupportedError, VmmError } from "../errors.ts";
import type { CapName, QuirkName } from "../types.ts";
import { hostMmu, kernelAtLeast } from "./host.ts";
import { CAP, MANUAL_PROTECT_ENABLE, QUIRK } from "./uapi.ts";
import type { VmFd } from "./vm_fd.ts";

/** Quirk names → KVM_X86_QUIRK_* bits. */
const QUIRK_BITS: Readonly<Record<QuirkName, number>> = {
  slot_zap_all: QUIRK.SLOT_ZAP_ALL,
  ignore_guest_pat: QUIRK.IGNORE_GUEST_PAT,
  cd_nw_cleared: QUIRK.CD_NW_CLEARED,
};

/** What page write tracking the host does (no uAPI sets it). */
export function hostWriteTracking(): "on" | "on_demand" {
  // Shadow paging always allocates gfn_write_track; a TDP host of 6.9+
  // allocates it only when an external tracker (KVMGT) registers.
  if (hostMmu().mode === "shadow") return "on";
  return kernelAtLeast(6, 9) ? "on_demand" : "on";
}

/**
 * The write-tracking metadata of `pages` 4 KiB pages: gfn_write_track is a
 * u16 per page of every slot, allocated when the host tracks writes (always
 * under shadow paging). Derived from the kernel's layout, not measured.
 *
 * @param pages pages of the slots
 * @returns bytes
 */
export function writeTrackBytes(pages: bigint): bigint {
  return hostWriteTracking() === "on" ? pages * 2n : 0n;
}

/** How the host restores huge pages when dirty logging is turned off. */
function hostDirtyLogRecovery(): "zap" | "in_place" {
  // 13e2e4f62a4b (Linux 6.13) recovers huge pages in place, TDP MMU only.
  const mmu = hostMmu();
  return mmu.mode === "tdp" && mmu.tdpMmu && kernelAtLeast(6, 13) ? "in_place" : "zap";
}

/**
 * Per-VM capability and quirk state.
 */
export class CapState {
  #vm: VmFd;
  #disabledQuirks = 0;
  #offeredQuirks: number | undefined;
  /** Whether KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 is enabled (CLEAR_DIRTY_LOG in use). */
  manualProtect = false;

  /**
   * A VM's state before any cap or quirk is set.
   *
   * @param vm the VM fd
   */
  constructor(vm: VmFd) {
    this.#vm = vm;
  }

  /** The quirks this host lets userspace disable (KVM_CHECK_EXTENSION(DISABLE_QUIRKS2)). */
  #offered(): number {
    this.#offeredQuirks ??= this.#vm.checkExtension(CAP.DISABLE_QUIRKS2);
    return this.#offeredQuirks;
  }

  /**
   * Enable or set a DSL capability.
   *
   * @param name the DSL name
   * @param value the DSL value
   */
  enable(name: CapName, value: string): void {
    switch (name) {
      case "manual_dirty_log_protect": {
        if (value !== "on" && value !== "off") badValue(name, value, ["on", "off"]);
        const offered = this.#vm.checkExtension(CAP.MANUAL_DIRTY_LOG_PROTECT2);
        if ((offered & MANUAL_PROTECT_ENABLE) === 0) {
          throw new UnsupportedError(
            "cap manual_dirty_log_protect: this host's KVM lacks KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2",
          );
        }
        // ENABLE only, not INITIALLY_SET: a first GET then reports exactly the
        // pages written since logging started, as without the cap.
        const on = value === "on";
        this.#vm.enableCap(CAP.MANUAL_DIRTY_LOG_PROTECT2, on ? BigInt(MANUAL_PROTECT_ENABLE) : 0n);
        this.manualProtect = on;
        return;
      }
      case "memslot_zap_control":
        if (value === "zap_only_memslot") return this.setQuirk("slot_zap_all", false);
        if (value === "zap_all") return this.setQuirk("slot_zap_all", true);
        return badValue(name, value, ["zap_only_memslot", "zap_all"]);
      case "page_write_tracking": {
        if (!["on", "off", "on_demand"].includes(value)) {
          badValue(name, value, ["on", "off", "on_demand"]);
        }
        const host = hostWriteTracking();
        if (value === host) return;
        const mmu = hostMmu();
        throw new UnsupportedError(
          mmu.mode === "shadow"
            ? `cap page_write_tracking ${value}: this host uses shadow paging, which always tracks writes: page_write_tracking is on (${mmu.source})`
            : `cap page_write_tracking ${value}: KVM has no uAPI for it; this TDP host allocates write-tracking metadata ${host}`,
        );
      }
      case "dirty_log_recovery": {
        if (value !== "zap" && value !== "in_place") badValue(name, value, ["zap", "in_place"]);
        const host = hostDirtyLogRecovery();
        if (value === host) return;
        throw new UnsupportedError(
          `cap dirty_log_recovery ${value}: the host kernel decides, and this one does ${host} (${hostMmu().source})`,
        );
      }
      case "memory_fault_nowait":
      case "x86_memory_fault_exit":
        throw new UnsupportedError(
          `cap ${name}: not in mainline KVM (the proposal was never merged); use \`demand uffd\``,
        );
      default:
        throw new UnsupportedError(`cap ${name as string} is not known to the kvm backend`);
    }
  }

  /**
   * Turn a quirk on or off through KVM_CAP_DISABLE_QUIRKS2.
   *
   * @param name the quirk
   * @param on true keeps (or asks for) KVM's default behaviour
   */
  setQuirk(name: QuirkName, on: boolean): void {
    const bit = QUIRK_BITS[name];
    if (bit === undefined) throw new UnsupportedError(`quirk ${name} is not known`);
    const offered = this.#offered();
    if ((offered & bit) === 0) {
      throw new UnsupportedError(
        `quirk ${name} (0x${bit.toString(16)}) is not offered by this host's KVM ` +
          `(KVM_CAP_DISABLE_QUIRKS2 = 0x${offered.toString(16)})`,
      );
    }
    const disabled = (this.#disabledQuirks & bit) !== 0;
    if (on) {
      if (disabled) {
        throw new VmmError(
          `quirk ${name} on: KVM cannot re-enable a quirk once it is disabled on a VM`,
        );
      }
      return; // quirks are on by default
    }
    if (disabled) return;
    // Send the cumulative mask: older kernels assign disabled_quirks instead of OR-ing.
    const mask = this.#disabledQuirks | bit;
    this.#vm.enableCap(CAP.DISABLE_QUIRKS2, BigInt(mask), {
      EINVAL: `the host does not allow disabling quirk ${name}`,
    });
    this.#disabledQuirks = mask;
  }
}

function badValue(name: string, value: string, allowed: string[]): never {
  throw new VmmError(`cap ${name}: unknown value "${value}" (expected ${allowed.join(", ")})`, {
    kind: "invalid",
  });
}
