/**
 * The guest page walk (IA-32e 4-level paging, 4K/2M/1G leaves). Page-table
 * entries are read through guest-physical memory by the owner's
 * `ptPage` callback, so in TDP mode they fault in SPTEs as the hardware
 * walker's EPT accesses do. Results land in fields (no allocation).
 *
 * Ring 0 only: U/S is ignored; CR0.WP decides whether supervisor writes to
 * read-only pages fault; NX faults only with EFER.NXE (bit 63 is reserved
 * otherwise). A/D bits are set after a successful walk, as KVM's
 * `update_accessed_dirty_bits` does: A at every level, D at the leaf on a
 * write.
 *
 * @module
 */
import { ACCESS_EXEC, ACCESS_WRITE, CR0_PG, CR0_WP, EFER_NXE, type PagingState } from "../port.ts";

const TWO32 = 4294967296;

/** Outcome of {@linkcode GuestWalker.walk}. */
export const WALK_OK = 0;
/** The walk faulted (#PF): {@linkcode GuestWalker.gva} has the address. */
export const WALK_FAULT = 1;
/** `ptPage` returned null (its owner recorded an exit). */
export const WALK_EXIT = 2;

/**
 * Supplies the page holding a page-table entry: `write` asks for write
 * access (A/D update). Returns null when the access exits.
 */
export type PtPage = (gfn: number, write: boolean) => Uint8Array | null;

/** A reusable guest page walker. */
export class GuestWalker {
  /** Resulting guest-physical address. */
  gpa = 0;
  /** Leaf level (1 = 4K, 2 = 2M, 3 = 1G; 0 when paging is off). */
  level = 0;
  /** Whether the translation allows writes. */
  writable = true;
  /** PAT index (PAT<<2 | PCD<<1 | PWT) of the leaf. */
  patIndex = 0;
  /** The faulting address on {@linkcode WALK_FAULT}. */
  gva = 0;
  /** GFN of the table read at each level (index 1..4). */
  readonly ptGfn: Float64Array = new Float64Array(5);
  /** Entry index used at each level (index 1..4). */
  readonly ptIndex: Int32Array = new Int32Array(5);
  readonly #ptPage: PtPage;
  readonly #lo: Int32Array = new Int32Array(5);
  // Read cache of the table page used at each level, valid while `#epoch.epoch` is unchanged.
  readonly #epoch: { readonly epoch: number } | null;
  #cacheEpoch = -1;
  readonly #cacheGfn: Float64Array = new Float64Array(5).fill(-1);
  readonly #cachePage: Uint8Array[] = new Array(5).fill(new Uint8Array(0));

  /**
   * Creates the instance.
   * @param ptPage how page-table pages are reached
   * @param epoch when given, a page that `ptPage` returned for a read is
   *   reused for reads of the same frame until `epoch.epoch` changes (the
   *   owner promises that such a repeated read would return the same page
   *   and change nothing)
   */
  constructor(ptPage: PtPage, epoch: { readonly epoch: number } | null = null) {
    this.#ptPage = ptPage;
    this.#epoch = epoch;
  }

  /** Walk `gva` for `access`; returns {@linkcode WALK_OK}, {@linkcode WALK_FAULT} or {@linkcode WALK_EXIT}. */
  walk(paging: PagingState, gva: number, access: number): number {
    const cr0 = paging.cr0;
    if ((cr0 & CR0_PG) === 0) {
      this.gpa = gva;
      this.level = 0;
      this.writable = true;
      this.patIndex = 0;
      return WALK_OK;
    }
    const nxe = (paging.efer & EFER_NXE) !== 0;
    const vpn = Math.floor(gva / 4096);
    const vhi = Math.floor(vpn / 134217728);
    const vlo = vpn - vhi * 134217728;
    // `% 2^36` without a floating-point modulo (a C call in V8) when non-negative.
    const cr3Frame = Math.floor(paging.cr3 / 4096);
    let table = cr3Frame >= 0
      ? cr3Frame - Math.floor(cr3Frame / 68719476736) * 68719476736
      : cr3Frame % 68719476736;
    let w = true;
    let nx = false;
    let level = 4;
    for (;;) {
      const idx = level === 4 ? vhi & 511 : (vlo >>> (9 * (level - 1))) & 511;
      let page: Uint8Array | null;
      const ep = this.#epoch;
      if (ep !== null && this.#cacheEpoch === ep.epoch && this.#cacheGfn[level] === table) {
        page = this.#cachePage[level];
      } else {
        page = this.#ptPage(table, false);
        if (page === null) return WALK_EXIT;
        if (ep !== null) {
          if (this.#cacheEpoch !== ep.epoch) {
            this.#cacheGfn.fill(-1);
            this.#cacheEpoch = ep.epoch;
          }
          this.#cacheGfn[level] = table;
          this.#cachePage[level] = page;
        }
      }
      const o = idx * 8;
      const lo = page[o] | (page[o + 1] << 8) | (page[o + 2] << 16) | (page[o + 3] << 24);
      const hi = page[o + 4] | (page[o + 5] << 8) | (page[o + 6] << 16) | (page[o + 7] << 24);
      this.ptGfn[level] = table;
      this.ptIndex[level] = idx;
      this.#lo[level] = lo;
      if ((lo & 1) === 0 || (hi < 0 && !nxe) || (level === 4 && (lo & 0x80) !== 0)) {
        return this.#fault(gva);
      }
      if ((lo & 2) === 0) w = false;
      if (hi < 0) nx = true;
      const frameHi = (hi & 0xffff) * TWO32;
      if (level === 1 || (lo & 0x80) !== 0) {
        let base: number, pat: number;
        if (level === 1) {
          base = frameHi + ((lo & 0xfffff000) >>> 0);
          pat = (lo >>> 7) & 1;
        } else {
          base = frameHi + ((lo & (level === 2 ? 0xffe00000 : 0xc0000000)) >>> 0);
          pat = (lo >>> 12) & 1;
        }
        const size = level === 1 ? 4096 : level === 2 ? 2097152 : 1073741824;
        if (access === ACCESS_WRITE && !w && (cr0 & CR0_WP) !== 0) return this.#fault(gva);
        if (access === ACCESS_EXEC && nx && nxe) return this.#fault(gva);
        // `gva % size` (size a power of two); the page offset plus the page
        // number bits below `size`, without a floating-point modulo.
        this.gpa = base +
          (gva >= 0
            ? gva - vpn * 4096 + (level === 1 ? 0 : (vlo & (level === 2 ? 511 : 262143)) * 4096)
            : gva % size);
        this.level = level;
        this.writable = w || (cr0 & CR0_WP) === 0;
        this.patIndex = (pat << 2) | (lo >>> 3 & 3);
        return this.#setAccessedDirty(level, access === ACCESS_WRITE);
      }
      table = Math.floor((frameHi + ((lo & 0xfffff000) >>> 0)) / 4096);
      level--;
    }
  }

  #fault(gva: number): number {
    this.gva = gva;
    return WALK_FAULT;
  }

  /** Set A on every level from 4 down to `leaf`, and D on the leaf for a write. */
  #setAccessedDirty(leaf: number, write: boolean): number {
    for (let l = 4; l >= leaf; l--) {
      const lo = this.#lo[l];
      let bits = (lo & 0x20) === 0 ? 0x20 : 0;
      if (l === leaf && write && (lo & 0x40) === 0) bits |= 0x40;
      if (bits === 0) continue;
      const page = this.#ptPage(this.ptGfn[l], true);
      if (page === null) return WALK_EXIT;
      page[this.ptIndex[l] * 8] |= bits;
    }
    return WALK_OK;
  }
}
