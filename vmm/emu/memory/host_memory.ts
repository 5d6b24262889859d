/**
 * Sparse host backing of one memslot, whose host cost follows the bytes
 * written rather than the pages touched (spec "Version 2" → "Scale").
 *
 * A page is in one of three states:
 *
 * - **zero**: never written (or only with zeros); no storage at all.
 * - **small**: at most {@linkcode SMALL_WORDS} written 8-byte words, kept as
 *   a record in a few large typed arrays that grow by doubling (word
 *   offsets and values side by side). A dirty-log sweep that writes one
 *   word per page costs ~40 B per page, not 4 KiB.
 * - **frame**: a full 4 KiB frame from a slab allocator: frames live in a
 *   few large ArrayBuffers (1 MiB, 2 MiB, … doubling up to 256 MiB each),
 *   never one buffer per page or per chunk. Per-chunk buffers made V8 answer
 *   the external-memory growth with full mark-compacts, over and over.
 *
 * A small page becomes a frame when a write needs a word beyond its record,
 * when it is accessed more than {@linkcode SMALL_HITS} times through the
 * slow path within {@linkcode HOT_WINDOW} slow-path accesses of the slot
 * (hot pages belong in the CPU's TLB; a sweep that comes back to a page
 * once per pass never makes it hot), or when anyone asks for its
 * bytes ({@linkcode HostMemory.page}: fetch, guest page-table walks). Only
 * frames are cacheable in the CPU's TLB; small and zero pages are read and
 * written through {@linkcode PageAccess} on every access.
 *
 * The page → state map is one open-addressing hash table (page index keys,
 * frame or record values) in two typed arrays, so a 512 GiB slot costs
 * nothing until written and 12-24 B per written page after.
 *
 * @module
 */

import { PAGE_SIZE } from "../../memory/layout.ts";
import type { PageAccess, Translation } from "../port.ts";

export { PAGE_SIZE };
/** Words a small page may hold before it is promoted to a frame. */
export const SMALL_WORDS = 4;
/** Slow-path accesses after which a small page is promoted to a frame. */
export const SMALL_HITS = 64;
/** Slow-path accesses (of any page of the slot) over which {@linkcode SMALL_HITS} counts. */
export const HOT_WINDOW = 4096;
/** Pages per presence chunk (`absent` backing). */
const CHUNK_PAGES = 8192;
const CHUNK_SHIFT = 13;
const CHUNK_MASK = CHUNK_PAGES - 1;
/** Frames in the first slab (1 MiB); each next slab doubles up to {@linkcode SLAB_MAX}. */
const SLAB_FIRST = 256;
/** Frames in the largest slab (256 MiB). */
const SLAB_MAX = 65536;
const TWO32 = 2 ** 32;

/**
 * A {@linkcode Translation} of one host page. A frame is looked up when a
 * getter runs, so the object is valid across promotions: `sparse` is null
 * once the page has a frame, and `view`/`page` make one if needed.
 */
export class PageTranslation implements Translation {
  /** {@inheritDoc Translation.gfn} */
  readonly gfn: number;
  /** {@inheritDoc Translation.direct} */
  readonly direct: boolean;
  readonly #host: HostMemory;
  readonly #index: number;

  /**
   * Creates the instance; marks the page present (see {@linkcode HostMemory.page}).
   * @param host the host memory
   * @param index the page in `host`
   * @param gfn its guest frame
   * @param direct whether writes may go straight to the page
   */
  constructor(host: HostMemory, index: number, gfn: number, direct: boolean) {
    this.#host = host;
    this.#index = index;
    this.gfn = gfn;
    this.direct = direct;
    host.markPresent(index);
  }

  /** {@inheritDoc Translation.view} */
  get view(): DataView {
    return this.#host.pageView(this.#index);
  }

  /** {@inheritDoc Translation.page} */
  get page(): Uint8Array {
    return this.#host.page(this.#index);
  }

  /** {@inheritDoc Translation.sparse} */
  get sparse(): PageAccess | null {
    const h = this.#host;
    return h.frameOf(this.#index) >= 0 ? null : new SmallPageAccess(h, this.#index);
  }
}

/**
 * DataView-like access to a page without a frame: each call goes through
 * the page map, so it stays right if the page is promoted meanwhile.
 */
class SmallPageAccess implements PageAccess {
  readonly #host: HostMemory;
  readonly #index: number;

  constructor(host: HostMemory, index: number) {
    this.#host = host;
    this.#index = index;
  }

