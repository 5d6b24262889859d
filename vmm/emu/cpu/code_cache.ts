/**
 * Compiled basic blocks, cached per guest-physical page and shared by every
 * vCPU of one VM (one cache per {@linkcode MmuPort}), so that cross-modifying
 * code on another vCPU invalidates what this one runs. A page holding cached
 * code keeps a byte map of the bytes that blocks were decoded from; a guest
 * write into those bytes (seen on the write slow path, because code pages
 * never have fast write entries) drops every block of the page.
 *
 * @module
 */
import type { MmuPort } from "../port.ts";
import type { SoftTlb } from "./tlb.ts";

/** A compiled block: runs up to `limit` instructions and returns how many retired. */
export type BlockFn = (c: unknown, limit: number) => number;

/** One compiled basic block. */
export interface Block {
  /** Guest-virtual address of the first instruction (signed canonical number). */
  rip: number;
  /** Instructions in one pass through the block. */
  len: number;
  fn: BlockFn;
  /** Cleared when the code it was compiled from changes. */
  valid: boolean;
  /** Page of the last bytes of an instruction that crosses into the next page, else -1. */
  gfn2: number;
  /** Last two successors (direct chaining, checked against `linkGen`). */
  link1?: Block;
  /** The successor before `link1`. */
  link2?: Block;
  /** TLB generation when the links were made. */
  linkGen?: number;
}

/** The blocks and code-byte map of one guest-physical page. */
export interface CodePage {
  gfn: number;
  /** Host storage the blocks were decoded from (a remap changes it). */
  page: Uint8Array;
  /** Blocks by key (`rip * 2 + single`). */
  blocks: Map<number, Block>;
  /** Blocks of other pages whose last instruction reaches into this one. */
  spill: Block[];
  /** 1 for each byte some block was decoded from. */
  bytes: Uint8Array;
}

/** The per-VM cache of compiled code. */
export class CodeCache {
  readonly #pages = new Map<number, CodePage>();
  readonly #tlbs = new Set<SoftTlb>();
  /** Blocks compiled (a statistic for tests and benches). */
  compiled = 0;
  /** Pages invalidated by writes or remaps. */
  invalidations = 0;

  /**
   * Registers a vCPU's TLB: code pages get their fast write entries demoted in it.
   *
   * @param tlb the TLB
   */
  attach(tlb: SoftTlb): void {
    this.#tlbs.add(tlb);
  }

  /**
   * The code page of `gfn`, if it holds code.
   *
   * @param gfn guest page number
   * @returns the page record
   */
  get(gfn: number): CodePage | undefined {
    return this.#pages.get(gfn);
  }

  /**
   * Whether `gfn` holds cached code.
   *
   * @param gfn guest page number
   * @returns true for a code page
   */
  has(gfn: number): boolean {
    return this.#pages.has(gfn);
  }

  /**
   * The code page of `gfn`, created (and write-protected in every TLB) if new.
   *
   * @param gfn guest page number
   * @param page its host storage
   * @returns the page record
   */
  open(gfn: number, page: Uint8Array): CodePage {
    let cp = this.#pages.get(gfn);
    if (cp !== undefined && cp.page !== page) {
      this.invalidate(gfn);
      cp = undefined;
    }
    if (cp === undefined) {
      cp = { gfn, page, blocks: new Map(), spill: [], bytes: new Uint8Array(4096) };
      this.#pages.set(gfn, cp);
      for (const t of this.#tlbs) t.demoteWrites(gfn);
    }
    return cp;
  }

  /**
   * Whether a write of `len` bytes at page offset `off` of `gfn` touches cached code.
   *
   * @param gfn guest page number
   * @param off offset in the page
   * @param len bytes written (clipped to the page)
   * @returns true if it overlaps decoded bytes
   */
  overlaps(gfn: number, off: number, len: number): boolean {
    const cp = this.#pages.get(gfn);
    if (cp === undefined) return false;
    const end = Math.min(4096, off + len);
    for (let i = off; i < end; i++) if (cp.bytes[i] !== 0) return true;
    return false;
  }

  /**
   * Drops every block decoded from `gfn` and makes its writes fast again.
   *
   * @param gfn guest page number
   */
  invalidate(gfn: number): void {
    const cp = this.#pages.get(gfn);
    if (cp === undefined) return;
    this.#pages.delete(gfn);
    this.invalidations++;
    for (const b of cp.blocks.values()) b.valid = false;
    for (const b of cp.spill) b.valid = false;
    for (const t of this.#tlbs) {
      t.dropCodeWrites(gfn);
      t.generation++;
    }
  }
}

const CACHES = new WeakMap<MmuPort, CodeCache>();

/**
 * The code cache shared by the vCPUs of the VM behind `port`. Creating
 * vCPU 0 starts a fresh cache: a VM builds its vCPUs from 0 up whenever it
 * (re)loads a guest, and the host may have rewritten guest code since.
 *
 * @param port the VM's MMU port
 * @param fresh drop any cache of an earlier guest
 * @returns its code cache
 */
export function codeCacheFor(port: MmuPort, fresh = false): CodeCache {
  let c = CACHES.get(port);
  if (c === undefined || fresh) {
    c = new CodeCache();
    CACHES.set(port, c);
  }
  return c;
}
