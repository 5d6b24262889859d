/**
 * The assembler's operand rules: operand sizes (inferred, matched, or taken
 * from a memory operand's width), which byte registers need REX, and the
 * ranges and encodings of immediates. Private to `guest/`.
 *
 * @module
 */

import { type EncodeSpec, fitsEither, fitsSigned, le } from "./encoding.ts";
import type { Imm, Reg, RegMem, Width } from "../operands.ts";

/**
 * The registers among `ops` (for {@linkcode EncodeSpec.byteRegs}).
 *
 * @param ops register or memory operands
 * @returns the registers
 */
export function regs(...ops: RegMem[]): Reg[] {
  return ops.filter((o): o is Reg => o.kind === "reg");
}

/**
 * Width of an r/m operand; memory without a width takes `fallback` or is an error.
 *
 * @param op the operand
 * @param fallback the width of a memory operand that has none
 * @returns the width
 */
export function widthOf(op: RegMem, fallback?: Width): Width {
  if (op.kind === "reg") return op.width;
  const w = op.width ?? fallback;
  if (w === undefined) {
    throw new TypeError("Cannot infer the operand size: give the memory operand a width");
  }
  return w;
}

/**
 * The common width of two operands (one may be memory without a width).
 *
 * @param a first operand
 * @param b second operand
 * @returns the width
 */
export function sameWidth(a: RegMem, b: RegMem): Width {
  const wa = a.width;
  const wb = b.width;
  const w = wa ?? wb;
  if (w === undefined) throw new TypeError("Cannot infer the operand size");
  if ((wa !== undefined && wa !== w) || (wb !== undefined && wb !== w)) {
    throw new TypeError(`Cannot mix operand sizes ${wa} and ${wb}`);
  }
  return w;
}

/** The ranges an immediate field accepts ("either": signed or unsigned reading). */
export type ImmRange = "signed8" | "unsigned8" | "either8" | "signed32" | "either32" | "either64";

/**
 * Throws a `RangeError` unless `value` fits `range`.
 *
 * @param value the immediate
 * @param range the field's range
 */
export function checkImm(value: bigint, range: ImmRange): void {
  const ok = {
    signed8: () => fitsSigned(value, 8),
    unsigned8: () => value >= 0n && value < 256n,
    either8: () => fitsEither(value, 8),
    signed32: () => fitsSigned(value, 32),
    either32: () => fitsEither(value, 32),
    either64: () => fitsEither(value, 64),
  }[range]();
  if (!ok) throw new RangeError(`Cannot encode immediate ${value}: out of range (${range})`);
}

/**
 * For 64-bit operations, reads an immediate in [2^63, 2^64) as the negative
 * value with the same bits, so `0xffff…f000` encodes as a sign-extended imm.
 *
 * @param src the immediate
 * @param w the operation's width
 * @returns the immediate to encode
 */
export function signed64(src: Imm, w: Width): Imm {
  if (w !== 64 || !fitsEither(src.value, 64)) return src;
  return { ...src, value: BigInt.asIntN(64, src.value) };
}

/**
 * Little-endian bytes of an immediate field.
 *
 * @param value the value
 * @param size the field's size in bytes
 * @returns the bytes
 */
export function immBytes(value: bigint, size: number): Uint8Array {
  return new Uint8Array(le(value, size));
}

/**
 * Whether an `op r/m, imm` takes the sign-extended imm8 form: the immediate
 * is forced to 8 bits, or is not forced and fits.
 *
 * @param src the immediate
 * @returns true for imm8
 */
export function shortImm(src: Imm): boolean {
  const short = src.width === 8 || (src.width === undefined && fitsSigned(src.value, 8));
  if (short) checkImm(src.value, "signed8");
  return short;
}

/**
 * The full-size immediate of an operation of width `w`: ib, iw, id, or id sign-extended to 64.
 *
 * @param src the immediate
 * @param w the operation's width
 * @returns the bytes
 */
export function fullImm(src: Imm, w: Width): Uint8Array {
  switch (w) {
    case 8:
      checkImm(src.value, "either8");
      return immBytes(src.value, 1);
    case 16:
      if (!fitsEither(src.value, 16)) {
        throw new RangeError(`Cannot encode immediate ${src.value}: not a 16-bit value`);
      }
      return immBytes(src.value, 2);
    case 32:
      checkImm(src.value, "either32");
      return immBytes(src.value, 4);
    case 64:
      checkImm(src.value, "signed32");
      return immBytes(src.value, 4);
  }
}

/**
 * The `op r/m, r` form of an instruction whose 8-bit opcode is `op8` and
 * 16/32/64-bit opcode `op8 + 1` (mov 88, ALU n*8, test 84).
 *
 * @param op8 the 8-bit opcode
 * @param dst register or memory
 * @param src register
 * @returns the encoding
 */
export function rmRegForm(op8: number, dst: RegMem, src: Reg): EncodeSpec {
  const w = sameWidth(dst, src);
  return {
    width: w,
    opcode: [w === 8 ? op8 : op8 + 1],
    reg: src.code,
    rm: dst,
    byteRegs: regs(dst, src),
  };
}

/**
 * The `op r, r/m` form, opcodes as for {@linkcode rmRegForm} (mov 8A, ALU n*8+2).
 *
 * @param op8 the 8-bit opcode
 * @param dst register (memory is the error `twoMemory`)
 * @param src register or memory
 * @param twoMemory the message when both operands are memory
 * @returns the encoding
 */
export function regRmForm(op8: number, dst: RegMem, src: RegMem, twoMemory: string): EncodeSpec {
  if (dst.kind !== "reg") throw new TypeError(twoMemory);
  // The same fields as `op r/m, r` with the roles swapped: ModRM.reg names dst.
  return rmRegForm(op8, src, dst);
}
