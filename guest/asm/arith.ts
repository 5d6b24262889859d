/**
 * Encoding forms of the arithmetic and logic instructions: the eight ALU
 * operations (`00–3B`, `80/81/83 /n`), `test`, the group-3/4/5 one-operand
 * forms (`inc dec not neg mul div idiv imul`), the three `imul` forms and the
 * shifts/rotates (`C0/C1`, `D0–D3 /n`). Each function checks its operands
 * and returns what {@linkcode encode} needs. Private to `guest/`.
 *
 * @module
 */

import { type EncodeSpec, ESCAPE_0F } from "./encoding.ts";
import {
  checkImm,
  fullImm,
  immBytes,
  regRmForm,
  regs,
  rmRegForm,
  sameWidth,
  shortImm,
  signed64,
  widthOf,
} from "./operand_rules.ts";
import type { Imm, Reg, RegMem } from "../operands.ts";

/** An ALU operation. */
export type AluOp = "add" | "or" | "adc" | "sbb" | "and" | "sub" | "xor" | "cmp";
/** ALU operations of the `00–3B` block and `80/81/83 /n`: name → n. */
export const ALU: Readonly<Record<AluOp, number>> = {
  add: 0,
  or: 1,
  adc: 2,
  sbb: 3,
  and: 4,
  sub: 5,
  xor: 6,
  cmp: 7,
};
/** A shift or rotate. */
export type ShiftOp = "rol" | "ror" | "shl" | "shr" | "sar";
/** Shift/rotate `/n` extensions of C0/C1/D0–D3. */
export const SHIFT: Readonly<Record<ShiftOp, number>> = { rol: 0, ror: 1, shl: 4, shr: 5, sar: 7 };
/** A one-operand instruction of {@linkcode UNARY}. */
export type UnaryOp = "inc" | "dec" | "not" | "neg";
/** One-operand `r/m` instructions: their 8-bit and wider opcodes and `/n`. */
export const UNARY: Readonly<Record<UnaryOp, { opcodes: readonly [number, number]; ext: number }>> =
  {
    inc: { opcodes: [0xfe, 0xff], ext: 0 },
    dec: { opcodes: [0xfe, 0xff], ext: 1 },
    not: { opcodes: [0xf6, 0xf7], ext: 2 },
    neg: { opcodes: [0xf6, 0xf7], ext: 3 },
  };
/** A multiply or divide of {@linkcode MULDIV}. */
export type MulDivOp = "mul" | "div" | "idiv";
/** `F7 /n` multiply and divide (rdx:rax by the operand; the subset has no 8-bit F6 form). */
export const MULDIV: Readonly<Record<MulDivOp, number>> = { mul: 4, div: 6, idiv: 7 };

/** The ALU instructions as assembler methods: `op dst, src` (see `guest/ISA.md`). */
export type AluMethods = { readonly [K in AluOp]: (dst: RegMem, src: RegMem | Imm) => void };
/** The shifts as assembler methods: `op dst, count` with an imm8, 1, or `R.cl`. */
export type ShiftMethods = { readonly [K in ShiftOp]: (dst: RegMem, count: Imm | Reg) => void };
/** The one-operand instructions as assembler methods (memory operands need a width). */
export type UnaryMethods = { readonly [K in UnaryOp | MulDivOp]: (operand: RegMem) => void };

const OP_ALU_IMM8 = 0x80;
const OP_ALU_IMM = 0x81;
const OP_ALU_IMM8S = 0x83;
const OP_TEST_RM_R = 0x84;
const OP_GRP3 = 0xf6;
const EXT_TEST = 0;
const EXT_IMUL = 5;
const OP_SHIFT_IMM = 0xc0;
const OP_SHIFT_1 = 0xd0;
const OP_SHIFT_CL = 0xd2;
const OP_IMUL_IMM32 = 0x69;
const OP_IMUL_IMM8 = 0x6b;
const OP2_IMUL = 0xaf;
const CL_CODE = 1;

/**
 * `op r/m, r` (n*8 + 0/1) · `op r, r/m` (n*8 + 2/3) · `op r/m, imm`
 * (80 ib, 83 ib sign-extended when it fits or is forced, else 81 iw/id).
 *
 * @param op the operation
 * @param dst register or memory
 * @param src register, memory or immediate
 * @returns the encoding
 */
