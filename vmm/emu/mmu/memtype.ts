/**
 * Effective memory type of a guest-physical page, computed as
 * `vmx_get_mt_mask()` plus the non-coherent-DMA memslot proposal:
 * MMIO → UC; a `noncoherent_dma` slot → the guest's PAT type (MTRRs
 * ignored, no IPAT); with the `ignore_guest_pat` quirk off, or with a
 * VM-wide non-coherent registration, guest PAT for all memory (CR0.CD
 * forces WB+IPAT with `cd_nw_cleared`, else UC+IPAT); otherwise WB+IPAT.
 *
 * The guest's PAT type of a page is the one the last guest page walk that
 * reached it produced (the type depends on the mapping, not the GPA).
 *
 * @module
 */
import { CR0_CD } from "../port.ts";

/** PAT memory type encodings to names (SDM table 11-10); reserved ones are "UC". */
export const PAT_TYPE_NAMES: readonly string[] = ["UC", "WC", "UC", "UC", "WT", "WP", "WB", "UC-"];

/** The memory type of PAT entry `index` in `pat`. */
export function patEntry(pat: bigint, index: number): number {
  return Number((pat >> BigInt(index * 8)) & 7n);
}

/** Memory-type policy of one VM. */
export class MemtypePolicy {
  /** KVM_X86_QUIRK_IGNORE_GUEST_PAT (on: force WB). */
  ignoreGuestPat = true;
  /** KVM_X86_QUIRK_CD_NW_CLEARED. */
  cdNwCleared = true;
  /** Non-coherent DMA devices registered VM-wide (kvm_arch_register_noncoherent_dma). */
  noncoherentDevices = 0;
  /** Last CR0 a vCPU translated with (CR0.CD is per vCPU; vCPU 0's decides here). */
  cr0 = 0;
  readonly #guestType = new Map<number, number>();

  /** Record the guest PAT type that a walk produced for `gfn`. */
  record(gfn: number, type: number): void {
    this.#guestType.set(gfn, type);
  }

  /** Whether guest PAT matters for all memory. */
  get honorAll(): boolean {
    return this.noncoherentDevices > 0 || !this.ignoreGuestPat;
  }

  /**
   * The effective type of `gfn`.
   * @param gfn the guest frame
   * @param inSlot whether a memslot maps it (false: MMIO)
   * @param noncoherent whether its slot has `noncoherent_dma`
   */
  effective(gfn: number, inSlot: boolean, noncoherent: boolean): { type: string; ipat: boolean } {
    if (!inSlot) return { type: "UC", ipat: false };
    if (!noncoherent && !this.honorAll) return { type: "WB", ipat: true };
    if (!noncoherent && (this.cr0 & CR0_CD) !== 0) {
      return { type: this.cdNwCleared ? "WB" : "UC", ipat: true };
    }
    const t = this.#guestType.get(gfn);
    return { type: t === undefined ? "WB" : PAT_TYPE_NAMES[t], ipat: false };
  }

  /** Forget recorded types (VM teardown). */
  clear(): void {
    this.#guestType.clear();
  }
}
