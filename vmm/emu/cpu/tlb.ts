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

// Entry kinds in the reverse map (index * 4 + kind).
const K_R = 0;
const K_W = 1;
const K_X = 2;
const K_CW = 3;
// Epoch unit of the reverse map's frame set (frames are below 2^40: 52-bit GPAs).
const SET_EPOCH = 2 ** 40;

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
    this.#allocateLinks(size);
  }

  /** Doubles the table (emptying it); only between blocks. */
  grow(): void {
    this.growPending = false;
    this.#fills = 0;
    if (this.size >= TLB_MAX_SIZE) return;
    this.#allocate(this.size * 2);
    this.generation++;
  }

  /** Bumped on every change that can invalidate a cached block lookup. */
  generation = 0;
  // The reverse map, allocation-free, in two parts:
  //
  // - Chains: every entry code (index * 4 + kind) that was ever filled is on
  //   exactly one doubly linked chain, that of the bucket of the gfn it was
  //   last filled with (buckets by the gfn's low bits). A code whose entry
  //   was dropped since stays there until refilled: chains are a superset.
  // - The set of frames noted since the last clear, which decides (as the
  //   keys of the Map<gfn, codes[]> this replaces did) whether flushGfn bumps
  //   the generation, so compiled blocks re-check exactly when they did:
  //   linear probing over epoch-tagged keys (clearing is one addition), at
  //   most 4 × size frames, then rebuilt from the live entries.
  #head!: Int32Array;
  #next!: Int32Array;
  // The previous code on the chain; -1 = on no chain; -2 - b = head of bucket b.
  #prev!: Int32Array;
  #bmask = 0;
  // Slot values: `#setBase + gfn` (gfn < 2^40) when in the current epoch;
  // any other value is an empty slot. Clearing adds 2^40 to the base.
  #setKeys!: Float64Array;
  #setBase = SET_EPOCH;
  #setCount = 0;
  #setMask = 0;
  #setShift = 0;
  // The frame of the last note: in the set until a clear or a delete.
  #lastFrame = -1;
  // Scratch list of codes for demoteWrites.
  #scratch: Int32Array = new Int32Array(0);

  #allocateLinks(size: number): void {
    this.#head = new Int32Array(size * 4).fill(-1);
    this.#next = new Int32Array(size * 4);
    this.#prev = new Int32Array(size * 4).fill(-1);
    this.#bmask = size * 4 - 1;
    const cap = size * 8; // load factor at most 1/2
    this.#setKeys = new Float64Array(cap);
    this.#setBase = SET_EPOCH;
    this.#setCount = 0;
    this.#lastFrame = -1;
    this.#setMask = cap - 1;
    this.#setShift = Math.clz32(cap) + 1;
  }

  #unlink(code: number): void {
    const p = this.#prev[code];
    if (p === -1) return;
    const n = this.#next[code];
    if (p >= 0) this.#next[p] = n;
    else this.#head[-2 - p] = n;
    if (n !== -1) this.#prev[n] = p;
    this.#prev[code] = -1;
  }

  // Runs of 8 consecutive frames share one cache line of keys (sequential
  // touches stay cache-friendly); the runs are scattered by Fibonacci hashing.
  #hash(gfn: number): number {
    const lo = gfn | 0;
    return ((Math.imul(lo >>> 3, 0x9e3779b1) >>> this.#setShift) & ~7) | (lo & 7);
  }

  /** The set slot holding `gfn`, or -1. */
  #setFind(gfn: number): number {
    const keys = this.#setKeys, base = this.#setBase, v = base + gfn;
    for (let i = this.#hash(gfn);; i = (i + 1) & this.#setMask) {
      const k = keys[i];
      if (k === v) return i;
      if (k < base || k >= base + SET_EPOCH) return -1;
    }
  }

  /** Adds `gfn` (absent) to the set. */
  #setAdd(gfn: number): void {
    const keys = this.#setKeys, base = this.#setBase;
    let i = this.#hash(gfn);
    for (let k = keys[i]; k >= base && k < base + SET_EPOCH; k = keys[i]) {
      i = (i + 1) & this.#setMask;
    }
    keys[i] = base + gfn;
    this.#setCount++;
  }

  /** Removes `gfn` from the set; returns whether it was there. */
  #setDelete(gfn: number): boolean {
    let i = this.#setFind(gfn);
    if (i < 0) return false;
    const keys = this.#setKeys, base = this.#setBase, mask = this.#setMask;
    // Backward-shift deletion: move up later keys whose probe passed slot i.
    for (let j = (i + 1) & mask;; j = (j + 1) & mask) {
      const v = keys[j];
      if (v < base || v >= base + SET_EPOCH) break;
      const k = this.#hash(v - base);
      if (i <= j ? i < k && k <= j : i < k || k <= j) continue;
      keys[i] = v;
      i = j;
    }
    keys[i] = 0;
    this.#setCount--;
    this.#lastFrame = -1;
    return true;
  }

  #setClear(): void {
    this.#lastFrame = -1;
    this.#setCount = 0;
    this.#setBase += SET_EPOCH;
    if (this.#setBase >= SET_EPOCH * 8000) {
      this.#setKeys.fill(0);
      this.#setBase = SET_EPOCH;
    }
  }

  #note(gfn: number, code: number): void {
    this.#noteFrame(gfn);
    this.#unlink(code);
    const b = gfn & this.#bmask;
    const h = this.#head[b];
    this.#next[code] = h;
    if (h !== -1) this.#prev[h] = code;
    this.#prev[code] = -2 - b;
    this.#head[b] = code;
  }

  /** Counts a fill of `gfn` and adds it to the frame set. */
  #noteFrame(gfn: number): void {
    if (++this.#fills > 4 * this.size && this.size < TLB_MAX_SIZE) this.growPending = true;
    if (gfn === this.#lastFrame) return; // a read and a write fill of one page
    this.#lastFrame = gfn;
    const keys = this.#setKeys, base = this.#setBase, v = base + gfn;
    let i = this.#hash(gfn);
    for (;;) {
      const k = keys[i];
      if (k === v) return;
      if (k < base || k >= base + SET_EPOCH) break;
      i = (i + 1) & this.#setMask;
    }
    if (this.#setCount < 4 * this.size) {
      keys[i] = v;
      this.#setCount++;
    } else {
      this.#rebuild();
      if (this.#setFind(gfn) < 0) this.#setAdd(gfn);
    }
  }

  /**
   * The set holds too many frames: keep those of live entries, each counted
   * as a fill again (chains already hold every live entry).
   */
  #rebuild(): void {
    this.#setClear();
    for (let i = 0; i < this.size; i++) {
      if (this.tagR[i] === this.tagR[i]) this.#noteFrame(this.gfnR[i]);
      if (this.tagW[i] === this.tagW[i]) this.#noteFrame(this.gfnW[i]);
      if (this.tagX[i] === this.tagX[i]) this.#noteFrame(this.gfnX[i]);
      if (this.tagCW[i] === this.tagCW[i]) this.#noteFrame(this.gfnCW[i]);
    }
  }

  #gfnOf(code: number): number {
    const i = code >> 2;
    switch (code & 3) {
      case K_R:
        return this.gfnR[i];
      case K_W:
        return this.gfnW[i];
      case K_X:
        return this.gfnX[i];
      default:
        return this.gfnCW[i];
    }
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

  /** Fills entry `i` of one kind's arrays and notes it in the reverse map. */
  #fill<V>(
    tags: Float64Array,
    views: V[],
    gfns: Float64Array,
    kind: number,
    i: number,
    pn: number,
    view: V,
    gfn: number,
  ): void {
    tags[i] = pn;
    views[i] = view;
    gfns[i] = gfn;
    this.#note(gfn, i * 4 + kind);
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
    this.#fill(this.tagR, this.viewR, this.gfnR, K_R, i, pn, view, gfn);
  }

  /** Fills a (direct) write entry (parameters as {@linkcode SoftTlb.fillR}). */
  fillW(i: number, pn: number, view: DataView, gfn: number): void {
    this.#fill(this.tagW, this.viewW, this.gfnW, K_W, i, pn, view, gfn);
  }

  /** Fills a code-page write entry (parameters as {@linkcode SoftTlb.fillR}). */
  fillCW(i: number, pn: number, view: DataView, gfn: number): void {
    this.#fill(this.tagCW, this.viewCW, this.gfnCW, K_CW, i, pn, view, gfn);
  }

  /** Fills an exec entry with the page's bytes (parameters as {@linkcode SoftTlb.fillR}). */
  fillX(i: number, pn: number, page: Uint8Array, gfn: number): void {
    this.#fill(this.tagX, this.pageX, this.gfnX, K_X, i, pn, page, gfn);
  }

  /** Drops every entry. */
  flushAll(): void {
    this.tagR.fill(NaN);
    this.tagW.fill(NaN);
    this.tagX.fill(NaN);
    this.tagCW.fill(NaN);
    this.#setClear(); // chains may keep the dropped codes
    this.generation++;
  }

  /**
   * Drops every entry that maps guest-physical page `gfn`.
   *
   * @param gfn the guest page number
   */
  flushGfn(gfn: number): void {
    if (!this.#setDelete(gfn)) return;
    for (let code = this.#head[gfn & this.#bmask]; code !== -1;) {
      const n = this.#next[code];
      if (this.#gfnOf(code) === gfn) {
        this.#unlink(code);
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
      code = n;
    }
    this.generation++;
  }

  /**
   * Turns the fast write entries of `gfn` into code-write entries (it now holds code).
   *
   * @param gfn the guest page number
   */
  demoteWrites(gfn: number): void {
    let k = 0;
    for (let code = this.#head[gfn & this.#bmask]; code !== -1; code = this.#next[code]) {
      if ((code & 3) !== K_W || !this.#holds(code, gfn)) continue;
      if (k === this.#scratch.length) {
        const s = new Int32Array(Math.max(16, k * 2));
        s.set(this.#scratch);
        this.#scratch = s;
      }
      this.#scratch[k++] = code;
    }
    for (let j = 0; j < k; j++) {
      const i = this.#scratch[j] >> 2;
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
    for (let code = this.#head[gfn & this.#bmask]; code !== -1; code = this.#next[code]) {
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
