/**
 * Encoding forms of the data-movement instructions: `mov` (register,
 * memory, immediate, label address, control register), `movzx`/`movsx`/
 * `movsxd`, `lea`, `xchg`, `push` and `pop`. Each function checks its
 * operands and returns what {@linkcode encode} needs. Private to `guest/`.
 *
 * @module
 */

import { encode, type EncodeSpec, ESCAPE_0F, fitsSigned, le } from "./encoding.ts";
import type { Item } from "./layout.ts";
import {
  checkImm,
  fullImm,
  immBytes,
  regRmForm,
  regs,
  rmRegForm,
  sameWidth,
  signed64,
  widthOf,
} from "./operand_rules.ts";
import type { ControlReg, Imm, LabelImm, Mem, Reg, RegMem } from "../operands.ts";

const OP_MOV_RM_R = 0x88;
const OP_MOV_R_RM = 0x8a;
const OP_MOV_R_IMM = 0xb8;
const OP_MOV_RM_IMM = 0xc6;
const OP_MOVSXD = 0x63;
const OP_LEA = 0x8d;
const OP_XCHG = 0x87;
const OP_PUSH_R = 0x50;
const OP_POP_R = 0x58;
const OP_PUSH_IMM32 = 0x68;
const OP2_MOV_R_CR = 0x20;
const OP2_MOV_CR_R = 0x22;
const OP2_MOVZX8 = 0xb6;
const OP2_MOVZX16 = 0xb7;
const OP2_MOVSX8 = 0xbe;
const OP2_MOVSX16 = 0xbf;
/** Where `mov r64, imm64` (REX.W B8+r) keeps its immediate. */
const MOV_IMM64_AT = 2;

/**
 * `mov`: `r/m, r` (88/89) · `r, r/m` (8A/8B) · `r, imm` (B8+r, or C7 /0 for a
 * 64-bit register and a sign-extended imm32, C6 /0 for 8-bit) · `r/m, imm`
 * (C6/C7 /0). A label address is {@linkcode movLabelAddress}, a control
 * register {@linkcode movCrForm}.
 *
 * @param dst destination
 * @param src source
 * @returns the encoding
 */
export function movForm(dst: RegMem, src: RegMem | Imm): EncodeSpec {
  if (src.kind === "imm") {
    const w = widthOf(dst);
    src = signed64(src, w);
    if (dst.kind === "reg" && (w === 32 || w === 64)) {
      // B8+r carries imm32 (32-bit) or imm64 (64-bit, only when the value needs it or is forced).
      const wide = w === 64 && (src.width === 64 || !fitsSigned(src.value, 32));
      if (w === 32 || wide) {
        checkImm(src.value, w === 32 ? "either32" : "either64");
        return {
          width: w,
          opcode: [OP_MOV_R_IMM],
          opReg: dst.code,
          imm: immBytes(src.value, w === 32 ? 4 : 8),
        };
      }
    }
    return {
      width: w,
      opcode: [w === 8 ? OP_MOV_RM_IMM : OP_MOV_RM_IMM + 1],
      reg: 0,
      rm: dst,
      byteRegs: regs(dst),
      imm: fullImm(src, w),
    };
  }
  if (src.kind === "reg") return rmRegForm(OP_MOV_RM_R, dst, src);
  return regRmForm(OP_MOV_R_RM, dst, src, "Cannot move memory to memory");
}

/**
 * `mov r64, imm64` of a label's address (REX.W B8+r), patched at assembly.
 *
 * @param dst the 64-bit register
 * @param ref the label and addend
 * @returns the program item
 */
export function movLabelAddress(dst: RegMem, ref: LabelImm): Item {
  if (dst.kind !== "reg" || dst.width !== 64) {
    throw new TypeError("Cannot load a label address: destination must be a 64-bit register");
  }
  const enc = encode({
    width: 64,
    opcode: [OP_MOV_R_IMM],
    opReg: dst.code,
    imm: new Uint8Array(8),
  });
  return {
    kind: "fixup",
    bytes: enc.bytes,
    patch: (out, _addr, resolve) => out.set(le(resolve(ref.label) + ref.addend, 8), MOV_IMM64_AT),
  };
}

