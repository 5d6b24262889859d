/**
 * Sparse host backing of one memslot. Storage comes in 32 MiB ArrayBuffers
 * created on the first touch of any page inside them. At 32 MiB glibc
 * always serves them with a fresh mmap (the dynamic mmap threshold stops
 * at 32 MiB), so they are zero-filled lazily by the OS and RSS grows per
 * 4 KiB page that the guest or the VMM actually writes. Measured: 2 MiB
 * buffers come from the heap once a few were freed (calloc then memsets
 * and commits all of them, 10x slower faults); one `ArrayBuffer(4096)` per
 * page costs ~8 µs and a committed page each.
 *
 * A 512 GiB slot costs a 16384-entry chunk table until pages are touched.
 *
 * @module
 */

import { PAGE_SIZE } from "../../memory/layout.ts";
import type { Translation } from "../port.ts";

export { PAGE_SIZE };
/** Pages per 32 MiB chunk. */
const CHUNK_PAGES = 8192;
const CHUNK_SHIFT = 13;
const CHUNK_MASK = CHUNK_PAGES - 1;

/**
 * One 32 MiB piece of host memory and the 4 KiB views handed to the CPU.
 * The buffer is created on the first page access, so marking pages present
 * (populate) costs only the presence array.
 */
class HostChunk {
  #buffer: ArrayBuffer | null = null;
  #views: (Uint8Array | undefined)[] | null = null;
  #dataViews: (DataView | undefined)[] | null = null;
  /** Cached direct translations per page (valid while their gfn matches). */
  translations: (PageTranslation | undefined)[] | null = null;
  /** Host mapping present, per page (used for `absent` backing only). */
  readonly present: Uint8Array | null;

  constructor(trackPresence: boolean) {
    this.present = trackPresence ? new Uint8Array(CHUNK_PAGES) : null;
  }

  /** The backing buffer, or null while no page view was made. */
  get allocated(): ArrayBuffer | null {
    return this.#buffer;
  }

