/**
 * The block compiler: turns a basic block of decoded instructions into one
 * JavaScript function (via `new Function`), each instruction emitted by its
 * opcode row's handler (`opcodes.ts`, `emit_ops.ts`), with the software-TLB check of
 * every memory access inlined (a hit is one compare and a DataView access),
 * registers as int32 halves, lazy flags, and Jcc conditions specialised to
 * the operation that set the flags when that is known inside the block.
 * A block that branches back to its own start runs as a loop inside the
 * function while the instruction budget allows (QEMU-style direct chaining
 * for the commonest case).
 *
 * Every instruction does everything that can fail (address translation,
 * #GP/#DE checks) before it commits anything, so an exit leaves the
 * architectural state at the instruction boundary.
 *
 * The generated function is `(c: CpuCore, limit) => retired`; it sets
 * `c.rip` before returning.
 *
 * @module
 */
import type { DecodedInst } from "./inst.ts";
import type { BlockFn } from "./code_cache.ts";
import { Emitter, lit } from "./emitter.ts";
import { OPCODES } from "./opcodes.ts";

/** One instruction of a block with its address and the next one's. */
export interface BlockInst {
  d: DecodedInst;
  rip: number;
  /** The address after the instruction (its fall-through and return address). */
  next: number;
  /**
   * A direct jmp/call whose target the block continues with (a superblock):
   * the jmp compiles to nothing, the call to its push.
   */
  follow?: boolean;
}

/** Emits `d` through its opcode row's compiled handler. */
function emitInst(e: Emitter, d: DecodedInst): void {
  const emit = OPCODES[d.row].emit;
  if (emit === null) {
    throw new TypeError(`Cannot compile instruction "${d.mnemonic}": it runs alone`);
  }
  emit(e, d);
}

/**
 * Whether `d` replaces the whole lazy-flags record without reading the
 * flags and without any way to exit first (no memory operand), so the
 * previous instruction's record need not be stored at all.
 */
function overwritesFlagsSilently(d: DecodedInst): boolean {
  return d.mem === null && OPCODES[d.row].setsFlags;
}

/**
 * Compiles a basic block. The last instruction may be a control transfer;
 * no instruction may be `alone`.
 *
 * @param insts the instructions with their addresses
 * @returns the block function and its source (for debugging)
 */
export function compileBlock(insts: BlockInst[]): { fn: BlockFn; source: string } {
  const e = new Emitter();
  const first = insts[0].rip;
  const last = insts[insts.length - 1];
  // A jmp or conditional branch back to the block's start (a call pushes, so it never loops).
  const branch = OPCODES[last.d.row].branch;
  const selfLoop = (branch === "jmp" || branch === "cond") && !last.follow &&
    last.next + last.d.imm === first;
  if (selfLoop) {
    e.loopStart = first;
    e.loopLen = insts.length;
  }
  const body: string[] = [];
  e.out = body;
  insts.forEach((bi, k) => {
    e.k = k;
    e.flagsDead = k + 1 < insts.length && overwritesFlagsSilently(insts[k + 1].d);
    e.rip = bi.rip;
    e.next = bi.next;
    e.follow = bi.follow === true;
    e.cont = e.follow ? bi.next + bi.d.imm : bi.next;
    e.emit(`{ // ${bi.d.mnemonic} ${bi.d.form}`);
    emitInst(e, bi.d);
    e.endInst();
    e.emit(`}`);
  });
  if (!last.d.ends) e.emit(`c.rip = ${lit(last.next)}; return n + ${insts.length};`);
  else if (last.follow) {
    e.emit(`c.rip = ${lit(last.next + last.d.imm)}; return n + ${insts.length};`);
  }
  const src = [
    `"use strict";`,
    `return function block(c, limit) {`,
    `const r = c.r, fl = c.fl, T = c.tlb, tr = T.tagR, tw = T.tagW, vr = T.viewR, vw = T.viewW,`,
    `  tm = T.mask;`,
    `let n = 0, s = 0;`,
    selfLoop ? `for (;;) {` : `{`,
    ...body,
    `}`,
    `};`,
  ].join("\n");
  const fn = new Function(src)() as BlockFn;
  return { fn, source: src };
}
