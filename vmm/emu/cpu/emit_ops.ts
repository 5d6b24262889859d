/**
 * The compiled handlers of the opcode table (`opcodes.ts`): each emits the
 * JavaScript of one instruction into a block through the {@linkcode Emitter}.
 * A row names its handler (or the factory call that specialises one, e.g.
 * `emitAlu(op)`), so nothing here switches on opcode numbers.
 *
 * Every handler does everything that can fail (address translation, #GP/#DE
 * checks) before it commits anything, so an exit leaves the architectural
 * state at the instruction boundary.
 *
 * @module
 */
import type { DecodedInst } from "./inst.ts";
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
import { canonicalNum, type Emitter, lit, splitNum, type Val } from "./emitter.ts";

/** A compiled handler: emits the code of `d` at the emitter's current instruction. */
export type EmitFn = (e: Emitter, d: DecodedInst) => void;

const ALU_LAZY_OP = [OP_ADD, OP_LOGIC, OP_ADC, OP_SBB, OP_LOGIC, OP_SUB, OP_LOGIC, OP_SUB];

/**
 * The ALU operation `op` (0 add … 7 cmp, the `ALU_NAMES` order) in any of
 * its forms: `E,G`, `G,E`, `AL/rAX,I` and `E,I`.
 *
 * @param op the operation
 * @returns the handler
 */
export function emitAlu(op: number): EmitFn {
  return (e, d) => {
    const size = d.size;
    const f = d.form;
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
  };
}

/** `test` in its forms `E,G`, `E,I` and `AL/rAX,I`. */
export function emitTest(e: Emitter, d: DecodedInst): void {
  const size = d.size;
  const f = d.form;
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
}

/** `mov` in its forms `Z,I`, `E,I`, `E,G` and `G,E`. */
export function emitMov(e: Emitter, d: DecodedInst): void {
  const size = d.size;
  const f = d.form;
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
}

/**
 * movzx/movsx/movsxd: load `srcSize` bytes and extend them into G.
 *
 * @param srcSize source operand size in bytes
 * @param signed sign- (true) or zero-extend
 * @returns the handler
 */
export function emitMovx(srcSize: 1 | 2 | 4, signed: boolean): EmitFn {
  return (e, d) => {
    const size = d.size;
    const v = e.readE(d, srcSize, false).v;
    const l = e.t("x");
    if (signed && srcSize < 4) {
      const sh = 32 - srcSize * 8;
      e.emit(`const ${l} = (${v.l} << ${sh}) >> ${sh};`);
    } else e.emit(`const ${l} = ${v.l};`);
    const h = signed ? `(${l} >> 31)` : "0";
    e.regWrite(d.reg, size, d.rex, { l: size === 2 ? `(${l} & 65535)` : l, h });
  };
}

/** `lea G, M`. */
export function emitLea(e: Emitter, d: DecodedInst): void {
  const size = d.size;
  const a = e.ea(d);
  e.regWrite(d.reg, size, d.rex, size === 2 ? { l: `(${a.l} & 65535)`, h: "0" } : a);
}