  #allocate(): void {
    // Always the full 32 MiB, even for a short tail: see the module doc.
    this.#buffer = new ArrayBuffer(CHUNK_PAGES * PAGE_SIZE);
    this.#views = new Array(CHUNK_PAGES);
    this.#dataViews = new Array(CHUNK_PAGES);
  }

  /** The Uint8Array of page `i` (0…8191), creating buffer and view on first use. */
  view(i: number): Uint8Array {
    if (this.#views === null) this.#allocate();
    return this.#pageView(this.#views!, i, Uint8Array);
  }

  /** The DataView of page `i` (0…8191), creating buffer and view on first use. */
  dataView(i: number): DataView {
    if (this.#dataViews === null) this.#allocate();
    return this.#pageView(this.#dataViews!, i, DataView);
  }

  /** Page `i`'s view in `views`, made with `View` on first use (the page is then present). */
  #pageView<V>(
    views: (V | undefined)[],
    i: number,
    View: new (buffer: ArrayBuffer, offset: number, length: number) => V,
  ): V {
    let v = views[i];
    if (v === undefined) {
      v = views[i] = new View(this.#buffer!, i * PAGE_SIZE, PAGE_SIZE);
      if (this.present !== null) this.present[i] = 1;
    }
    return v;
  }
}

/**
 * A {@linkcode Translation} of one host page. Its views are made on first
 * use (the CPU's data accesses read only {@linkcode PageTranslation.view};
 * the Uint8Array serves fetch and page-table walks), so a translation that
 * nobody reads costs one small object.
 */
export class PageTranslation implements Translation {
  /** {@inheritDoc Translation.gfn} */
  readonly gfn: number;
  /** {@inheritDoc Translation.direct} */
  readonly direct: boolean;
  readonly #chunk: HostChunk;
  readonly #i: number;

  /**
   * Creates the instance; marks the page present (see {@linkcode HostMemory.page}).
   * @param host the host memory
   * @param index the page in `host`
   * @param gfn its guest frame
   * @param direct whether writes may go straight to the page
   */
  constructor(host: HostMemory, index: number, gfn: number, direct: boolean) {
    // The chunk, not `host`: the views stay those of this memory even if the slot goes.
    const c = this.#chunk = host.chunkOf(index);
    const i = this.#i = index & CHUNK_MASK;
    this.gfn = gfn;
    this.direct = direct;
    if (c.present !== null) c.present[i] = 1;
  }

  /** {@inheritDoc Translation.view} */
  get view(): DataView {
    return this.#chunk.dataView(this.#i);
  }

  /** {@inheritDoc Translation.page} */
  get page(): Uint8Array {
    return this.#chunk.view(this.#i);
  }
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
  /** Size in 4 KiB pages. */
  readonly npages: number;
  /** Whether pages start with no host mapping. */
  readonly absent: boolean;
  #chunks: (HostChunk | undefined)[];

  /**
   * Creates the instance.
   * @param npages size in pages
   * @param absent whether the host mapping starts empty
   */
  constructor(npages: number, absent: boolean) {
    this.npages = npages;
    this.absent = absent;
    this.#chunks = new Array(Math.ceil(npages / CHUNK_PAGES));
  }

  /** The chunk holding page `index` (created if needed; its buffer is made on first access). */
  chunkOf(index: number): HostChunk {
    return this.#chunk(index, true)!;
  }

  #chunk(index: number, create: boolean): HostChunk | undefined {
    const ci = index >>> CHUNK_SHIFT;
    let c = this.#chunks[ci];
    if (c === undefined && create) {
      c = this.#chunks[ci] = new HostChunk(this.absent);
    }
    return c;
  }

  /** Whether the host mapping of page `index` is present. */
  isPresent(index: number): boolean {
    if (!this.absent) return true;
    const c = this.#chunk(index, false);
    return c !== undefined && c.present![index & CHUNK_MASK] !== 0;
  }

  /** Make pages `[index, index + count)` present (host-side populate; a no-op unless `absent`). */
  populate(index: number, count: number): void {
    if (!this.absent) return;
    const end = Math.min(index + count, this.npages);
    for (let i = index; i < end;) {
      const c = this.#chunk(i, true)!;
      const stop = Math.min(end, (Math.floor(i / CHUNK_PAGES) + 1) * CHUNK_PAGES);
      c.present!.fill(1, i & CHUNK_MASK, ((stop - 1) & CHUNK_MASK) + 1);
      i = stop;
    }
  }

  /**
   * The 4 KiB view of page `index`, created on first use. For `absent`
   * backing the caller has checked presence; this marks the page present.
   */
  page(index: number): Uint8Array {
    return this.#chunk(index, true)!.view(index & CHUNK_MASK);
  }

  /** The DataView of page `index` (over the bytes of {@linkcode HostMemory.page}). */
  pageView(index: number): DataView {
    return this.#chunk(index, true)!.dataView(index & CHUNK_MASK);
  }

  /**
   * A direct {@linkcode Translation} of page `index` at guest frame `gfn`,
   * cached per page so that a TLB refill allocates nothing (a moved slot's
   * pages get new objects: the cached gfn no longer matches).
   */
  translation(index: number, gfn: number): Translation {
    const c = this.#chunk(index, true)!;
    const ts = c.translations ??= new Array(CHUNK_PAGES);
    const i = index & CHUNK_MASK;
    const t = ts[i];
    if (t !== undefined && t.gfn === gfn) return t;
    return ts[i] = new PageTranslation(this, index, gfn, true);
  }

  /** Copy `bytes` into memory at byte `offset` (host-side write). */
  write(offset: number, bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) {
      const at = offset + done;
      const p = this.page(Math.floor(at / PAGE_SIZE));
      const o = at % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - o, bytes.length - done);
      p.set(bytes.subarray(done, done + n), o);
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
      const buf = this.#chunk(index, false)?.allocated;
      if (buf) out.set(new Uint8Array(buf, (index & CHUNK_MASK) * PAGE_SIZE + o, n), done);
      done += n;
    }
    return out;
  }

  /** Drop every chunk (the slot is deleted). */
  release(): void {
    this.#chunks = [];
  }
}