  getInt32(off: number, _le?: boolean): number {
    return this.#host.load(this.#index, off, 4) | 0;
  }

  getUint16(off: number, _le?: boolean): number {
    return this.#host.load(this.#index, off, 2);
  }

  getUint8(off: number): number {
    return this.#host.load(this.#index, off, 1);
  }

  setInt32(off: number, value: number, _le?: boolean): void {
    this.#host.store(this.#index, off, 4, value);
  }

  setUint16(off: number, value: number, _le?: boolean): void {
    this.#host.store(this.#index, off, 2, value);
  }

  setUint8(off: number, value: number): void {
    this.#host.store(this.#index, off, 1, value);
  }
}

/** Byte `k` (0…7) of the little-endian word (lo, hi). */
function byteOf(lo: number, hi: number, k: number): number {
  return (k < 4 ? lo >>> (8 * k) : hi >>> (8 * (k - 4))) & 255;
}

/**
 * Sparse memory of `npages` 4 KiB pages.
 *
 * With `absent` set, the host mapping of every page starts missing: the
 * fault path asks {@linkcode HostMemory.isPresent} first and
 * {@linkcode HostMemory.populate} makes pages present (UFFDIO_COPY or
 * MADV_POPULATE_WRITE in a real VMM). Without it, every page is present
 * (anonymous memory that the host kernel faults in on demand).
 */
export class HostMemory {
  /** Size in pages. */
  readonly npages: number;
  /**
   * Whether the host mapping is tracked per page: pages start with no host
   * mapping (`backing absent`), or lost it in {@linkcode HostMemory.unmapAll}.
   */
  absent: boolean;
  // Presence per page, chunked (absent backing only).
  #present: (Uint8Array | undefined)[];

  // Page map: keys are index + 1 (0 = empty); values ≥ 0 a frame, < 0 ~record.
  #keys: Float64Array = new Float64Array(0);
  #vals: Int32Array = new Int32Array(0);
  #mapCount = 0;
  #mapMask = -1;
  #mapShift = 32;
  // The last answer of #find (-1: absent), valid until the map changes.
  #memoIndex = -1;
  #memoSlot = -1;

  // Small-page records: count, hits, then SMALL_WORDS word offsets and (lo, hi) values.
  #recCount: Uint8Array = new Uint8Array(0);
  #recHits: Uint8Array = new Uint8Array(0);
  // The slow-path tick at which each record's hit count started.
  #recStamp: Int32Array = new Int32Array(0);
  #ticks = 0;
  #recOff: Uint16Array = new Uint16Array(0);
  #recWord: Int32Array = new Int32Array(0);
  #recUsed = 0;
  #recFree: number[] = [];

  // Frames: slabs of doubling size; one DataView per frame (what the TLB holds).
  #slabs: ArrayBuffer[] = [];
  #slabBase: number[] = [];
  #frames = 0;
  #frameCap = 0;
  #views: DataView[] = [];
  #bytes: (Uint8Array | undefined)[] = [];

  /**
   * Creates the instance.
   * @param npages size in 4 KiB pages
   * @param absent whether host pages start absent
   */
  constructor(npages: number, absent = false) {
    this.npages = npages;
    this.absent = absent;
    this.#present = [];
  }

  // ---- page map ----------------------------------------------------------

  #hash(index: number): number {
    const lo = index | 0;
    const h = Math.imul((lo >>> 3) ^ ((index / TWO32) | 0), 0x9e3779b1) >>> this.#mapShift;
    return ((h & ~7) | (lo & 7)) & this.#mapMask;
  }

