/**
 * The emulated vCPU ({@linkcode EmuCpu}): the dispatcher that finds (or
 * decodes and compiles) the block at RIP, runs it under the instruction
 * budget and turns what stopped it into a {@linkcode CpuStop}.
 *
 * Blocks are looked up through a small direct-mapped jump cache (QEMU's
 * `tb_jmp_cache`), validated by the TLB generation, and otherwise through
 * the exec TLB entry of RIP's page and the shared code cache of that
 * guest-physical page.
 *
 * @module
 */
import type { GprName, VcpuBootState } from "../../../guest/image.ts";
import type { CpuStop, EmuCpu, MmuPort } from "../port.ts";
import { MtrrState } from "../mtrr.ts";
import { type Block, type CodeCache, codeCacheFor } from "./code_cache.ts";
import { type BlockInst, compileBlock } from "./compile.ts";
import { CpuCore } from "./core.ts";
import { decodeAt, MAX_INST_LEN, TRUNCATED } from "./decode.ts";
import { ARITH_FLAGS, materializeFlags, setEagerFlags } from "./flags.ts";
import { OPCODES } from "./opcodes.ts";
import { execAlone } from "./system.ts";

/** Register numbers by name (SDM encoding order). */
export const GPR_NUMBERS: Readonly<Record<GprName, number>> = {
  rax: 0,
  rcx: 1,
  rdx: 2,
  rbx: 3,
  rsp: 4,
  rbp: 5,
  rsi: 6,
  rdi: 7,
  r8: 8,
  r9: 9,
  r10: 10,
  r11: 11,
  r12: 12,
  r13: 13,
  r14: 14,
  r15: 15,
};

/** Longest basic block, in instructions. */
export const MAX_BLOCK_INSTS = 64;

const JC_SIZE = 4096;
const QUANTUM: CpuStop = { kind: "quantum" };

function u64(n: number): bigint {
  return BigInt.asUintN(64, BigInt(n));
}

/** One emulated x86-64 vCPU. */
export class Cpu implements EmuCpu {
  readonly #c: CpuCore;
  readonly #code: CodeCache;
  readonly #jcBlock: (Block | undefined)[] = new Array(JC_SIZE);
  readonly #jcGen = new Int32Array(JC_SIZE).fill(-1);
  #dead: CpuStop | null = null;

