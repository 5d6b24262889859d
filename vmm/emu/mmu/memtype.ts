/**
 * Effective memory type of a guest-physical page, computed as
 * `vmx_get_mt_mask()` of the proposals' era (v6.7) plus the non-coherent-DMA
 * memslot proposal (seed 002):
 * - MMIO → UC;
 * - a `noncoherent_dma` slot → EPT type WB without IPAT, so the guest's PAT
 *   type applies and its MTRRs are ignored (the memslot-flag variant);
 * - no VM-wide non-coherent registration: WB+IPAT, unless the
 *   `ignore_guest_pat` quirk is off (mainline 6.11+: WB without IPAT, guest
 *   PAT for all memory, MTRRs ignored);
 * - with a VM-wide registration (the RFC's KVM virtio device, ref-counted
 *   by each non-coherent device): CR0.CD → WB (no IPAT) with the
 *   `cd_nw_cleared` quirk, else UC+IPAT; otherwise the guest MTRR type
 *   (`kvm_mtrr_get_guest_memory_type`, vCPU 0's MTRRs) combined with the
 *   guest PAT type (SDM table 11-7), for all memory.
 *
 * The reported type is the effective one: the EPT type when IPAT is set,
 * else the EPT type combined with the guest PAT type.
 *
 * The guest's PAT type of a page is the one the last guest page walk that
 * reached it produced (the type depends on the mapping, not the GPA).
 *
 * @module
 */
import { MEMTYPE } from "../../../guest/msr.ts";
import { combineMtrrPat, type MtrrState } from "../mtrr.ts";
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
  /**
   * vCPU 0's MTRRs (null until a vCPU with MTRRs translates: then no MTRR
   * is known and, as KVM does for a guest without MTRRs in CPUID, WB).
   */
  mtrr: MtrrState | null = null;
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
    const pat = this.#guestType.get(gfn) ?? MEMTYPE.WB;
    if (noncoherent) return { type: PAT_TYPE_NAMES[pat], ipat: false };
    if (this.noncoherentDevices === 0) {
      if (this.ignoreGuestPat) return { type: "WB", ipat: true };
      return { type: PAT_TYPE_NAMES[pat], ipat: false };
    }
    if ((this.cr0 & CR0_CD) !== 0) {
      return this.cdNwCleared
        ? { type: PAT_TYPE_NAMES[pat], ipat: false }
        : { type: "UC", ipat: true };
    }
    const mtrr = this.mtrr === null ? MEMTYPE.WB : this.mtrr.typeOf(gfn * 4096);
    return { type: PAT_TYPE_NAMES[combineMtrrPat(mtrr, pat)], ipat: false };
  }

  /** Forget recorded types (VM teardown). */
  clear(): void {
    this.#guestType.clear();
  }
}
