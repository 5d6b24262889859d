/**
 * The block compiler: turns a basic block of decoded instructions into one
 * JavaScript function (via `new Function`), with the software-TLB check of
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
import type { DecodedInst } from "./decode.ts";
import {
  OP_ADC,
  OP_ADD,
  OP_DEC,
  OP_EAGER,
  OP_INC,
  OP_LOGIC,
  OP_SAR,
  OP_SBB,
  OP_SHL,
  OP_SHR,
  OP_SUB,
} from "./flags.ts";
import type { BlockFn } from "./code_cache.ts";
import { canonicalNum, Emitter, lit, splitNum, type Val } from "./emitter.ts";

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

const ALU_LAZY_OP = [OP_ADD, OP_LOGIC, OP_ADC, OP_SBB, OP_LOGIC, OP_SUB, OP_LOGIC, OP_SUB];

function emitInst(e: Emitter, d: DecodedInst): void {
  const size = d.size;
  const f = d.form;
  switch (d.exec) {
    case "alu": {
      const op = d.opcode >= 0x80 ? d.ext : (d.opcode >> 3) & 7;
      const dstE = f.startsWith("E");
      const dstAcc = f.startsWith("AL") || f.startsWith("rAX");
      let a: Val, b: Val, addr: Val | null = null;
      if (dstE) {
        const re = e.readE(d, size, op !== 7);
        a = re.v;
        addr = re.a;
        b = f.endsWith("G") || f.endsWith("Gb") || f.endsWith("Gv")
          ? e.capture(e.regRead(d.reg, size, d.rex), size)
          : e.imm(d, size);
      } else if (dstAcc) {
        a = e.capture(e.regRead(0, size, d.rex), size);
        b = e.imm(d, size);
      } else {
        a = e.capture(e.regRead(d.reg, size, d.rex), size);
        b = e.readE(d, size, false).v;
      }
      const ci = op === 2 || op === 3 ? e.carryIn() : "0";
      const res = e.arith(op, size, a, b, ci);
      if (op !== 7) {
        if (dstE) e.writeE(d, size, addr, res);
        else e.regWrite(dstAcc ? 0 : d.reg, size, d.rex, res);
      }
      e.setFlags(ALU_LAZY_OP[op], size, a, b, res, op === 2 || op === 3 ? ci : undefined);
      return;
    }
    case "test": {
      let a: Val, b: Val;
      if (f.startsWith("AL") || f.startsWith("rAX")) {
        a = e.regRead(0, size, d.rex);
        b = e.imm(d, size);
      } else {
        a = e.readE(d, size, false).v;
        b = f.endsWith("I") || f.endsWith("Ib") || f.endsWith("Iz")
          ? e.imm(d, size)
          : e.regRead(d.reg, size, d.rex);
      }
      const res = e.arith(4, size, a, b, "0");
      e.setFlags(OP_LOGIC, size, a, b, res);
      return;
    }
    case "mov": {
      if (f === "Zb,Ib" || f === "Zv,Iv") {
        e.regWrite(d.reg, size, d.rex, e.imm(d, size));
        return;
      }
      if (f === "Eb,Ib" || f === "Ev,Iz") {
        const v = e.imm(d, size);
        if (d.rm >= 0) e.regWrite(d.rm, size, d.rex, v);
        else e.store(e.ea(d), size, v);
        return;
      }
      if (f.startsWith("E")) {
        if (d.rm >= 0) {
          e.regWrite(d.rm, size, d.rex, e.capture(e.regRead(d.reg, size, d.rex), size));
        } else {
          const a = e.ea(d);
          e.store(a, size, e.capture(e.regRead(d.reg, size, d.rex), size));
        }
        return;
      }
      const v = e.readE(d, size, false).v;
      e.regWrite(d.reg, size, d.rex, v);
      return;
    }
    case "movx": {
      const srcSize = d.opcode === 0x63 ? 4 : d.opcode === 0x0fb6 || d.opcode === 0x0fbe ? 1 : 2;
      const v = e.readE(d, srcSize, false).v;
      const signed = d.opcode !== 0x0fb6 && d.opcode !== 0x0fb7;
      const l = e.t("x");
      if (signed && srcSize < 4) {
        const sh = 32 - srcSize * 8;
        e.emit(`const ${l} = (${v.l} << ${sh}) >> ${sh};`);
      } else e.emit(`const ${l} = ${v.l};`);
      const h = signed ? `(${l} >> 31)` : "0";
      e.regWrite(d.reg, size, d.rex, { l: size === 2 ? `(${l} & 65535)` : l, h });
      return;
    }
    case "lea": {
      const a = e.ea(d);
      e.regWrite(d.reg, size, d.rex, size === 2 ? { l: `(${a.l} & 65535)`, h: "0" } : a);
      return;
    }
    case "xchg": {
      if (f === "Zv,rAX") {
        const x = e.capture(e.regRead(d.reg, size, d.rex), size);
        const y = e.capture(e.regRead(0, size, d.rex), size);
        e.regWrite(0, size, d.rex, x);
        e.regWrite(d.reg, size, d.rex, y);
        return;
      }
      const g = e.capture(e.regRead(d.reg, size, d.rex), size);
      const { v, a } = e.readE(d, size, true);
      e.writeE(d, size, a, g);
      e.regWrite(d.reg, size, d.rex, v);
      return;
    }
    case "push": {
      if (f === "Zq") e.push(e.capture(e.regRead(d.reg, 8, d.rex), 8));
      else e.push(e.imm(d, 8));
      return;
    }
    case "pop": {
      const v = e.load({ l: "r[8]", h: "r[9]" }, 8);
      const s = e.t("p");
      e.emit(`const ${s} = (r[8] >>> 0) + 8;`);
      e.emit(`r[8] = ${s} | 0; r[9] = (r[9] + (${s} > 4294967295 ? 1 : 0)) | 0;`);
      e.regWrite(d.reg, 8, d.rex, v);
      return;
    }
    case "imul": {
      const a = e.readE(d, size, false).v;
      const b = d.opcode === 0x0faf ? e.regRead(d.reg, size, d.rex) : e.imm(d, size);
      e.emit(`c.imul(${size}, ${a.l}, ${a.h}, ${b.l}, ${b.h});`);
      e.regWrite(d.reg, size, d.rex, { l: "c.out[0]", h: "c.out[1]" });
      e.flags = { op: OP_EAGER, size: 8 };
      return;
    }
    case "shift": {
      const masked = d.imm & (size === 8 ? 63 : 31);
      const constant = f.endsWith("1") ? 1 : f.endsWith("Ib") ? masked : 0;
      if (constant !== 0 && size >= 4 && d.ext >= 4) {
        emitConstShift(e, d, constant);
        return;
      }
      const { v, a } = e.readE(d, size, true);
      let count: string;
      let known = false;
      if (f.endsWith("CL")) count = "(r[2] & 255)";
      else if (f.endsWith("1")) {
        count = "1";
        known = true;
      } else {
        count = String(d.imm & 0xff);
        known = (d.imm & (size === 8 ? 63 : 31)) !== 0;
      }
      // The helper sets the flags before the store: readE probed the store so it cannot abort.
      e.emit(`c.shift(${d.ext}, ${size}, ${v.l}, ${v.h}, ${count});`);
      const res = e.capture({ l: "c.out[0]", h: "c.out[1]" }, size);
      e.writeE(d, size, a, res);
      e.flags = known ? { op: OP_EAGER, size: 8 } : null;
      return;
    }
    case "unary": {
      const { v, a } = e.readE(d, size, true);
      if (d.ext === 2) {
        const m = size === 8 || size === 4 ? "" : ` & ${size === 2 ? 65535 : 255}`;
        e.writeE(d, size, a, { l: `(~${v.l}${m})`, h: size === 8 ? `(~${v.h})` : "0" });
        return;
      }
      const zero = { l: "0", h: "0" };
      const res = e.arith(5, size, zero, v, "0");
      e.writeE(d, size, a, res);
      e.setFlags(OP_SUB, size, zero, v, res);
      return;
    }
    case "muldiv": {
      const v = e.readE(d, size, false).v;
      const signed = d.ext === 5 || d.ext === 7;
      if (d.ext <= 5) {
        e.emit(`c.mul(${signed}, ${size}, ${v.l}, ${v.h});`);
        e.flags = { op: OP_EAGER, size: 8 };
      } else {
        e.emit(`if (!c.div(${signed}, ${size}, ${v.l}, ${v.h}, ${lit(e.rip)})) ${e.abort()}`);
      }
      return;
    }
    case "incdec": {
      const { v, a } = e.readE(d, size, true);
      const ci = e.carryIn();
      const one = { l: "1", h: "0" };
      const res = e.arith(d.ext === 0 ? 0 : 5, size, v, one, "0");
      e.writeE(d, size, a, res);
      e.setFlags(d.ext === 0 ? OP_INC : OP_DEC, size, v, one, res, ci);
      return;
    }
    case "cext": {
      if (d.opcode === 0x98) {
        if (size === 2) e.emit(`r[0] = (r[0] & -65536) | (((r[0] << 24) >> 24) & 65535);`);
        else if (size === 4) e.emit(`r[0] = (r[0] << 16) >> 16; r[1] = 0;`);
        else e.emit(`r[1] = r[0] >> 31;`);
      } else {
        if (size === 2) e.emit(`r[4] = (r[4] & -65536) | (((r[0] << 16) >> 31) & 65535);`);
        else if (size === 4) e.emit(`r[4] = r[0] >> 31; r[5] = 0;`);
        else e.emit(`r[4] = r[1] >> 31; r[5] = r[4];`);
      }
      return;
    }
    case "nop":
      return;
    case "jmp": {
      if (f === "Eq") {
        const t = e.readE(d, 8, false).v;
        e.checkTarget(t);
        e.emit(`c.rip = ${t.h} * 4294967296 + (${t.l} >>> 0); return n + ${e.k + 1};`);
        return;
      }
      if (!e.follow) e.jumpTo(e.next + d.imm);
      return;
    }
    case "jcc": {
      e.emit(`if (${e.cond(d.opcode & 15)}) {`);
      e.jumpTo(e.next + d.imm);
      e.emit(`}`);
      e.emit(`c.rip = ${lit(e.next)}; return n + ${e.k + 1};`);
      return;
    }
    case "loop": {
      const s = e.t("q");
      e.emit(`const ${s} = (r[2] >>> 0) - 1;`);
      e.emit(`r[2] = ${s} | 0; r[3] = (r[3] - (${s} < 0 ? 1 : 0)) | 0;`);
      e.emit(`if ((r[2] | r[3]) !== 0) {`);
      e.jumpTo(e.next + d.imm);
      e.emit(`}`);
      e.emit(`c.rip = ${lit(e.next)}; return n + ${e.k + 1};`);
      return;
    }
    case "call": {
      const [nl, nh] = splitNum(e.next);
      if (f === "Eq") {
        const t = e.readE(d, 8, false).v;
        e.checkTarget(t);
        e.push({ l: lit(nl), h: lit(nh) });
        e.emit(`c.rip = ${t.h} * 4294967296 + (${t.l} >>> 0); return n + ${e.k + 1};`);
        return;
      }
      const target = e.next + d.imm;
      if (!canonicalNum(target)) {
        e.jumpTo(target);
        return;
      }
      e.push({ l: lit(nl), h: lit(nh) });
      if (!e.follow) e.jumpTo(target);
      return;
    }
    case "ret": {
      const t = e.load({ l: "r[8]", h: "r[9]" }, 8);
      e.checkTarget(t);
      const s = e.t("p");
      e.emit(`const ${s} = (r[8] >>> 0) + 8;`);
      e.emit(`r[8] = ${s} | 0; r[9] = (r[9] + (${s} > 4294967295 ? 1 : 0)) | 0;`);
      e.emit(`c.rip = ${t.h} * 4294967296 + (${t.l} >>> 0); return n + ${e.k + 1};`);
      return;
    }
    case "alone":
      throw new TypeError(`Cannot compile instruction "${d.mnemonic}": it runs alone`);
  }
}

/** shl/shr/sar by a constant non-zero count at 32 or 64 bits, inline with lazy flags. */
function emitConstShift(e: Emitter, d: DecodedInst, c: number): void {
  const size = d.size;
  const { v, a } = e.readE(d, size, true);
  const l = e.t("sl"), h = e.t("sh");
  const op = d.ext;
  let lo: string, hi: string;
  if (size === 4) {
    lo = op === 4 ? `${v.l} << ${c}` : op === 5 ? `(${v.l} >>> ${c}) | 0` : `${v.l} >> ${c}`;
    hi = "0";
  } else if (op === 4) {
    if (c < 32) {
      hi = `(${v.h} << ${c}) | (${v.l} >>> ${32 - c})`;
      lo = `${v.l} << ${c}`;
    } else {
      hi = c === 32 ? v.l : `${v.l} << ${c - 32}`;
      lo = "0";
    }
  } else {
    const sx = op === 7;
    if (c < 32) {
      lo = `(${v.l} >>> ${c}) | (${v.h} << ${32 - c})`;
      hi = sx ? `${v.h} >> ${c}` : `(${v.h} >>> ${c}) | 0`;
    } else {
      lo = c === 32 ? v.h : sx ? `${v.h} >> ${c - 32}` : `(${v.h} >>> ${c - 32}) | 0`;
      hi = sx ? `${v.h} >> 31` : "0";
    }
  }
  e.emit(`const ${l} = ${lo}, ${h} = ${hi};`);
  const res = { l, h: size === 8 ? h : "0" };
  e.writeE(d, size, a, res);
  const lazy = op === 4 ? OP_SHL : op === 5 ? OP_SHR : OP_SAR;
  e.setFlags(lazy, size, v, { l: String(c), h: "0" }, res);
}

/**
 * Whether `d` replaces the whole lazy-flags record without reading the
 * flags and without any way to exit first (no memory operand), so the
 * previous instruction's record need not be stored at all.
 */
function overwritesFlagsSilently(d: DecodedInst): boolean {
  if (d.mem !== null) return false;
  if (d.exec === "alu") {
    const op = d.opcode >= 0x80 ? d.ext : (d.opcode >> 3) & 7;
    return op !== 2 && op !== 3;
  }
  return d.exec === "test" || (d.exec === "unary" && d.ext === 3);
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
  const selfLoop = last.d.ends && !last.follow && last.d.exec !== "ret" && last.d.form !== "Eq" &&
    last.d.exec !== "call" && last.next + last.d.imm === first;
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