  /**
   * Builds the vCPU in its boot state (use {@linkcode createCpu}).
   *
   * @param init the vCPU index, the VM's MMU port and the boot state
   */
  constructor(init: { index: number; port: MmuPort; state: VcpuBootState }) {
    const { index, port, state } = init;
    this.#code = codeCacheFor(port, index === 0);
    this.#c = new CpuCore({
      index,
      port,
      code: this.#code,
      paging: {
        cr0: Number(state.cr0 & 0xffffffffn),
        cr3: Number(state.cr3),
        cr4: Number(state.cr4 & 0xffffffffn),
        efer: Number(state.efer & 0xffffffffn),
        pat: state.pat,
        mtrr: new MtrrState(),
      },
    });
    const c = this.#c;
    for (const [name, v] of Object.entries(state.gprs)) {
      const n = GPR_NUMBERS[name as GprName];
      if (n === undefined || v === undefined) continue;
      c.setGpr(n, v);
    }
    c.rip = Number(BigInt.asIntN(64, state.rip));
    const rf = Number(state.rflags & 0xffffffffn);
    setEagerFlags(c.fl, rf & ARITH_FLAGS);
    c.rflagsOther = (rf & ~ARITH_FLAGS) | 2;
  }

  /** The vCPU index. */
  get index(): number {
    return this.#c.index;
  }

  /** Guest instructions retired so far. */
  get instructions(): number {
    return this.#c.instructions;
  }

  /** TLB flushes so far. */
  get tlbFlushes(): number {
    return this.#c.tlbFlushes;
  }

  /** Blocks compiled by this VM's code cache (shared by its vCPUs). */
  get blocksCompiled(): number {
    return this.#code.compiled;
  }

  /** Code pages invalidated by guest writes or remaps in this VM. */
  get codeInvalidations(): number {
    return this.#code.invalidations;
  }

  /** Current RIP. */
  rip(): bigint {
    return u64(this.#c.rip);
  }

  /**
   * A general-purpose register.
   *
   * @param n 0 = rax … 15 = r15
   * @returns its 64-bit value
   */
  gpr(n: number): bigint {
    return this.#c.gpr(n);
  }

  /**
   * Sets a general-purpose register (tests and debuggers).
   *
   * @param n 0 = rax … 15 = r15
   * @param v the 64-bit value
   */
  setGpr(n: number, v: bigint): void {
    this.#c.setGpr(n, v);
  }

  /** RFLAGS, arithmetic flags materialised (bit 1 always set). */
  rflags(): bigint {
    return BigInt((materializeFlags(this.#c.fl) | this.#c.rflagsOther | 2) >>> 0);
  }

  /** CR0, CR3, CR4, EFER and PAT as the MMU sees them. */
  paging(): { cr0: number; cr3: number; cr4: number; efer: number; pat: bigint } {
    return { ...this.#c.paging };
  }

  /** Drops every cached translation (counted in {@linkcode tlbFlushes}). */
  flushTlb(): void {
    this.#c.flushTlb();
  }

  /**
   * Drops the cached translations of one guest-physical page, and the code
   * compiled from it: a changed mapping may put different bytes behind it.
   *
   * @param gfn the guest page number
   */
  flushGfn(gfn: number): void {
    this.#c.tlb.flushGfn(gfn);
    this.#code.invalidate(gfn);
  }

  /**
   * Drops the code compiled from guest-physical pages `[gfn, gfn + count)`:
   * the VMM calls it after writing guest code from the host side, which the
   * CPU cannot see.
   *
   * @param range first page and page count
   */
  invalidateCode(range: { gfn: number; count: number }): void {
    for (let g = range.gfn; g < range.gfn + range.count; g++) this.#code.invalidate(g);
  }

  /**
   * Completes a pending `in`: writes al/ax/eax (eax zero-extends into rax).
   *
   * @param value the value read from the port
   */
  completeIn(value: bigint): void {
    const c = this.#c;
    const v = Number(value & 0xffffffffn);
    if (c.pendingIn === 1) c.r[0] = (c.r[0] & ~0xff) | (v & 0xff);
    else if (c.pendingIn === 2) c.r[0] = (c.r[0] & ~0xffff) | (v & 0xffff);
    else if (c.pendingIn === 4) {
      c.r[0] = v | 0;
      c.r[1] = 0;
    }
    c.pendingIn = 0;
  }

  /**
   * Provides the value of a pending MMIO read; the next run re-executes the load with it.
   *
   * @param value the value read
   */
  completeMmioRead(value: bigint): void {
    this.#c.mmioReady = true;
    this.#c.mmioValue = value;
  }

  /**
   * Runs at most `budget` instructions.
   *
   * @param budget instruction budget
   * @returns why it stopped
   */
  run(budget: number): CpuStop {
    if (this.#dead !== null) return this.#dead;
    const c = this.#c;
    let left = budget;
    let prev: Block | null = null;
    while (left > 0) {
      const rip = c.rip;
      const gen = c.tlb.generation;
      let b: Block | undefined;
      // Direct chaining: the previous block remembers its last two successors.
      if (prev !== null && prev.linkGen === gen) {
        b = prev.link1;
        if (b === undefined || b.rip !== rip || !b.valid) {
          b = prev.link2;
          if (b === undefined || b.rip !== rip || !b.valid) b = undefined;
          else {
            prev.link2 = prev.link1;
            prev.link1 = b;
          }
        }
      }
      if (b === undefined) {
        const found = this.#find(rip);
        if (found === null) return this.#finish();
        b = found;
        if (prev !== null) {
          if (prev.linkGen !== gen) {
            prev.link2 = undefined;
            prev.linkGen = gen;
          } else prev.link2 = prev.link1;
          prev.link1 = b;
        }
      }
      if (b.len > left) {
        const single = this.#lookup(rip, true);
        if (single === null) return this.#finish();
        b = single;
      }
      const n = b.fn(c, left);
      c.instructions += n;
      left -= n;
      if (c.stop !== null) return this.#finish();
      prev = b;
      // Resize the TLB only here, between blocks: a running block holds its arrays.
      if (c.tlb.growPending) c.tlb.grow();
    }
    return QUANTUM;
  }

  /** The block at `rip` through the jump cache, or built. */
  #find(rip: number): Block | null {
    const gen = this.#c.tlb.generation;
    const j = rip & (JC_SIZE - 1);
    const b = this.#jcBlock[j];
    if (b !== undefined && b.rip === rip && this.#jcGen[j] === gen && b.valid) return b;
    const nb = this.#lookup(rip, false);
    if (nb === null) return null;
    // #lookup may have bumped the generation (code invalidation): record the current one.
    this.#jcBlock[j] = nb;
    this.#jcGen[j] = this.#c.tlb.generation;
    return nb;
  }

  #finish(): CpuStop {
    const c = this.#c;
    let s = c.stop!;
    c.stop = null;
    if (s.kind === "shutdown") {
      s = { kind: "shutdown", rip: u64(c.rip), reason: s.reason };
      this.#dead = s;
    }
    return s;
  }

  /** Stops with `unsupported`, reporting up to {@linkcode MAX_INST_LEN} bytes at `rip`. */
  #unsupported(rip: number, bytes: Uint8Array): null {
    this.#c.stop = { kind: "unsupported", rip: u64(rip), bytes };
    return null;
  }

  /** Finds or builds the block at `rip` (`single`: exactly one instruction). */
  #lookup(rip: number, single: boolean): Block | null {
    const c = this.#c;
    const t = c.tlb;
    const xi = c.fetchEntry(rip);
    if (xi < 0) return null;
    const page = t.pageX[xi];
    const gfn = t.gfnX[xi];
    const cp = this.#code.open(gfn, page);
    const key = rip * 2 + (single ? 1 : 0);
    const have = cp.blocks.get(key);
    if (have !== undefined && have.valid) {
      if (have.gfn2 < 0) return have;
      const xj = c.fetchEntry(rip - (rip & 4095) + 4096);
      if (xj < 0) return null;
      if (t.gfnX[xj] === have.gfn2 && this.#code.get(have.gfn2) !== undefined) return have;
    }
    const insts: BlockInst[] = [];
    const seen = new Set<number>();
    const pageBase = rip - (rip & 4095);
    let off = rip & 4095;
    let cur = rip;
    let gfn2 = -1;
    for (;;) {
      let d = decodeAt(page, off, 4096);
      if (d === TRUNCATED) {
        if (insts.length > 0) break;
        // The instruction continues on the next page: fetch it too.
        const xj = c.fetchEntry(rip - off + 4096);
        if (xj < 0) return null;
        const page2 = t.pageX[xj];
        gfn2 = t.gfnX[xj];
        const buf = new Uint8Array(4096 - off + MAX_INST_LEN);
        buf.set(page.subarray(off), 0);
        buf.set(page2.subarray(0, MAX_INST_LEN), 4096 - off);
        d = decodeAt(buf, 0, buf.length);
        if (d === TRUNCATED || d === null) {
          return this.#unsupported(rip, buf.slice(0, MAX_INST_LEN));
        }
        const cp2 = this.#code.open(gfn2, page2);
        cp2.bytes.fill(1, 0, off + d.len - 4096);
      }
      if (d === null) {
        if (insts.length > 0) break;
        return this.#unsupported(rip, page.slice(off, Math.min(4096, off + MAX_INST_LEN)));
      }
      const spec = OPCODES[d.row];
      const run = spec.run;
      if (run !== null) {
        if (insts.length > 0) break;
        const inst = { d, rip: cur, next: cur + d.len };
        cp.bytes.fill(1, off, Math.min(4096, off + d.len));
        return this.#store(cp.blocks, key, {
          rip,
          len: 1,
          fn: (cc) => execAlone(cc as CpuCore, run, inst),
          valid: true,
          gfn2,
        });
      }
      seen.add(cur);
      cp.bytes.fill(1, off, Math.min(4096, off + d.len));
      // Superblock: continue through a direct jmp/call whose target is in this
      // page and not yet in the block (a jump back ends the block).
      if (
        !single && gfn2 < 0 && (spec.branch === "jmp" || spec.branch === "call") &&
        insts.length < MAX_BLOCK_INSTS - 1
      ) {
        const target = cur + d.len + d.imm;
        if (target >= pageBase && target < pageBase + 4096 && !seen.has(target)) {
          insts.push({ d, rip: cur, next: cur + d.len, follow: true });
          off = target - pageBase;
          cur = target;
          continue;
        }
      }
      insts.push({ d, rip: cur, next: cur + d.len });
      off += d.len;
      cur += d.len;
      if (gfn2 >= 0 || d.ends || single || insts.length >= MAX_BLOCK_INSTS || off >= 4096) break;
    }
    const { fn } = compileBlock(insts);
    this.#code.compiled++;
    return this.#store(cp.blocks, key, { rip, len: insts.length, fn, valid: true, gfn2 });
  }

  /** Caches `b` in its page; one that straddles into page `b.gfn2` is also listed there. */
  #store(blocks: Map<number, Block>, key: number, b: Block): Block {
    blocks.set(key, b);
    if (b.gfn2 >= 0) this.#code.get(b.gfn2)?.spill.push(b);
    return b;
  }
}

/**
 * Creates an emulated vCPU.
 *
 * @param index the vCPU index
 * @param port the VM's memory model
 * @param state the boot state
 * @returns the vCPU
 *
 * @example Running `hlt`
 * ```ts ignore
 * const cpu = createCpu(0, port, bootState);
 * cpu.run(1000); // { kind: "hlt" }
 * ```
 */
export function createCpu(index: number, port: MmuPort, state: VcpuBootState): Cpu {
  return new Cpu({ index, port, state });
}
