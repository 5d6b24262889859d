/**
 * The per-vCPU software TLB, QEMU softmmu style: a direct-mapped table keyed
 * by guest-virtual page number, one tag array per access kind, so a hit is
 * one compare plus an index. Tags are page numbers of the sign-extended
 * 64-bit address (`hi * 2^20 + (lo >>> 12)`), which only canonical
 * addresses ever fill, so a hit also proves the address canonical.
 *
 * Write entries exist only for pages whose translation was `direct` and
 * that hold no cached code; everything else takes the slow path (QEMU's
 * TLB_NOTDIRTY). Code pages that are otherwise writable get a code-write
 * entry, which the slow path uses without asking the MMU again.
 *
 * A reverse map from guest-physical page to the entries that may hold it
 * makes {@linkcode SoftTlb.flushGfn} cost what that page occupies, not a
 * scan of the table, so the table can be large: it starts at
 * {@linkcode TLB_SIZE} entries and doubles (up to {@linkcode TLB_MAX_SIZE})
 * when it refills much more often than it has entries. The dispatcher
 * resizes between blocks only, because a running block holds the arrays.
 *
 * @module
 */

/** Entries in a new table (a power of two): 4 MiB of 4 KiB pages. */
export const TLB_SIZE = 1024;
/** Largest table: 64 MiB of reach (QEMU sizes its table dynamically too). */
export const TLB_MAX_SIZE = 16384;

const EMPTY_PAGE = new Uint8Array(4096);
const EMPTY_VIEW = new DataView(EMPTY_PAGE.buffer);
const VIEWS = new WeakMap<Uint8Array, DataView>();

// Entry kinds in the reverse map (index * 4 + kind).
const K_R = 0;
const K_W = 1;
const K_X = 2;
const K_CW = 3;

/**
 * A DataView over a 4 KiB host page (cached per page, so refills allocate nothing).
 *
 * @param page the page
 * @returns its view
 */
export function pageView(page: Uint8Array): DataView {
  let v = VIEWS.get(page);
  if (v === undefined) {
    v = new DataView(page.buffer, page.byteOffset, 4096);
    VIEWS.set(page, v);
  }
  return v;
}

/** The arrays of one vCPU's software TLB. Fields are public for compiled blocks. */
export class SoftTlb {
  /** Entries. */
  size: number = TLB_SIZE;
  /** Index mask (`size - 1`). */
  mask: number = TLB_SIZE - 1;
  /** Read tags (NaN = empty). */
  tagR!: Float64Array;
  /** Write tags. */
  tagW!: Float64Array;
  /** Exec tags. */
  tagX!: Float64Array;
  /** Write tags of code pages (slow path without a translate call). */
  tagCW!: Float64Array;
  /** Page views for reads. */
  viewR!: DataView[];
  /** Page views for writes. */
  viewW!: DataView[];
  /** Page views for code-page writes. */
  viewCW!: DataView[];
  /** Pages for fetch. */
  pageX!: Uint8Array[];
  /** Guest-physical page numbers of read entries. */
  gfnR!: Float64Array;
  /** GFNs of write entries. */
  gfnW!: Float64Array;
  /** GFNs of exec entries. */
  gfnX!: Float64Array;
  /** GFNs of code-page write entries. */
  gfnCW!: Float64Array;
  /** The table refills often: call {@linkcode SoftTlb.grow} between blocks. */
  growPending = false;
  #fills = 0;

  /** Allocates an empty table of {@linkcode TLB_SIZE} entries. */
  constructor() {
    this.#allocate(TLB_SIZE);
  }

