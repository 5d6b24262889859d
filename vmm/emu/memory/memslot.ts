/**
 * One memslot with KVM's x86 per-slot metadata (`struct kvm_arch_memory_slot`
 * plus the generic dirty bitmap), held as real typed arrays whose
 * `byteLength` is what the stats report.
 *
 * @module
 */
import type { Backing, MemslotFlag } from "../../types.ts";
import { ENTRY_PAGES } from "../mmu/spte.ts";
import { HostMemory } from "./host_memory.ts";

/** Flag bits (KVM's memslot flags where they exist, proposal bits above). */
export const SLOT_DIRTY_LOG = 1;
/** KVM_MEM_READONLY. */
export const SLOT_READONLY = 2;
/** KVM_MEM_ABSENT_MAPPING_FAULT (proposal). */
export const SLOT_ABSENT_FAULT = 8;
/** KVM_MEM_NON_COHERENT_DMA (ChromeOS downstream). */
export const SLOT_NONCOHERENT = 16;

/** DSL flag names to bits. */
export const FLAG_BITS: Readonly<Record<MemslotFlag, number>> = {
  dirty_log: SLOT_DIRTY_LOG,
  readonly: SLOT_READONLY,
  absent_fault: SLOT_ABSENT_FAULT,
  noncoherent_dma: SLOT_NONCOHERENT,
};

/** Flag bits back to DSL names, in a stable order. */
export function flagNames(bits: number): MemslotFlag[] {
  const out: MemslotFlag[] = [];
  for (const [name, bit] of Object.entries(FLAG_BITS)) {
    if (bits & bit) out.push(name as MemslotFlag);
  }
  return out;
}

/**
 * `lpage_info` entries of one level: KVM's `gfn_to_index(last) -
 * gfn_to_index(base) + 1`.
 */
function lpageEntries(baseGfn: number, npages: number, level: number): number {
  const n = ENTRY_PAGES[level];
  return Math.floor((baseGfn + npages - 1) / n) - Math.floor(baseGfn / n) + 1;
}

/** A memslot and its metadata. */
export class Memslot {
  /** KVM slot id (0: the VMM's system region). */
  readonly id: number;
  /** The script's name. */
  readonly name: string;
  /** First guest frame. Changes on move. */
  baseGfn: number;
  /** Size in 4 KiB pages. */
  readonly npages: number;
  /** {@linkcode SLOT_DIRTY_LOG} | ... bits. */
  flags: number;
  /** Host backing kind. */
  readonly backing: Backing;
  /** Host page size as a mapping level (1 = 4K, 2 = 2M, 3 = 1G). */
  readonly hostLevel: number;
  /** Sparse host memory (survives moves, like the userspace mapping). */
  readonly host: HostMemory;
  /** `lpage_info[0..1].disallow_lpage` for the 2M and 1G levels (int each). */
  lpage2m: Int32Array;
  /** See {@linkcode Memslot.lpage2m}. */
  lpage1g: Int32Array;
  /** `gfn_write_track` (u16 per page) or null when not allocated. */
  writeTrack: Uint16Array | null = null;
  /** rmap heads per level (8 B each) or null: only allocated under the shadow MMU. */
  rmap: Float64Array[] | null = null;
  /** Dirty bitmap, two halves as KVM's `__vcalloc(2, n)`; null unless logging. */
  dirty: Uint32Array | null = null;
  /** Set when the slot is being deleted (KVM_MEMSLOT_INVALID). */
  invalid = false;

  /**
   * Creates the instance.
   * @param init the slot's identity, geometry and backing
   */
  constructor(
    init: {
      id: number;
      name: string;
      baseGfn: number;
      npages: number;
      flags: number;
      backing: Backing;
      hostLevel: number;
    },
  ) {
    this.id = init.id;
    this.name = init.name;
    this.baseGfn = init.baseGfn;
    this.npages = init.npages;
    this.flags = init.flags;
    this.backing = init.backing;
    this.hostLevel = init.hostLevel;
    this.host = new HostMemory(init.npages, init.backing === "absent");
    this.lpage2m = new Int32Array(0);
    this.lpage1g = new Int32Array(0);
    this.resetLpageInfo();
  }

  /**
   * (Re)build `lpage_info` for the current base, as `kvm_alloc_memslot_metadata`
   * does on create and move: a misaligned head or tail frame disallows the
   * huge page there.
   */
  resetLpageInfo(): void {
    this.lpage2m = this.#buildLpage(2);
    this.lpage1g = this.#buildLpage(3);
  }

  /**
   * KVM_MR_MOVE: KVM allocates fresh metadata for the new slot, so write-track
   * counts and rmaps start at zero again (KVMGT re-tracks from its memslot
   * hooks); the dirty bitmap is carried over.
   */
  relocate(baseGfn: number): void {
    this.baseGfn = baseGfn;
    this.resetLpageInfo();
    if (this.writeTrack !== null) this.writeTrack = new Uint16Array(this.npages);
    if (this.rmap !== null) {
      this.rmap = null;
      this.allocRmap();
    }
  }

  #buildLpage(level: number): Int32Array {
    const n = ENTRY_PAGES[level];
    const a = new Int32Array(lpageEntries(this.baseGfn, this.npages, level));
    if (this.baseGfn % n !== 0) a[0] = 1;
    if ((this.baseGfn + this.npages) % n !== 0) a[a.length - 1] = 1;
    return a;
  }

  /** Add `delta` to the huge-page disallow counts covering slot page `rel`. */
  adjustDisallow(rel: number, delta: number): void {
    const gfn = this.baseGfn + rel;
    this.lpage2m[Math.floor(gfn / 512) - Math.floor(this.baseGfn / 512)] += delta;
    this.lpage1g[Math.floor(gfn / 262144) - Math.floor(this.baseGfn / 262144)] += delta;
  }

  /** Allocate `gfn_write_track` if missing (KVM's `kvm_page_track_write_tracking_alloc`). */
  allocWriteTrack(): void {
    if (this.writeTrack === null) this.writeTrack = new Uint16Array(this.npages);
  }

  /**
   * Allocate rmaps (shadow MMU): 8 B per page at 4K, 2M and 1G level. JS
   * typed arrays are zero-filled lazily by the OS, so a 512 GiB slot's
   * 1 GiB of rmap is virtual until the shadow MMU writes to it.
   */
  allocRmap(): void {
    if (this.rmap !== null) return;
    this.rmap = [
      new Float64Array(this.npages),
      new Float64Array(lpageEntries(this.baseGfn, this.npages, 2)),
      new Float64Array(lpageEntries(this.baseGfn, this.npages, 3)),
    ];
  }

  /** Allocate the dirty bitmap (both halves), as KVM does when logging starts. */
  allocDirty(): void {
    if (this.dirty === null) this.dirty = new Uint32Array(2 * 2 * Math.ceil(this.npages / 64));
  }

  /** Bytes of per-slot metadata allocated right now. */
  metadataBytes(): number {
    let b = this.lpage2m.byteLength + this.lpage1g.byteLength;
    if (this.writeTrack !== null) b += this.writeTrack.byteLength;
    if (this.rmap !== null) { for (const r of this.rmap) b += r.byteLength; }
    if (this.dirty !== null) b += this.dirty.byteLength;
    return b;
  }

  /** Bytes of the write-tracking array. */
  writeTrackBytes(): number {
    return this.writeTrack === null ? 0 : this.writeTrack.byteLength;
  }
}
