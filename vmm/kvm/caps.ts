/**
 * The DSL's capabilities and quirks on a real kernel. Each capability's
 * module in `vmm/caps/` owns its mapping: the mainline mechanism (a real
 * KVM_ENABLE_CAP), the host's fixed behaviour (accepted when asked for, an
 * error naming it otherwise), or "unsupported". This is what those mappings
 * may use: mainline cap numbers only, so a proposal's number is never sent.
 *
 * @module
 */
import { UnsupportedError, VmmError } from "../errors.ts";
import type { MmuMode } from "../types.ts";
import {
  capArgOrEinval,
  type CapDef,
  type CapName,
  CAPS,
  type CapValue,
  isQuirkName,
  type KvmCapHost,
  QUIRKS,
} from "../caps/mod.ts";
import { hostEagerPageSplit, hostMmu, kernelAtLeast } from "./host.ts";
import { CAP } from "./uapi.ts";
import type { VmFd } from "./vm_fd.ts";

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
function hostDirtyLogRecovery(): "zap" | "in_place_6_13" {
  // 13e2e4f62a4b (Linux 6.13) recovers huge pages in place, TDP MMU only.
  const mmu = hostMmu();
  return mmu.mode === "tdp" && mmu.tdpMmu && kernelAtLeast(6, 13) ? "in_place_6_13" : "zap";
}

/**
 * Per-VM capability and quirk state.
 */
export class CapState implements KvmCapHost {
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

  /** {@inheritDoc KvmCapHost.checkExtension} */
  checkExtension(cap: number): number {
    return this.#vm.checkExtension(cap);
  }

  /** {@inheritDoc KvmCapHost.enableCap} */
  enableCap(cap: number, arg0: bigint): void {
    this.#vm.enableCap(cap, arg0);
  }

  /** {@inheritDoc KvmCapHost.mmu} */
  mmu(): { mode: MmuMode; source: string } {
    return hostMmu();
  }

  /** {@inheritDoc KvmCapHost.writeTracking} */
  writeTracking(): "on" | "on_demand" {
    return hostWriteTracking();
  }

  /** {@inheritDoc KvmCapHost.dirtyLogRecovery} */
  dirtyLogRecovery(): "zap" | "in_place_6_13" {
    return hostDirtyLogRecovery();
  }

  /** {@inheritDoc KvmCapHost.eagerPageSplit} */
  eagerPageSplit(): { on: boolean; source: string } | undefined {
    return hostEagerPageSplit();
  }

  /**
   * Enable or set a DSL capability through its module's kvm mapping.
   *
   * @param name the DSL name
   * @param value a word of the capability or its raw `args[0]`
   */
  enable(name: CapName, value: CapValue): void {
    if (!Object.hasOwn(CAPS, name)) {
      throw new UnsupportedError(`cap ${name} is not known to the kvm backend`);
    }
    CAPS[name].kvm(this, capArgOrEinval(name, value));
  }

  /** {@inheritDoc KvmCapHost.quirkOffered} */
  quirkOffered(name: string): boolean {
    return isQuirkName(name) && (this.#offered() & QUIRKS[name].bit) !== 0;
  }

  /**
   * Whether the host offers a DSL capability (KVM_CHECK_EXTENSION through its
   * module; a proposal's number is never probed).
   *
   * @param name the DSL name
   * @returns false for a capability with no mainline mechanism
   */
  offered(name: CapName): boolean {
    if (!Object.hasOwn(CAPS, name)) return false;
    const def: CapDef = CAPS[name];
    return def.kvmOffered?.(this) ?? false;
  }

  /**
   * Turn a quirk on or off through KVM_CAP_DISABLE_QUIRKS2.
   *
   * @param name the quirk
   * @param on true keeps (or asks for) KVM's default behaviour
   */
  setQuirk(name: string, on: boolean): void {
    if (!isQuirkName(name)) throw new UnsupportedError(`quirk ${name} is not known`);
    const bit = QUIRKS[name].bit;
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
