/**
 * SPTE encoding of the emulated EPT. Each paging-structure page is an
 * `Int32Array(512)` of flag words (a window of a large shared slab) plus,
 * for non-leaf levels, an array of child tables: the "pfn" of a non-leaf
 * entry is the child object, and the pfn of a leaf is implicit (the
 * memslot's host page for that GFN), so a flag word is all a leaf needs.
 *
 * Bits 0-2 are EPT's R/W/X, 3-5 the EPT memory type, 6 IPAT, 7 the
 * large-page bit, 8/9 accessed/dirty, as in the SDM. Bit 10 marks KVM's
 * MMIO SPTE (EPT-misconfig encoding in hardware) with the memslot
 * generation in bits 16-30; bit 11 is KVM's `shadow_mmu_writable_mask`
 * (the page may be made writable without the slow path).
 *
 * @module
 */

/** Readable; also "present" (EPT has no separate present bit). */
export const SPTE_R = 1;
/** Writable. */
export const SPTE_W = 2;
/** Executable. */
export const SPTE_X = 4;
/** Shift of the 3-bit EPT memory type. */
export const SPTE_MT_SHIFT = 3;
/** Ignore PAT. */
export const SPTE_IPAT = 1 << 6;
/** Leaf above 4K (2M or 1G). */
export const SPTE_HUGE = 1 << 7;
/** Accessed. */
export const SPTE_A = 1 << 8;
/** Dirty. */
export const SPTE_D = 1 << 9;
/** KVM MMIO SPTE (not present; carries the memslot generation). */
export const SPTE_MMIO = 1 << 10;
/** Writable as far as the MMU is concerned (fast-path unprotect allowed). */
export const SPTE_MMU_WRITABLE = 1 << 11;
/** Shift of the MMIO generation. */
export const SPTE_GEN_SHIFT = 16;
/** Mask of the generation once shifted down. */
export const SPTE_GEN_MASK = 0x7fff;

/** Pages covered by one entry of a table at each level (index: level). */
export const ENTRY_PAGES: readonly number[] = [0, 1, 512, 262144, 134217728];

/** Tables in the first slab; each next slab doubles up to {@linkcode SLAB_MAX_TABLES}. */
const SLAB_FIRST_TABLES = 16;
/** Tables in the largest slab (1 MiB of flag words). */
const SLAB_MAX_TABLES = 512;
let slab = new Int32Array(0);
let slabNext = 0;
let slabTables = SLAB_FIRST_TABLES / 2;

/**
 * 512 zeroed flag words for a new table: a window of a shared slab (a
 * bump allocator whose slabs double up to 1 MiB), never an ArrayBuffer per
 * table. Thousands of small buffers were external memory that V8 answered
 * with full GCs; a slab is freed when no table in it is alive.
 */
function tableWords(): Int32Array {
  if (slabNext === slab.length) {
    slabTables = Math.min(SLAB_MAX_TABLES, slabTables * 2);
    slab = new Int32Array(slabTables * 512);
    slabNext = 0;
  }
  const words = slab.subarray(slabNext, slabNext + 512);
  slabNext += 512;
  return words;
}

/** One 512-entry paging-structure page of the emulated EPT. */
export class SpteTable {
  /** 1 (PT) … 4 (PML4). */
  readonly level: number;
  /** First GFN this table covers. */
  readonly baseGfn: number;
  /** Flag words (a window of a shared slab, see {@linkcode tableWords}). */
  readonly spte: Int32Array = tableWords();
  /** Child tables of non-leaf entries (null at level 1). */
  readonly child: (SpteTable | undefined)[] | null;

  /**
   * Creates the instance.
   * @param level paging level of this table
   * @param baseGfn first GFN covered
   */
  constructor(level: number, baseGfn: number) {
    this.level = level;
    this.baseGfn = baseGfn;
    this.child = level > 1 ? new Array(512) : null;
  }
}