/**
 * `mov r64, crN` (0F 20) · `mov crN, r64` (0F 22).
 *
 * @param dst a control register or a 64-bit register
 * @param src a 64-bit register or a control register
 * @returns the encoding
 */
export function movCrForm(
  dst: RegMem | ControlReg,
  src: RegMem | Imm | LabelImm | ControlReg,
): EncodeSpec {
  if (dst.kind === "cr" && src.kind === "reg" && src.width === 64) {
    return { width: null, opcode: [ESCAPE_0F, OP2_MOV_CR_R], reg: dst.code, rm: src };
  }
  if (src.kind === "cr" && dst.kind === "reg" && dst.width === 64) {
    return { width: null, opcode: [ESCAPE_0F, OP2_MOV_R_CR], reg: src.code, rm: dst };
  }
  throw new TypeError("Cannot encode mov with a control register: needs a 64-bit register");
}

/**
 * `movzx r, r/m8|16` (0F B6/B7) · `movsx r, r/m8|16` (0F BE/BF).
 *
 * @param signed true for movsx
 * @param dst 16/32/64-bit register, wider than the source
 * @param src 8- or 16-bit register or memory (memory needs a width)
 * @returns the encoding
 */
export function extendForm(signed: boolean, dst: Reg, src: RegMem): EncodeSpec {
  const sw = widthOf(src);
  if (sw !== 8 && sw !== 16) throw new TypeError("Cannot extend: source must be 8 or 16 bits");
  if (dst.width === 8 || dst.width <= sw) {
    throw new TypeError(`Cannot extend into "${dst.name}": must be wider than the source`);
  }
  const [op8, op16] = signed ? [OP2_MOVSX8, OP2_MOVSX16] : [OP2_MOVZX8, OP2_MOVZX16];
  return {
    width: dst.width,
    opcode: [ESCAPE_0F, sw === 8 ? op8 : op16],
    reg: dst.code,
    rm: src,
    byteRegs: regs(src),
  };
}

/**
 * `movsxd r64, r/m32` (REX.W 63).
 *
 * @param dst 64-bit register
 * @param src 32-bit register or memory
 * @returns the encoding
 */
export function movsxdForm(dst: Reg, src: RegMem): EncodeSpec {
  if (dst.width !== 64 || widthOf(src, 32) !== 32) {
    throw new TypeError("Cannot encode movsxd: needs r64, r/m32");
  }
  return { width: 64, opcode: [OP_MOVSXD], reg: dst.code, rm: src };
}

/**
 * `lea r, m` (8D).
 *
 * @param dst 16/32/64-bit register
 * @param src memory operand
 * @returns the encoding
 */
export function leaForm(dst: Reg, src: Mem): EncodeSpec {
  if (dst.width === 8) throw new TypeError("Cannot encode lea with an 8-bit register");
  return { width: dst.width, opcode: [OP_LEA], reg: dst.code, rm: src };
}

/**
 * `xchg r/m, r` (87), 16/32/64-bit.
 *
 * @param dst register or memory
 * @param src register
 * @returns the encoding
 */
export function xchgForm(dst: RegMem, src: Reg): EncodeSpec {
  const w = sameWidth(dst, src);
  if (w === 8) throw new TypeError("Cannot encode 8-bit xchg: not in the subset");
  return { width: w, opcode: [OP_XCHG], reg: src.code, rm: dst };
}

/**
 * `push r64` (50+r) · `push imm32` (68, sign-extended to 64).
 *
 * @param src 64-bit register or immediate
 * @returns the encoding
 */
export function pushForm(src: Reg | Imm): EncodeSpec {
  if (src.kind === "imm") {
    checkImm(src.value, "signed32");
    return { width: null, opcode: [OP_PUSH_IMM32], imm: immBytes(src.value, 4) };
  }
  if (src.width !== 64) throw new TypeError(`Cannot push "${src.name}": only 64-bit registers`);
  return { width: null, opcode: [OP_PUSH_R], opReg: src.code };
}

/**
 * `pop r64` (58+r).
 *
 * @param dst 64-bit register
 * @returns the encoding
 */
export function popForm(dst: Reg): EncodeSpec {
  if (dst.width !== 64) throw new TypeError(`Cannot pop "${dst.name}": only 64-bit registers`);
  return { width: null, opcode: [OP_POP_R], opReg: dst.code };
}
