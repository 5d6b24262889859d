/**
 * Builds x86-64 4-level guest page tables (CR3 → PML4 → PDPT → PD → PT) in
 * pages handed out by a caller-provided allocator, with 1 GiB leaves only
 * when allowed, 2 MiB leaves where a range covers an aligned 2 MiB block, and
 * 4 KiB PTEs elsewhere or where asked.
 *
 * @module
 */

import type { GpaRange } from "./image.ts";

/** Page-table entry bits used by the builder. */
export const PTE = {
  PRESENT: 1n << 0n,
  WRITABLE: 1n << 1n,
  PWT: 1n << 3n,
  PCD: 1n << 4n,
  /** PS in a PDE/PDPTE (a 2M/1G leaf); PAT in a 4 KiB PTE. */
  PS: 1n << 7n,
  PAT_4K: 1n << 7n,
  /** PAT bit of a 2M/1G leaf. */
  PAT_LARGE: 1n << 12n,
} as const;

/** Physical-address bits of an entry (bits 51:12). */
export const PTE_ADDR_MASK = 0x000f_ffff_ffff_f000n;

/** Page sizes. */
export const SIZE_4K = 1n << 12n;
/** 2 MiB. */
export const SIZE_2M = 1n << 21n;
/** 1 GiB. */
export const SIZE_1G = 1n << 30n;
/** Lowest non-canonical address of the lower half (48-bit virtual addresses). */
export const VA_LIMIT = 1n << 47n;
/** Highest physical address a PTE can hold (52-bit). */
export const PA_LIMIT = 1n << 52n;

const ENTRIES = 512;
const ENTRY_BYTES = 8n;
const INDEX_MASK = 0x1ffn;
/** Shift of the index at each level, from the PML4 down. */
const LEVEL_SHIFT = [39n, 30n, 21n, 12n] as const;
const LEVEL_PT = 3;
const LEVEL_PD = 2;
const LEVEL_PDPT = 1;
const TABLE_FLAGS = PTE.PRESENT | PTE.WRITABLE;

/** One mapping request. */
export interface Mapping {
  /** Guest-virtual start (page aligned). */
  va: bigint;
  /** Guest-physical start (page aligned). */
  pa: bigint;
  /** Length in bytes (page aligned). */
  size: bigint;
  /** `4k` forces 4 KiB PTEs (needed for PAT selection and for writable scratch PTEs). */
  leaf: "auto" | "4k";
  /** PAT index 0–7 for 4 KiB leaves (default 0: WB with the reset PAT). */
  patIndex?: number;
}

/**
 * Sparse page tables under construction.
 *
 * @example Usage
 * ```ts
 * import { PageTables } from "./page_tables.ts";
 * import { assertEquals } from "@std/assert";
 * let next = 0x10000n;
 * const pt = new PageTables({ allocate: () => (next += 0x1000n) - 0x1000n, allow1G: false });
 * pt.map({ va: 0n, pa: 0n, size: 0x400000n, leaf: "auto" });
 * assertEquals(pt.pages().length, 3); // PML4, PDPT, PD with two 2M leaves
 * ```
 */
export class PageTables {
  #allocate: () => bigint;
  #allow1G: boolean;
  #tables = new Map<bigint, BigUint64Array>();
  #root: bigint;

  /**
   * Allocates the PML4.
   *
   * @param options `allocate` returns the GPA of a fresh 4 KiB page (or throws
   *   when there is no room); `allow1G` permits 1 GiB leaves
   */
  constructor(options: { allocate: () => bigint; allow1G: boolean }) {
    this.#allocate = options.allocate;
    this.#allow1G = options.allow1G;
    this.#root = this.#newTable();
  }

  /** The PML4's GPA (CR3). */
  get root(): bigint {
    return this.#root;
  }