  /** The map slot of page `index`, or -1. Hot: no allocation. */
  #find(index: number): number {
    if (index === this.#memoIndex) return this.#memoSlot;
    if (this.#mapCount === 0) return -1;
    const keys = this.#keys, k = index + 1, mask = this.#mapMask;
    for (let i = this.#hash(index);; i = (i + 1) & mask) {
      const v = keys[i];
      if (v === k) {
        this.#memoIndex = index;
        this.#memoSlot = i;
        return i;
      }
      if (v === 0) {
        this.#memoIndex = index; // a miss too: a fresh page's check, then its store
        this.#memoSlot = -1;
        return -1;
      }
    }
  }

  #insert(index: number, value: number): void {
    if ((this.#mapCount + 1) * 5 > this.#keys.length * 4) this.#rehash();
    const keys = this.#keys, mask = this.#mapMask;
    let i = this.#hash(index);
    while (keys[i] !== 0) i = (i + 1) & mask;
    keys[i] = index + 1;
    this.#vals[i] = value;
    this.#mapCount++;
    this.#memoIndex = index;
    this.#memoSlot = i;
  }

  #rehash(): void {
    this.#memoIndex = -1;
    const oldKeys = this.#keys, oldVals = this.#vals;
    const cap = Math.max(1024, oldKeys.length * 2);
    this.#keys = new Float64Array(cap);
    this.#vals = new Int32Array(cap);
    this.#mapMask = cap - 1;
    this.#mapShift = Math.clz32(cap) + 1;
    const keys = this.#keys, vals = this.#vals, mask = this.#mapMask;
    for (let j = 0; j < oldKeys.length; j++) {
      const k = oldKeys[j];
      if (k === 0) continue;
      let i = this.#hash(k - 1);
      while (keys[i] !== 0) i = (i + 1) & mask;
      keys[i] = k;
      vals[i] = oldVals[j];
    }
  }

  /** The frame of page `index`, or -1 while it has none (zero or small). */
  frameOf(index: number): number {
    const i = this.#find(index);
    if (i < 0) return -1;
    const v = this.#vals[i];
    return v >= 0 ? v : -1;
  }

  // ---- frames ------------------------------------------------------------

  #newFrame(): number {
    if (this.#frames === this.#frameCap) {
      const n = Math.min(SLAB_MAX, SLAB_FIRST * 2 ** this.#slabs.length);
      this.#slabs.push(new ArrayBuffer(n * PAGE_SIZE));
      this.#slabBase.push(this.#frameCap);
      this.#frameCap += n;
    }
    const f = this.#frames++;
    const s = this.#slabs.length - 1;
    this.#views.push(
      new DataView(this.#slabs[s], (f - this.#slabBase[s]) * PAGE_SIZE, PAGE_SIZE),
    );
    return f;
  }

  /** The frame of page `index`, promoting it (zero or small) to one. */
  #frame(index: number): number {
    const i = this.#find(index);
    if (i >= 0) {
      const v = this.#vals[i];
      if (v >= 0) return v;
      const f = this.#newFrame();
      const r = ~v, view = this.#views[f];
      for (let w = 0; w < this.#recCount[r]; w++) {
        const o = this.#recOff[r * SMALL_WORDS + w] * 8;
        view.setInt32(o, this.#recWord[(r * SMALL_WORDS + w) * 2], true);
        view.setInt32(o + 4, this.#recWord[(r * SMALL_WORDS + w) * 2 + 1], true);
      }
      this.#recFree.push(r);
      this.#vals[i] = f;
      return f;
    }
    const f = this.#newFrame();
    this.#insert(index, f);
    return f;
  }

  // ---- small pages -------------------------------------------------------

  #newRecord(): number {
    const free = this.#recFree.pop();
    if (free !== undefined) {
      this.#recCount[free] = 0;
      this.#recHits[free] = 0;
      this.#recStamp[free] = this.#ticks;
      return free;
    }
    if (this.#recUsed === this.#recCount.length) {
      const cap = Math.max(1024, this.#recCount.length * 2);
      const grow = <A extends Uint8Array | Uint16Array | Int32Array>(a: A, n: number): A => {
        const b = new (a.constructor as new (n: number) => A)(n);
        b.set(a);
        return b;
      };
      this.#recCount = grow(this.#recCount, cap);
      this.#recHits = grow(this.#recHits, cap);
      this.#recStamp = grow(this.#recStamp, cap);
      this.#recOff = grow(this.#recOff, cap * SMALL_WORDS);
      this.#recWord = grow(this.#recWord, cap * SMALL_WORDS * 2);
    }
    this.#recStamp[this.#recUsed] = this.#ticks;
    return this.#recUsed++;
  }

  /** Position of word `w` in record `r`'s arrays, or -1. */
  #wordAt(r: number, w: number): number {
    const base = r * SMALL_WORDS, n = this.#recCount[r], off = this.#recOff;
    for (let j = 0; j < n; j++) if (off[base + j] === w) return base + j;
    return -1;
  }

  /** Adds word `w` (zero) to record `r`, which has room; returns its position. */
  #addWord(r: number, w: number): number {
    const p = r * SMALL_WORDS + this.#recCount[r]++;
    this.#recOff[p] = w;
    this.#recWord[p * 2] = 0;
    this.#recWord[p * 2 + 1] = 0;
    return p;
  }

