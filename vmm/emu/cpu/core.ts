/**
 * The architectural state of one vCPU and its memory access slow paths.
 * Compiled blocks read and write these fields directly (they are public for
 * that reason and for nothing else); {@linkcode Cpu} in `cpu.ts` is the
 * public face.
 *
 * Memory accesses that miss the inline TLB check come here. Every access
 * translates all the pages it touches before it changes anything, and
 * reports its outcome as a number: 0 done, 1 aborted (nothing written,
 * `stop` says why), 2 done but the block must stop after this instruction
 * (an MMIO write exit, or a write into cached code).
 *
 * @module
 */
import {
  type Access,
  ACCESS_EXEC,
  ACCESS_READ,
  ACCESS_WRITE,
  type CpuStop,
  type MmuExit,
  type MmuPort,
  type PageAccess,
  type PagingState,
} from "../port.ts";
import { divWide, imulTrunc, mulWide, shiftOp } from "./alu.ts";
import type { CodeCache } from "./code_cache.ts";
import { carryFlag, F_LEN, testCondition } from "./flags.ts";
import { SoftTlb } from "./tlb.ts";

const TWO32 = 4294967296;

/**
 * Whether the high half of a 64-bit address makes it canonical (48-bit).
 *
 * @param hi the high 32 bits
 * @returns true if bits 63:47 are equal
 */
export function canonicalHi(hi: number): boolean {
  return ((hi << 16) >> 16) === hi;
}

/**
 * The signed-number form of a canonical 64-bit address.
 *
 * @param lo low 32 bits
 * @param hi high 32 bits (canonical)
 * @returns the address as a (possibly negative) JS number
 */
export function addrNumber(lo: number, hi: number): number {
  return hi * TWO32 + (lo >>> 0);
}

/**
 * A bigint from 32-bit halves.
 *
 * @param lo low 32 bits
 * @param hi high 32 bits
 * @returns the unsigned 64-bit value
 */