/** `xchg` with rAX (`Z,rAX`) or between E and G. */
export function emitXchg(e: Emitter, d: DecodedInst): void {
  const size = d.size;
  if (d.form === "Zv,rAX") {
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
}

/** `push` of a register (`Zq`) or an immediate. */
export function emitPush(e: Emitter, d: DecodedInst): void {
  if (d.form === "Zq") e.push(e.capture(e.regRead(d.reg, 8, d.rex), 8));
  else e.push(e.imm(d, 8));
}

/** `pop` into a register. */
export function emitPop(e: Emitter, d: DecodedInst): void {
  const v = e.load({ l: "r[8]", h: "r[9]" }, 8);
  const s = e.t("p");
  e.emit(`const ${s} = (r[8] >>> 0) + 8;`);
  e.emit(`r[8] = ${s} | 0; r[9] = (r[9] + (${s} > 4294967295 ? 1 : 0)) | 0;`);
  e.regWrite(d.reg, 8, d.rex, v);
}

/**
 * Truncating `imul G, E` (`withImm` false) or `imul G, E, I`.
 *
 * @param withImm the second factor is the immediate
 * @returns the handler
 */
export function emitImul(withImm: boolean): EmitFn {
  return (e, d) => {
    const size = d.size;
    const a = e.readE(d, size, false).v;
    const b = withImm ? e.imm(d, size) : e.regRead(d.reg, size, d.rex);
    e.emit(`c.imul(${size}, ${a.l}, ${a.h}, ${b.l}, ${b.h});`);
    e.regWrite(d.reg, size, d.rex, { l: "c.out[0]", h: "c.out[1]" });
    e.flags = { op: OP_EAGER, size: 8 };
  };
}

/** The shift group (rol/ror/shl/shr/sar by ModRM.reg) by 1, CL or an immediate. */
export function emitShift(e: Emitter, d: DecodedInst): void {
  const size = d.size;
  const f = d.form;
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

/** `not E` (no flags). */
export function emitNot(e: Emitter, d: DecodedInst): void {
  const size = d.size;
  const { v, a } = e.readE(d, size, true);
  const m = size === 8 || size === 4 ? "" : ` & ${size === 2 ? 65535 : 255}`;
  e.writeE(d, size, a, { l: `(~${v.l}${m})`, h: size === 8 ? `(~${v.h})` : "0" });
}

/** `neg E`: 0 - E with sub's flags. */
export function emitNeg(e: Emitter, d: DecodedInst): void {
  const size = d.size;
  const { v, a } = e.readE(d, size, true);
  const zero = { l: "0", h: "0" };
  const res = e.arith(5, size, zero, v, "0");
  e.writeE(d, size, a, res);
  e.setFlags(OP_SUB, size, zero, v, res);
}

/**
 * One-operand `mul`/`imul` of rAX by E (into rDX:rAX).
 *
 * @param signed imul
 * @returns the handler
 */
export function emitMul(signed: boolean): EmitFn {
  return (e, d) => {
    const v = e.readE(d, d.size, false).v;
    e.emit(`c.mul(${signed}, ${d.size}, ${v.l}, ${v.h});`);
    e.flags = { op: OP_EAGER, size: 8 };
  };
}

/**
 * `div`/`idiv` of rDX:rAX by E (#DE leaves the block before any commit).
 *
 * @param signed idiv
 * @returns the handler
 */
export function emitDiv(signed: boolean): EmitFn {
  return (e, d) => {
    const v = e.readE(d, d.size, false).v;
    e.emit(`if (!c.div(${signed}, ${d.size}, ${v.l}, ${v.h}, ${lit(e.rip)})) ${e.abort()}`);
  };
}

/**
 * `inc E` or `dec E` (CF kept: it is the record's carry-in).
 *
 * @param dec dec rather than inc
 * @returns the handler
 */
export function emitIncDec(dec: boolean): EmitFn {
  return (e, d) => {
    const size = d.size;
    const { v, a } = e.readE(d, size, true);
    const ci = e.carryIn();
    const one = { l: "1", h: "0" };
    const res = e.arith(dec ? 5 : 0, size, v, one, "0");
    e.writeE(d, size, a, res);
    e.setFlags(dec ? OP_DEC : OP_INC, size, v, one, res, ci);
  };
}

/** cbw/cwde/cdqe: sign-extend the lower half of rAX into rAX. */
export function emitSignExtendAcc(e: Emitter, d: DecodedInst): void {
  if (d.size === 2) e.emit(`r[0] = (r[0] & -65536) | (((r[0] << 24) >> 24) & 65535);`);
  else if (d.size === 4) e.emit(`r[0] = (r[0] << 16) >> 16; r[1] = 0;`);
  else e.emit(`r[1] = r[0] >> 31;`);
}

/** cwd/cdq/cqo: rDX = the sign of rAX. */
export function emitSignIntoDx(e: Emitter, d: DecodedInst): void {
  if (d.size === 2) e.emit(`r[4] = (r[4] & -65536) | (((r[0] << 16) >> 31) & 65535);`);
  else if (d.size === 4) e.emit(`r[4] = r[0] >> 31; r[5] = 0;`);
  else e.emit(`r[4] = r[1] >> 31; r[5] = r[4];`);
}

/** `nop` and `pause`: nothing. */
export function emitNop(): void {}

/** `jmp rel`: nothing when the block follows it, else leave (or loop) to the target. */
export function emitJmpRel(e: Emitter, d: DecodedInst): void {
  if (!e.follow) e.jumpTo(e.next + d.imm);
}

/** `jmp E` (64-bit target in a register or memory). */
export function emitJmpIndirect(e: Emitter, d: DecodedInst): void {
  const t = e.readE(d, 8, false).v;
  e.checkTarget(t);
  e.emit(`c.rip = ${t.h} * 4294967296 + (${t.l} >>> 0); return n + ${e.k + 1};`);
}

/**
 * `jcc rel` on condition `cc` (the low nibble of the opcode).
 *
 * @param cc the condition code
 * @returns the handler
 */
export function emitJcc(cc: number): EmitFn {
  return (e, d) => {
    e.emit(`if (${e.cond(cc)}) {`);
    e.jumpTo(e.next + d.imm);
    e.emit(`}`);
    e.emit(`c.rip = ${lit(e.next)}; return n + ${e.k + 1};`);
  };
}

/** `loop rel`: decrement rcx, branch while non-zero. */
export function emitLoop(e: Emitter, d: DecodedInst): void {
  const s = e.t("q");
  e.emit(`const ${s} = (r[2] >>> 0) - 1;`);
  e.emit(`r[2] = ${s} | 0; r[3] = (r[3] - (${s} < 0 ? 1 : 0)) | 0;`);
  e.emit(`if ((r[2] | r[3]) !== 0) {`);
  e.jumpTo(e.next + d.imm);
  e.emit(`}`);
  e.emit(`c.rip = ${lit(e.next)}; return n + ${e.k + 1};`);
}

/** `call rel`: push the return address, then follow or leave to the target. */
export function emitCallRel(e: Emitter, d: DecodedInst): void {
  const [nl, nh] = splitNum(e.next);
  const target = e.next + d.imm;
  if (!canonicalNum(target)) {
    e.jumpTo(target);
    return;
  }
  e.push({ l: lit(nl), h: lit(nh) });
  if (!e.follow) e.jumpTo(target);
}

/** `call E` (64-bit target in a register or memory). */
export function emitCallIndirect(e: Emitter, d: DecodedInst): void {
  const [nl, nh] = splitNum(e.next);
  const t = e.readE(d, 8, false).v;
  e.checkTarget(t);
  e.push({ l: lit(nl), h: lit(nh) });
  e.emit(`c.rip = ${t.h} * 4294967296 + (${t.l} >>> 0); return n + ${e.k + 1};`);
}

/** `ret`: pop the target, #GP if non-canonical. */
export function emitRet(e: Emitter): void {
  const t = e.load({ l: "r[8]", h: "r[9]" }, 8);
  e.checkTarget(t);
  const s = e.t("p");
  e.emit(`const ${s} = (r[8] >>> 0) + 8;`);
  e.emit(`r[8] = ${s} | 0; r[9] = (r[9] + (${s} > 4294967295 ? 1 : 0)) | 0;`);
  e.emit(`c.rip = ${t.h} * 4294967296 + (${t.l} >>> 0); return n + ${e.k + 1};`);
}