  /** Counts a slow-path access of record `r`; true when the page should become a frame. */
  #hit(r: number): boolean {
    const now = this.#ticks = (this.#ticks + 1) | 0;
    if ((now - this.#recStamp[r]) >>> 0 > HOT_WINDOW) {
      this.#recStamp[r] = now; // a new window
      this.#recHits[r] = 1;
      return false;
    }
    const h = this.#recHits[r] + 1;
    this.#recHits[r] = h;
    return h > SMALL_HITS;
  }

  /**
   * Read `size` (1, 2 or 4) bytes at `off` of page `index` through the page
   * map, little-endian, unsigned (the slow path of a page without a frame).
   */
  load(index: number, off: number, size: number): number {
    const i = this.#find(index);
    if (i < 0) return 0;
    let v = this.#vals[i];
    if (v < 0 && this.#hit(~v)) v = this.#frame(index);
    if (v >= 0) {
      const view = this.#views[v];
      return size === 4
        ? view.getUint32(off, true)
        : size === 2
        ? view.getUint16(off, true)
        : view.getUint8(off);
    }
    const r = ~v;
    if (size === 4 && (off & 3) === 0) {
      // Aligned: one half of one word (the common case).
      const p = this.#wordAt(r, off >>> 3);
      return p < 0 ? 0 : this.#recWord[p * 2 + ((off >>> 2) & 1)] >>> 0;
    }
    let out = 0;
    for (let k = 0; k < size; k++) {
      const at = off + k, p = this.#wordAt(r, at >>> 3);
      if (p < 0) continue;
      const b = byteOf(this.#recWord[p * 2], this.#recWord[p * 2 + 1], at & 7);
      out += b * 2 ** (8 * k);
    }
    return out;
  }

  /** Write the low `size` (1, 2 or 4) bytes of `value` at `off` of page `index`. */
  store(index: number, off: number, size: number, value: number): void {
    const i = this.#find(index);
    let v = i < 0 ? 0 : this.#vals[i];
    if (i < 0) {
      // Zeros written to a zero page leave it one.
      if ((size === 4 ? value | 0 : value & (size === 2 ? 0xffff : 0xff)) === 0) return;
      v = ~this.#newRecord();
      this.#insert(index, v);
    } else if (v < 0 && this.#hit(~v)) v = this.#frame(index);
    if (v < 0) {
      const r = ~v;
      if (size === 4 && (off & 3) === 0) {
        // Aligned: one half of one word (the common case).
        let p = this.#wordAt(r, off >>> 3);
        if (p < 0 && this.#recCount[r] < SMALL_WORDS) p = this.#addWord(r, off >>> 3);
        if (p >= 0) {
          this.#recWord[p * 2 + ((off >>> 2) & 1)] = value;
          return;
        }
      }
      // Words this store needs that the record lacks: promote if they do not fit.
      const w0 = off >>> 3, w1 = (off + size - 1) >>> 3;
      let need = 0;
      for (let w = w0; w <= w1; w++) if (this.#wordAt(r, w) < 0) need++;
      if (this.#recCount[r] + need > SMALL_WORDS) v = this.#frame(index);
      else {
        for (let k = 0; k < size; k++) {
          const at = off + k, w = at >>> 3;
          let p = this.#wordAt(r, w);
          if (p < 0) p = this.#addWord(r, w);
          const b = (value >>> (8 * k)) & 255, bi = at & 7, half = p * 2 + (bi >>> 2);
          const sh = 8 * (bi & 3);
          this.#recWord[half] = (this.#recWord[half] & ~(255 << sh)) | (b << sh);
        }
        return;
      }
    }
    const view = this.#views[v];
    if (size === 4) view.setInt32(off, value, true);
    else if (size === 2) view.setUint16(off, value, true);
    else view.setUint8(off, value);
  }

  // ---- presence ----------------------------------------------------------

  /** Whether the host mapping of page `index` is present. */
  isPresent(index: number): boolean {
    if (!this.absent) return true;
    const c = this.#present[index >>> CHUNK_SHIFT];
    return c !== undefined && c[index & CHUNK_MASK] !== 0;
  }

  /** Mark page `index` present (a no-op unless `absent`). */
  markPresent(index: number): void {
    if (!this.absent) return;
    const ci = index >>> CHUNK_SHIFT;
    (this.#present[ci] ??= new Uint8Array(CHUNK_PAGES))[index & CHUNK_MASK] = 1;
  }

  /**
   * Drop every page's host mapping but keep the bytes: MADV_DONTNEED on a
   * shared (memfd) mapping, whose pages stay in the page cache. From then on
   * presence is tracked as for `absent` backing (`demand uffd NAME minor`).
   */
  unmapAll(): void {
    this.absent = true;
    this.#present = [];
  }

  /** Make pages `[index, index + count)` present (host-side populate; a no-op unless `absent`). */
  populate(index: number, count: number): void {
    if (!this.absent) return;
    const end = Math.min(index + count, this.npages);
    for (let i = index; i < end;) {
      const ci = Math.floor(i / CHUNK_PAGES);
      const c = this.#present[ci] ??= new Uint8Array(CHUNK_PAGES);
      const stop = Math.min(end, (ci + 1) * CHUNK_PAGES);
      c.fill(1, i & CHUNK_MASK, ((stop - 1) & CHUNK_MASK) + 1);
      i = stop;
    }
  }

  // ---- whole pages and host-side copies ----------------------------------

  /**
   * The 4 KiB bytes of page `index`, promoted to a frame if needed. For
   * `absent` backing the caller has checked presence; this marks the page present.
   */
  page(index: number): Uint8Array {
    this.markPresent(index);
    const f = this.#frame(index);
    let b = this.#bytes[f];
    if (b === undefined) {
      const v = this.#views[f];
      b = this.#bytes[f] = new Uint8Array(v.buffer, v.byteOffset, PAGE_SIZE);
    }
    return b;
  }

  /** The DataView of page `index` (over the bytes of {@linkcode HostMemory.page}). */
  pageView(index: number): DataView {
    this.markPresent(index);
    return this.#views[this.#frame(index)];
  }

  /**
   * A direct {@linkcode Translation} of page `index` at guest frame `gfn`
   * (a TLB refill: small and short-lived).
   */
  translation(index: number, gfn: number): Translation {
    return new PageTranslation(this, index, gfn, true);
  }

  /** Copy `bytes` into memory at byte `offset` (host-side write). */
  write(offset: number, bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) {
      const at = offset + done;
      const index = Math.floor(at / PAGE_SIZE);
      const o = at % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - o, bytes.length - done);
      if (n <= 8 && this.frameOf(index) < 0) {
        // A few bytes (ucall slots, PTEs) keep a page small.
        for (let k = 0; k < n; k++) this.store(index, o + k, 1, bytes[done + k]);
      } else this.page(index).set(bytes.subarray(done, done + n), o);
      done += n;
    }
  }

  /** Copy `length` bytes at byte `offset` out (host-side read; untouched pages read as 0). */
  read(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const at = offset + done;
      const index = Math.floor(at / PAGE_SIZE);
      const o = at % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - o, length - done);
      const i = this.#find(index);
      if (i >= 0) {
        const v = this.#vals[i];
        if (v >= 0) {
          const view = this.#views[v];
          out.set(new Uint8Array(view.buffer, view.byteOffset + o, n), done);
        } else {
          const r = ~v;
          for (let j = 0; j < this.#recCount[r]; j++) {
            const p = r * SMALL_WORDS + j, w0 = this.#recOff[p] * 8;
            for (let k = 0; k < 8; k++) {
              const at2 = w0 + k;
              if (at2 >= o && at2 < o + n) {
                out[done + at2 - o] = byteOf(this.#recWord[p * 2], this.#recWord[p * 2 + 1], k);
              }
            }
          }
        }
      }
      done += n;
    }
    return out;
  }

  /** Host bytes held for guest data now: frames, small-page records and the page map. */
  hostBytes(): number {
    return this.#frameCap * PAGE_SIZE + this.#keys.byteLength + this.#vals.byteLength +
      this.#recCount.byteLength * 2 + this.#recStamp.byteLength + this.#recOff.byteLength +
      this.#recWord.byteLength;
  }

  /** Pages with a frame, and pages held small. */
  pageCounts(): { frames: number; small: number } {
    return { frames: this.#frames, small: this.#recUsed - this.#recFree.length };
  }

  /** Drop all storage (the slot is deleted). */
  release(): void {
    this.#memoIndex = -1;
    this.#present = [];
    this.#keys = new Float64Array(0);
    this.#vals = new Int32Array(0);
    this.#mapCount = 0;
    this.#mapMask = -1;
    this.#recCount = new Uint8Array(0);
    this.#recHits = new Uint8Array(0);
    this.#recStamp = new Int32Array(0);
    this.#recOff = new Uint16Array(0);
    this.#recWord = new Int32Array(0);
    this.#recUsed = 0;
    this.#recFree = [];
    this.#slabs = [];
    this.#slabBase = [];
    this.#frames = 0;
    this.#frameCap = 0;
    this.#views = [];
    this.#bytes = [];
  }
}