  /**
   * Maps a range.
   *
   * @param m the mapping
   * @throws {RangeError} for unaligned or out-of-range addresses, or a
   *   conflict with an earlier mapping
   */
  map(m: Mapping): void {
    if ((m.va | m.pa | m.size) & (SIZE_4K - 1n)) {
      throw new RangeError(`Cannot map ${hexRange(m.pa, m.size)}: not 4 KiB aligned`);
    }
    if (m.va + m.size > VA_LIMIT) {
      throw new RangeError(
        `Cannot map ${hexRange(m.va, m.size)}: beyond 128 TiB of 4-level virtual addresses`,
      );
    }
    if (m.pa + m.size > PA_LIMIT) {
      throw new RangeError(
        `Cannot map ${hexRange(m.pa, m.size)}: beyond 52-bit physical addresses`,
      );
    }
    const patBits = patFlags(m.patIndex ?? 0);
    let off = 0n;
    while (off < m.size) {
      const va = m.va + off;
      const pa = m.pa + off;
      const left = m.size - off;
      const fits = (size: bigint) =>
        m.leaf === "auto" && (va & (size - 1n)) === 0n && (pa & (size - 1n)) === 0n &&
        left >= size;
      let level: number;
      let size: bigint;
      if (this.#allow1G && fits(SIZE_1G)) [level, size] = [LEVEL_PDPT, SIZE_1G];
      else if (fits(SIZE_2M)) [level, size] = [LEVEL_PD, SIZE_2M];
      else [level, size] = [LEVEL_PT, SIZE_4K];
      const leaf = pa | TABLE_FLAGS | (level === LEVEL_PT ? patBits : PTE.PS);
      this.#setLeaf(va, level, leaf);
      off += size;
    }
  }

  /**
   * The GPA of the 4 KiB PTE that maps `va` (which must be mapped by one).
   *
   * @param va the guest-virtual address
   * @returns the entry's guest-physical address
   */
  pteAddress(va: bigint): bigint {
    let table = this.#root;
    for (let level = 0; level < LEVEL_PT; level++) {
      const e = this.#tables.get(table)![index(va, level)];
      if (!(e & PTE.PRESENT) || (e & PTE.PS)) {
        throw new RangeError(`Cannot find a 4 KiB PTE for ${hexRange(va, SIZE_4K)}`);
      }
      table = e & PTE_ADDR_MASK;
    }
    return table + BigInt(index(va, LEVEL_PT)) * ENTRY_BYTES;
  }

  /**
   * The tables as bytes, in allocation order (PML4 first).
   *
   * @returns each table page's GPA and contents
   */
  pages(): { gpa: bigint; bytes: Uint8Array }[] {
    return [...this.#tables].map(([gpa, t]) => ({
      gpa,
      bytes: new Uint8Array(t.buffer, t.byteOffset, t.byteLength),
    }));
  }

  #newTable(): bigint {
    const gpa = this.#allocate();
    this.#tables.set(gpa, new BigUint64Array(ENTRIES));
    return gpa;
  }

  #setLeaf(va: bigint, leafLevel: number, entry: bigint): void {
    let table = this.#tables.get(this.#root)!;
    for (let level = 0; level < leafLevel; level++) {
      const i = index(va, level);
      let e = table[i];
      if ((e & PTE.PRESENT) !== 0n && (e & PTE.PS) !== 0n) {
        throw new RangeError(`Cannot map ${hexRange(va, SIZE_4K)}: already inside a larger page`);
      }
      if (!(e & PTE.PRESENT)) {
        e = this.#newTable() | TABLE_FLAGS;
        table[i] = e;
      }
      table = this.#tables.get(e & PTE_ADDR_MASK)!;
    }
    const i = index(va, leafLevel);
    const old = table[i];
    if ((old & PTE.PRESENT) !== 0n && old !== entry) {
      throw new RangeError(`Cannot map ${hexRange(va, SIZE_4K)}: mapped differently already`);
    }
    table[i] = entry;
  }
}

/**
 * PTE bits that select PAT entry `index` in a 4 KiB PTE (PAT = bit 2 of the
 * index, PCD = bit 1, PWT = bit 0).
 *
 * @param patIndex 0–7
 * @returns the bits
 */
export function patFlags(patIndex: number): bigint {
  if (!Number.isInteger(patIndex) || patIndex < 0 || patIndex > 7) {
    throw new RangeError(`Cannot select PAT entry ${patIndex}: not 0–7`);
  }
  return (patIndex & 4 ? PTE.PAT_4K : 0n) | (patIndex & 2 ? PTE.PCD : 0n) |
    (patIndex & 1 ? PTE.PWT : 0n);
}

/**
 * An upper bound of the table pages a mapping of `range` adds, for deciding
 * whether it fits before building it.
 *
 * @param range the range
 * @param options whether 1G leaves are allowed and whether 4K leaves are forced
 * @returns a page count (at least what `map` allocates)
 */
export function tablePagesUpperBound(
  range: GpaRange,
  options: { allow1G: boolean; leaf4k: boolean },
): bigint {
  const span = (size: bigint) => range.size / size + 2n;
  const pdpts = span(1n << 39n);
  const pds = options.allow1G && !options.leaf4k ? 2n : span(SIZE_1G);
  const pts = options.leaf4k ? span(SIZE_2M) : 2n;
  return pdpts + pds + pts;
}

/**
 * Merges overlapping or adjacent ranges.
 *
 * @param ranges the ranges, in any order
 * @returns sorted, disjoint, non-adjacent ranges (empty ones dropped)
 */
export function mergeRanges(ranges: readonly GpaRange[]): GpaRange[] {
  const sorted = ranges.filter((r) => r.size > 0n).sort((a, b) =>
    a.gpa < b.gpa ? -1 : a.gpa > b.gpa ? 1 : 0
  );
  const out: GpaRange[] = [];
  for (const r of sorted) {
    const last = out.at(-1);
    if (last && r.gpa <= last.gpa + last.size) {
      const end = r.gpa + r.size > last.gpa + last.size ? r.gpa + r.size : last.gpa + last.size;
      last.size = end - last.gpa;
    } else out.push({ gpa: r.gpa, size: r.size });
  }
  return out;
}

function index(va: bigint, level: number): number {
  return Number((va >> LEVEL_SHIFT[level]) & INDEX_MASK);
}

/**
 * A guest-physical range as error messages write it: `[0xSTART, 0xEND)`.
 *
 * @param start the first address
 * @param size the length in bytes
 * @returns the half-open range in hex
 */
export function hexRange(start: bigint, size: bigint): string {
  return `[0x${start.toString(16)}, 0x${(start + size).toString(16)})`;
}