export function aluForm(op: AluOp, dst: RegMem, src: RegMem | Imm): EncodeSpec {
  const n = ALU[op];
  if (src.kind === "imm") {
    const w = widthOf(dst);
    src = signed64(src, w);
    if (w === 8) {
      checkImm(src.value, "either8");
      return {
        width: w,
        opcode: [OP_ALU_IMM8],
        reg: n,
        rm: dst,
        byteRegs: regs(dst),
        imm: immBytes(src.value, 1),
      };
    }
    const short = shortImm(src);
    return {
      width: w,
      opcode: [short ? OP_ALU_IMM8S : OP_ALU_IMM],
      reg: n,
      rm: dst,
      imm: short ? immBytes(src.value, 1) : fullImm(src, w),
    };
  }
  const base = n << 3;
  if (src.kind === "reg") return rmRegForm(base, dst, src);
  return regRmForm(base + 2, dst, src, `Cannot encode ${op} with two memory operands`);
}

/**
 * `test r/m, r` (84/85) · `test r/m, imm` (F6/F7 /0).
 *
 * @param dst register or memory
 * @param src register or immediate
 * @returns the encoding
 */
export function testForm(dst: RegMem, src: Reg | Imm): EncodeSpec {
  if (src.kind === "imm") {
    const w = widthOf(dst);
    src = signed64(src, w);
    return {
      width: w,
      opcode: [w === 8 ? OP_GRP3 : OP_GRP3 + 1],
      reg: EXT_TEST,
      rm: dst,
      byteRegs: regs(dst),
      imm: fullImm(src, w),
    };
  }
  return rmRegForm(OP_TEST_RM_R, dst, src);
}

/**
 * `inc`/`dec` (FE/FF /0 /1), `not`/`neg` (F6/F7 /2 /3) · `mul`/`div`/`idiv` (F7 /4 /6 /7).
 *
 * @param op the instruction
 * @param operand register or memory (memory needs a width)
 * @returns the encoding
 */
export function unaryForm(op: UnaryOp | MulDivOp, operand: RegMem): EncodeSpec {
  if (op in MULDIV) return groupF7(MULDIV[op as MulDivOp], operand);
  const w = widthOf(operand);
  const { opcodes, ext } = UNARY[op as UnaryOp];
  return {
    width: w,
    opcode: [w === 8 ? opcodes[0] : opcodes[1]],
    reg: ext,
    rm: operand,
    byteRegs: regs(operand),
  };
}

/** `F7 /ext`: the one-operand multiplies and divides, 16/32/64-bit. */
function groupF7(ext: number, operand: RegMem): EncodeSpec {
  const w = widthOf(operand);
  if (w === 8) throw new TypeError("Cannot encode 8-bit mul/div: the subset has only F7");
  return { width: w, opcode: [OP_GRP3 + 1], reg: ext, rm: operand };
}

/**
 * `imul r/m` (F7 /5) · `imul r, r/m` (0F AF) · `imul r, r/m, imm` (6B ib / 69 iw/id).
 *
 * @param a the one operand, or the destination register
 * @param b the source (two- and three-operand forms)
 * @param c the immediate (three-operand form)
 * @returns the encoding
 */
export function imulForm(a: RegMem, b?: RegMem, c?: Imm): EncodeSpec {
  if (!b) return groupF7(EXT_IMUL, a);
  if (a.kind !== "reg") throw new TypeError("Cannot encode imul: destination must be a register");
  const w = sameWidth(a, b);
  if (w === 8) throw new TypeError("Cannot encode 8-bit imul: not in the subset");
  if (!c) return { width: w, opcode: [ESCAPE_0F, OP2_IMUL], reg: a.code, rm: b };
  c = signed64(c, w);
  const short = shortImm(c);
  return {
    width: w,
    opcode: [short ? OP_IMUL_IMM8 : OP_IMUL_IMM32],
    reg: a.code,
    rm: b,
    imm: short ? immBytes(c.value, 1) : fullImm(c, w),
  };
}

/**
 * `op r/m, imm8` (C0/C1) · `op r/m, 1` (D0/D1, unless the immediate is
 * forced to 8 bits) · `op r/m, cl` (D2/D3).
 *
 * @param op the shift or rotate
 * @param dst register or memory
 * @param count immediate or `R.cl`
 * @returns the encoding
 */
export function shiftForm(op: ShiftOp, dst: RegMem, count: Imm | Reg): EncodeSpec {
  const w = widthOf(dst);
  const wide = w === 8 ? 0 : 1;
  const base = { width: w, reg: SHIFT[op], rm: dst, byteRegs: regs(dst) };
  if (count.kind === "reg") {
    if (count.code !== CL_CODE || count.width !== 8) {
      throw new TypeError(`Cannot shift by "${count.name}": only cl`);
    }
    return { ...base, opcode: [OP_SHIFT_CL + wide] };
  }
  checkImm(count.value, "unsigned8");
  if (count.value === 1n && count.width === undefined) {
    return { ...base, opcode: [OP_SHIFT_1 + wide] };
  }
  return { ...base, opcode: [OP_SHIFT_IMM + wide], imm: immBytes(count.value, 1) };
}