export function halvesToBigint(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** The state of one vCPU. */
export class CpuCore {
  /** vCPU index (for the MMU). */
  readonly index: number;
  /** The memory model. */
  readonly port: MmuPort;
  /** Shared compiled-code cache of the VM. */
  readonly code: CodeCache;
  /** GPRs as int32 pairs: `r[2n]` low, `r[2n+1]` high half of register n. */
  readonly r: Int32Array = new Int32Array(32);
  /** Lazy flags record (see `flags.ts`). */
  readonly fl: Int32Array = new Int32Array(F_LEN);
  /** Non-arithmetic RFLAGS bits (IF, DF, bit 1, ...). */
  rflagsOther = 2;
  /** RIP as a signed canonical number. */
  rip = 0;
  /** The software TLB. */
  readonly tlb: SoftTlb = new SoftTlb();
  /** Paging registers handed to the MMU on every translate. */
  readonly paging: PagingState;
  /** CR2 (only ever written by the guest: no #PF is delivered). */
  cr2 = 0;
  /** Instructions retired. */
  instructions = 0;
  /** TLB flushes (the `tlb_flush` stat). */
  tlbFlushes = 0;
  /** Why the current block must stop (set by slow paths), or null. */
  stop: CpuStop | null = null;
  /** Value of the last slow-path read, low half. */
  vl = 0;
  /** Value of the last slow-path read, high half. */
  vh = 0;
  /** Scratch result of ALU helpers. */
  readonly out: Int32Array = new Int32Array(4);
  /** A completed MMIO read value waits for the re-executed load. */
  mmioReady = false;
  /** The completed MMIO read value. */
  mmioValue = 0n;
  /** Size of a pending `in` (0 = none). */
  pendingIn = 0;
  // Reused argument records of the ALU helpers (no allocation per instruction).
  readonly #shiftArgs = { op: 0, size: 0, lo: 0, hi: 0, count: 0 };
  readonly #imulArgs = { size: 0, al: 0, ah: 0, bl: 0, bh: 0 };
  // The translation of the last probeW, for the write of the same instruction.
  #memoPn = NaN;
  #memoSt = 0;
  #memoView: PageAccess = new DataView(new ArrayBuffer(8));
  #memoGfn = 0;
  #memoDirect = true;
  #memoGpa = 0;
  // Results of #xlate.
  #xv: PageAccess = new DataView(new ArrayBuffer(8));
  #xgfn = 0;
  #xdirect = true;
  #xgpa = 0;

  /**
   * Builds the register file and TLB of one vCPU.
   *
   * @param init index, port, code cache and paging registers
   */
  constructor(init: { index: number; port: MmuPort; code: CodeCache; paging: PagingState }) {
    this.index = init.index;
    this.port = init.port;
    this.code = init.code;
    this.paging = init.paging;
    this.code.attach(this.tlb);
  }

  /**
   * Ends the run with a triple fault at the current instruction.
   *
   * @param rip the faulting instruction
   * @param reason what happened
   */
  shutdown(rip: number, reason: string): void {
    this.rip = rip;
    this.stop = { kind: "shutdown", rip: BigInt.asUintN(64, BigInt(rip)), reason };
  }

  /** Drops every cached translation and counts it. */
  flushTlb(): void {
    this.tlb.flushAll();
    this.tlbFlushes++;
  }

  /** CF from the lazy flags (0 or 1). */
  cf(): number {
    return carryFlag(this.fl);
  }

  /**
   * Evaluates a Jcc condition on the lazy flags.
   *
   * @param cc the condition nibble
   * @returns whether it holds
   */
  cond(cc: number): boolean {
    return testCondition(this.fl, cc);
  }

  /**
   * A general-purpose register as a 64-bit value (the slow paths; compiled
   * code reads the halves in {@linkcode CpuCore.r}).
   *
   * @param n 0 = rax … 15 = r15
   * @returns its unsigned 64-bit value
   */
  gpr(n: number): bigint {
    return halvesToBigint(this.r[2 * n], this.r[2 * n + 1]);
  }

  /**
   * Sets a general-purpose register from a 64-bit value.
   *
   * @param n 0 = rax … 15 = r15
   * @param v the value (bits above 63 are ignored)
   */
  setGpr(n: number, v: bigint): void {
    this.r[2 * n] = Number(v & 0xffffffffn) | 0;
    this.r[2 * n + 1] = Number((v >> 32n) & 0xffffffffn) | 0;
  }

  /**
   * Shift/rotate helper for compiled code; result in `out`.
   *
   * @param op group-2 operation
   * @param size operand size
   * @param lo value low half
   * @param hi value high half
   * @param count raw count
   */
  shift(op: number, size: number, lo: number, hi: number, count: number): void {
    const a = this.#shiftArgs;
    a.op = op;
    a.size = size;
    a.lo = lo;
    a.hi = hi;
    a.count = count;
    shiftOp(a, this.fl, this.out);
  }

  /**
   * Truncating imul helper; result in `out`.
   *
   * @param size operand size
   * @param al first factor low
   * @param ah first factor high
   * @param bl second factor low
   * @param bh second factor high
   */
  imul(size: number, al: number, ah: number, bl: number, bh: number): void {
    const a = this.#imulArgs;
    a.size = size;
    a.al = al;
    a.ah = ah;
    a.bl = bl;
    a.bh = bh;
    imulTrunc(a, this.fl, this.out);
  }

  /**
   * One-operand mul/imul.
   *
   * @param signed imul
   * @param size operand size
   * @param lo source low
   * @param hi source high
   */
  mul(signed: boolean, size: number, lo: number, hi: number): void {
    mulWide({ signed, size, lo, hi }, this.r, this.fl);
  }

  /**
   * One-operand div/idiv; on #DE sets the shutdown stop.
   *
   * @param signed idiv
   * @param size operand size
   * @param lo divisor low
   * @param hi divisor high
   * @param rip the instruction (for the shutdown)
   * @returns true when done, false on #DE
   */
  div(signed: boolean, size: number, lo: number, hi: number, rip: number): boolean {
    if (divWide({ signed, size, lo, hi }, this.r)) return true;
    this.shutdown(rip, "#DE (divide error) with no IDT: triple fault");
    return false;
  }

  /**
   * Translates one page for a data access. Returns 0 with `#xv`/`#xgfn`/`#xdirect`
   * set, 1 on abort (stop set), 2 for MMIO (`#xgpa` set).
   */
  #xlate(lo: number, hi: number, access: Access): number {
    const pn = hi * 1048576 + (lo >>> 12);
    const i = (lo >>> 12) & this.tlb.mask;
    const t = this.tlb;
    if (access === ACCESS_READ) {
      if (t.tagR[i] === pn) {
        this.#xv = t.viewR[i];
        this.#xgfn = t.gfnR[i];
        this.#xdirect = true;
        return 0;
      }
    } else {
      if (t.tagW[i] === pn) {
        this.#xv = t.viewW[i];
        this.#xgfn = t.gfnW[i];
        this.#xdirect = true;
        return 0;
      }
      if (t.tagCW[i] === pn) {
        this.#xv = t.viewCW[i];
        this.#xgfn = t.gfnCW[i];
        this.#xdirect = true;
        return 0;
      }
    }
    if (!canonicalHi(hi)) {
      this.shutdown(this.rip, "#GP (non-canonical address) with no IDT: triple fault");
      return 1;
    }
    const gva = (hi & 0xffff) * TWO32 + (lo >>> 0);
    const res = this.port.translate(this.index, this.paging, gva, access);
    if ("exit" in res) {
      if (res.exit === "mmio") {
        this.#xgpa = res.gpa;
        return 2;
      }
      this.#mmuStop(res);
      return 1;
    }
    this.#xgfn = res.gfn;
    this.#xdirect = res.direct;
    const sparse = res.sparse;
    if (sparse !== undefined && sparse !== null) {
      // No host frame yet: access it through the page map, cache nothing.
      this.#xv = sparse;
      return 0;
    }
    const view = res.view;
    this.#xv = view;
    if (access === ACCESS_READ) {
      t.fillR(i, pn, view, res.gfn);
    } else if (res.direct) {
      // A direct write translation is also a valid read translation.
      t.fillR(i, pn, view, res.gfn);
      if (this.code.has(res.gfn)) t.fillCW(i, pn, view, res.gfn);
      else t.fillW(i, pn, view, res.gfn);
    }
    return 0;
  }

  #mmuStop(exit: MmuExit): void {
    if (exit.exit === "guest_fault") {
      this.stop = {
        kind: "shutdown",
        rip: BigInt.asUintN(64, BigInt(this.rip)),
        reason: `#PF (vector ${exit.vector}) at ${
          "0x" + exit.gva.toString(16)
        } with no IDT: triple fault`,
      };
    } else {
      this.stop = { kind: "mmu", exit };
    }
  }

  #mmioRead(gpa: number, size: number): number {
    if (this.mmioReady) {
      this.mmioReady = false;
      const v = BigInt.asUintN(size * 8, this.mmioValue);
      this.vl = Number(v & 0xffffffffn) | 0;
      this.vh = Number(v >> 32n) | 0;
      return 0;
    }
    this.stop = { kind: "mmio", gpa, len: size, isWrite: false, value: 0n };
    return 1;
  }

  #afterWrite(gfn: number, direct: boolean, off: number, len: number): number {
    if (!direct) this.port.trackedWrite(this.index, gfn * 4096 + off, len);
    if (this.code.overlaps(gfn, off, len)) {
      this.code.invalidate(gfn);
      return 2;
    }
    return 0;
  }

  /**
   * Slow-path read of `size` bytes at (lo, hi); the value lands in `vl`/`vh`.
   *
   * @param lo address low half
   * @param hi address high half
   * @param size 1, 2, 4 or 8
   * @returns 0 done, 1 aborted
   */
  rd(lo: number, hi: number, size: number): number {
    const st = this.#rd(lo, hi, size);
    // An aborted load ends the instruction: a probe made for it is void.
    if (st !== 0) this.#memoPn = NaN;
    return st;
  }

  #rd(lo: number, hi: number, size: number): number {
    const off = lo & 4095;
    if (off + size <= 4096) {
      const st = this.#xlate(lo, hi, ACCESS_READ);
      if (st === 1) return 1;
      if (st === 2) return this.#mmioRead(this.#xgpa, size);
      const v = this.#xv;
      if (size === 8) {
        this.vl = v.getInt32(off, true);
        this.vh = v.getInt32(off + 4, true);
      } else {
        this.vl = size === 4
          ? v.getInt32(off, true)
          : size === 2
          ? v.getUint16(off, true)
          : v.getUint8(off);
        this.vh = 0;
      }
      return 0;
    }
    // Page-crossing: translate both pages before reading either.
    const n1 = 4096 - off;
    const st1 = this.#xlate(lo, hi, ACCESS_READ);
    if (st1 === 1) return 1;
    const v1 = this.#xv, g1 = this.#xgpa;
    const t = (lo >>> 0) + n1;
    const lo2 = t | 0, hi2 = (hi + (t >= TWO32 ? 1 : 0)) | 0;
    const st2 = this.#xlate(lo2, hi2, ACCESS_READ);
    if (st2 === 1) return 1;
    if (st1 === 2) return this.#mmioRead(g1, size);
    if (st2 === 2) return this.#mmioRead(this.#xgpa - n1, size);
    const v2 = this.#xv;
    const b = new Uint8Array(8);
    for (let k = 0; k < size; k++) b[k] = k < n1 ? v1.getUint8(off + k) : v2.getUint8(k - n1);
    const dv = new DataView(b.buffer);
    this.vl = size === 8 || size === 4
      ? dv.getInt32(0, true)
      : size === 2
      ? dv.getUint16(0, true)
      : b[0];
    this.vh = size === 8 ? dv.getInt32(4, true) : 0;
    return 0;
  }

  /**
   * Slow-path write of `size` bytes at (lo, hi).
   *
   * @param lo address low half
   * @param hi address high half
   * @param size 1, 2, 4 or 8
   * @param vl value low half
   * @param vh value high half
   * @returns 0 done, 1 aborted (nothing written), 2 done and the block must stop
   */
  wr(lo: number, hi: number, size: number, vl: number, vh: number): number {
    const off = lo & 4095;
    if (off + size <= 4096) {
      let st: number;
      if (this.#memoPn === hi * 1048576 + (lo >>> 12)) {
        // The write half of a read-modify-write: use the translation probeW made,
        // so the MMU sees one write fault per instruction, as on hardware.
        st = this.#memoSt;
        this.#xv = this.#memoView;
        this.#xgfn = this.#memoGfn;
        this.#xdirect = this.#memoDirect;
        this.#xgpa = this.#memoGpa;
        this.#memoPn = NaN;
      } else st = this.#xlate(lo, hi, ACCESS_WRITE);
      if (st === 1) return 1;
      if (st === 2) return this.#mmioWrite(this.#xgpa, size, vl, vh);
      const v = this.#xv;
      if (size === 8) {
        v.setInt32(off, vl, true);
        v.setInt32(off + 4, vh, true);
      } else if (size === 4) v.setInt32(off, vl, true);
      else if (size === 2) v.setUint16(off, vl, true);
      else v.setUint8(off, vl);
      return this.#afterWrite(this.#xgfn, this.#xdirect, off, size);
    }
    const n1 = 4096 - off;
    const st1 = this.#xlate(lo, hi, ACCESS_WRITE);
    if (st1 === 1) return 1;
    const v1 = this.#xv, g1 = this.#xgpa, gfn1 = this.#xgfn, d1 = this.#xdirect;
    const t = (lo >>> 0) + n1;
    const lo2 = t | 0, hi2 = (hi + (t >= TWO32 ? 1 : 0)) | 0;
    const st2 = this.#xlate(lo2, hi2, ACCESS_WRITE);
    if (st2 === 1) return 1;
    if (st1 === 2) return this.#mmioWrite(g1, size, vl, vh);
    if (st2 === 2) return this.#mmioWrite(this.#xgpa - n1, size, vl, vh);
    const v2 = this.#xv;
    const b = new Uint8Array(8);
    const dv = new DataView(b.buffer);
    dv.setInt32(0, vl, true);
    dv.setInt32(4, vh, true);
    for (let k = 0; k < size; k++) {
      if (k < n1) v1.setUint8(off + k, b[k]);
      else v2.setUint8(k - n1, b[k]);
    }
    const a = this.#afterWrite(gfn1, d1, off, n1);
    const c = this.#afterWrite(this.#xgfn, this.#xdirect, 0, size - n1);
    return a === 2 || c === 2 ? 2 : 0;
  }

  #mmioWrite(gpa: number, size: number, vl: number, vh: number): number {
    const value = BigInt.asUintN(size * 8, halvesToBigint(vl, vh));
    this.stop = { kind: "mmio", gpa, len: size, isWrite: true, value };
    return 2;
  }

  /**
   * Makes sure a later write of `size` bytes at (lo, hi) cannot abort (read-modify-write).
   *
   * @param lo address low half
   * @param hi address high half
   * @param size 1, 2, 4 or 8
   * @returns 0 writable (or MMIO), 1 aborted
   */
  probeW(lo: number, hi: number, size: number): number {
    const off = lo & 4095;
    this.#memoPn = NaN;
    const st = this.#xlate(lo, hi, ACCESS_WRITE);
    if (st === 1) return 1;
    if (off + size <= 4096) {
      // Cacheable translations are now in the TLB and the store will hit there;
      // the others (tracked, MMIO) would be translated again by the store.
      if (st === 0 && this.#xdirect) return 0;
      this.#memoPn = hi * 1048576 + (lo >>> 12);
      this.#memoSt = st;
      this.#memoView = this.#xv;
      this.#memoGfn = this.#xgfn;
      this.#memoDirect = this.#xdirect;
      this.#memoGpa = this.#xgpa;
    } else {
      const t = (lo >>> 0) + 4096 - off;
      if (this.#xlate(t | 0, (hi + (t >= TWO32 ? 1 : 0)) | 0, ACCESS_WRITE) === 1) return 1;
    }
    return 0;
  }

  /**
   * Translates the page of `rip` for fetch into the exec TLB entry.
   *
   * @param rip a guest-virtual address (signed canonical number)
   * @returns the TLB index, or -1 (stop set)
   */
  fetchEntry(rip: number): number {
    const pn = Math.floor(rip / 4096);
    const t = this.tlb;
    const i = pn & t.mask;
    if (t.tagX[i] === pn) return i;
    const gva = rip < 0 ? rip + 2 ** 48 : rip;
    const res = this.port.translate(this.index, this.paging, gva, ACCESS_EXEC);
    if ("exit" in res) {
      this.#mmuStop(res);
      return -1;
    }
    t.fillX(i, pn, res.page, res.gfn);
    return i;
  }

  /** Access kinds re-exported for the system instructions. */
  static readonly ACCESS_WRITE = ACCESS_WRITE;
}