  #allocate(size: number): void {
    this.size = size;
    this.mask = size - 1;
    this.tagR = new Float64Array(size).fill(NaN);
    this.tagW = new Float64Array(size).fill(NaN);
    this.tagX = new Float64Array(size).fill(NaN);
    this.tagCW = new Float64Array(size).fill(NaN);
    this.viewR = new Array(size).fill(EMPTY_VIEW);
    this.viewW = new Array(size).fill(EMPTY_VIEW);
    this.viewCW = new Array(size).fill(EMPTY_VIEW);
    this.pageX = new Array(size).fill(EMPTY_PAGE);
    this.gfnR = new Float64Array(size);
    this.gfnW = new Float64Array(size);
    this.gfnX = new Float64Array(size);
    this.gfnCW = new Float64Array(size);
  }

  /** Doubles the table (emptying it); only between blocks. */
  grow(): void {
    this.growPending = false;
    this.#fills = 0;
    if (this.size >= TLB_MAX_SIZE) return;
    this.#allocate(this.size * 2);
    this.#where.clear();
    this.generation++;
  }

  /** Bumped on every change that can invalidate a cached block lookup. */
  generation = 0;
  // gfn → entry codes (index * 4 + kind) that may hold it; a superset, pruned lazily.
  readonly #where = new Map<number, number[]>();

  #note(gfn: number, code: number): void {
    if (++this.#fills > 4 * this.size && this.size < TLB_MAX_SIZE) this.growPending = true;
    let l = this.#where.get(gfn);
    if (l === undefined) {
      if (this.#where.size >= 4 * this.size) this.#rebuild();
      l = [];
      this.#where.set(gfn, l);
    } else if (l.length >= 64) {
      // Refills of the same entries: keep the codes that still hold this page.
      const live = l.filter((c) => this.#holds(c, gfn));
      l.length = 0;
      for (const c of new Set(live)) l.push(c);
    }
    l.push(code);
  }

  #holds(code: number, gfn: number): boolean {
    const i = code >> 2;
    switch (code & 3) {
      case K_R:
        return this.gfnR[i] === gfn && this.tagR[i] === this.tagR[i];
      case K_W:
        return this.gfnW[i] === gfn && this.tagW[i] === this.tagW[i];
      case K_X:
        return this.gfnX[i] === gfn && this.tagX[i] === this.tagX[i];
      default:
        return this.gfnCW[i] === gfn && this.tagCW[i] === this.tagCW[i];
    }
  }

  #rebuild(): void {
    this.#where.clear();
    for (let i = 0; i < this.size; i++) {
      if (this.tagR[i] === this.tagR[i]) this.#note(this.gfnR[i], i * 4 + K_R);
      if (this.tagW[i] === this.tagW[i]) this.#note(this.gfnW[i], i * 4 + K_W);
      if (this.tagX[i] === this.tagX[i]) this.#note(this.gfnX[i], i * 4 + K_X);
      if (this.tagCW[i] === this.tagCW[i]) this.#note(this.gfnCW[i], i * 4 + K_CW);
    }
  }

  /**
   * Fills a read entry.
   *
   * @param i the index
   * @param pn the virtual page number (tag)
   * @param view the page
   * @param gfn its guest page number
   */
  fillR(i: number, pn: number, view: DataView, gfn: number): void {
    this.tagR[i] = pn;
    this.viewR[i] = view;
    this.gfnR[i] = gfn;
    this.#note(gfn, i * 4 + K_R);
  }

  /**
   * Fills a (direct) write entry.
   *
   * @param i the index
   * @param pn the virtual page number (tag)
   * @param view the page
   * @param gfn its guest page number
   */
  fillW(i: number, pn: number, view: DataView, gfn: number): void {
    this.tagW[i] = pn;
    this.viewW[i] = view;
    this.gfnW[i] = gfn;
    this.#note(gfn, i * 4 + K_W);
  }

  /**
   * Fills a code-page write entry.
   *
   * @param i the index
   * @param pn the virtual page number (tag)
   * @param view the page
   * @param gfn its guest page number
   */
  fillCW(i: number, pn: number, view: DataView, gfn: number): void {
    this.tagCW[i] = pn;
    this.viewCW[i] = view;
    this.gfnCW[i] = gfn;
    this.#note(gfn, i * 4 + K_CW);
  }

  /**
   * Fills an exec entry.
   *
   * @param i the index
   * @param pn the virtual page number (tag)
   * @param page the page
   * @param gfn its guest page number
   */
  fillX(i: number, pn: number, page: Uint8Array, gfn: number): void {
    this.tagX[i] = pn;
    this.pageX[i] = page;
    this.gfnX[i] = gfn;
    this.#note(gfn, i * 4 + K_X);
  }

  /** Drops every entry. */
  flushAll(): void {
    this.tagR.fill(NaN);
    this.tagW.fill(NaN);
    this.tagX.fill(NaN);
    this.tagCW.fill(NaN);
    this.#where.clear();
    this.generation++;
  }

  /**
   * Drops every entry that maps guest-physical page `gfn`.
   *
   * @param gfn the guest page number
   */
  flushGfn(gfn: number): void {
    const l = this.#where.get(gfn);
    if (l === undefined) return;
    this.#where.delete(gfn);
    for (const code of l) {
      if (!this.#holds(code, gfn)) continue;
      const i = code >> 2;
      switch (code & 3) {
        case K_R:
          this.tagR[i] = NaN;
          break;
        case K_W:
          this.tagW[i] = NaN;
          break;
        case K_X:
          this.tagX[i] = NaN;
          break;
        default:
          this.tagCW[i] = NaN;
      }
    }
    this.generation++;
  }

  /**
   * Turns the fast write entries of `gfn` into code-write entries (it now holds code).
   *
   * @param gfn the guest page number
   */
  demoteWrites(gfn: number): void {
    const l = this.#where.get(gfn);
    if (l === undefined) return;
    for (const code of [...l]) {
      if ((code & 3) !== K_W || !this.#holds(code, gfn)) continue;
      const i = code >> 2;
      this.fillCW(i, this.tagW[i], this.viewW[i], gfn);
      this.tagW[i] = NaN;
    }
  }

  /**
   * Drops the code-write entries of `gfn` (its code is gone; writes may be fast again).
   *
   * @param gfn the guest page number
   */
  dropCodeWrites(gfn: number): void {
    const l = this.#where.get(gfn);
    if (l === undefined) return;
    for (const code of l) {
      if ((code & 3) === K_CW && this.#holds(code, gfn)) this.tagCW[code >> 2] = NaN;
    }
  }

  /**
   * Drops every entry for one virtual page (invlpg).
   *
   * @param pn the virtual page number (tag form)
   */
  flushPage(pn: number): void {
    const i = pn & this.mask;
    if (this.tagR[i] === pn) this.tagR[i] = NaN;
    if (this.tagW[i] === pn) this.tagW[i] = NaN;
    if (this.tagX[i] === pn) this.tagX[i] = NaN;
    if (this.tagCW[i] === pn) this.tagCW[i] = NaN;
    this.generation++;
  }
}
