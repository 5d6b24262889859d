/**
 * Instruction encoding internals of the assembler: prefixes, REX, ModRM, SIB,
 * displacements and immediates. Private to `guest/`.
 *
 * @module
 */

import type { Mem, Reg, RegMem, Width } from "../operands.ts";

/** Operand-size override prefix (16-bit operands). */
export const PREFIX_OPSIZE = 0x66;
/** REP prefix (also the first byte of `pause`). */
export const PREFIX_REP = 0xf3;
/** Two-byte opcode escape. */
export const ESCAPE_0F = 0x0f;

const REX_BASE = 0x40;
const REX_W = 0x08;
const REX_R = 0x04;
const REX_X = 0x02;
const REX_B = 0x01;

const MOD_INDIRECT = 0;
const MOD_DISP8 = 1;
const MOD_DISP32 = 2;
const MOD_REG = 3;
/** rm = 100 selects a SIB byte; as a SIB index it means "no index". */
const RM_SIB = 4;
/** rm = 101 with mod 00 is RIP-relative; as a SIB base with mod 00 it means "no base, disp32". */
const RM_DISP32 = 5;
const SCALE_BITS: Record<1 | 2 | 4 | 8, number> = { 1: 0, 2: 1, 4: 2, 8: 3 };

/** What one instruction needs encoded. */
export interface EncodeSpec {
  /** Operand width: 16 adds 0x66, 64 adds REX.W; `null` for instructions without either. */
  width: Width | null;
  /** Legacy prefixes that go before 0x66 and REX (e.g. F3). */
  prefixes?: readonly number[];
  /** Opcode bytes (including 0F). For `+r` forms, the register goes into `opReg`. */
  opcode: readonly number[];
  /** The ModRM reg field (a register code 0–15 or an opcode extension /0–/7). */
  reg?: number;
  /** The ModRM r/m operand; absent for instructions without ModRM. */
  rm?: RegMem;
  /** A register encoded in the low 3 bits of the last opcode byte (B8+r, 50+r). */
  opReg?: number;
  /** Byte registers in any position: spl/bpl/sil/dil need a REX prefix. */
  byteRegs?: readonly Reg[];
  /** Immediate bytes after ModRM/SIB/displacement. */
  imm?: Uint8Array;
}

/** An encoded instruction. */
export interface Encoded {
  bytes: Uint8Array;
  /** Offset of a RIP-relative disp32 field to patch when the operand names a label. */
  ripDispAt?: number;
}

/**
 * Encodes the ModRM byte, optional SIB and displacement for `reg` and `rm`.
 *
 * @returns the bytes, the REX.R/X/B bits they need and where a rip disp32 sits
 */
function encodeModRM(
  reg: number,
  rm: RegMem,
): { bytes: number[]; rex: number; ripDispAt?: number } {
  let rex = reg & 8 ? REX_R : 0;
  const regBits = (reg & 7) << 3;
  if (rm.kind === "reg") {
    if (rm.code & 8) rex |= REX_B;
    return { bytes: [(MOD_REG << 6) | regBits | (rm.code & 7)], rex };
  }
  const m: Mem = rm;
  if (m.rip) {
    return {
      bytes: [(MOD_INDIRECT << 6) | regBits | RM_DISP32, ...le(BigInt(m.disp), 4)],
      rex,
      ripDispAt: 1,
    };
  }
  if (!m.base) {
    // [index*scale + disp32] or [disp32]: SIB with base 101 and mod 00 means "no base".
    const index = m.index ? m.index.code : RM_SIB;
    if (index & 8) rex |= REX_X;
    const sib = (SCALE_BITS[m.scale] << 6) | ((index & 7) << 3) | RM_DISP32;
    return {
      bytes: [(MOD_INDIRECT << 6) | regBits | RM_SIB, sib, ...le(BigInt(m.disp), 4)],
      rex,
    };
  }
  const base = m.base.code;
  if (base & 8) rex |= REX_B;
  // rbp/r13 as a base with mod 00 would mean rip/disp32, so they always carry a displacement.
  let mod: number;
  if (m.disp === 0 && (base & 7) !== RM_DISP32) mod = MOD_INDIRECT;
  else if (m.disp >= -128 && m.disp <= 127) mod = MOD_DISP8;
  else mod = MOD_DISP32;
  const out: number[] = [];
  // rsp/r12 as a base (rm = 100) needs a SIB byte; so does any index.
  if (m.index || (base & 7) === RM_SIB) {
    const index = m.index ? m.index.code : RM_SIB;
    if (index & 8) rex |= REX_X;
    out.push((mod << 6) | regBits | RM_SIB);
    out.push((SCALE_BITS[m.scale] << 6) | ((index & 7) << 3) | (base & 7));
  } else {
    out.push((mod << 6) | regBits | (base & 7));
  }
  if (mod === MOD_DISP8) out.push(...le(BigInt(m.disp), 1));
  if (mod === MOD_DISP32) out.push(...le(BigInt(m.disp), 4));
  return { bytes: out, rex };
}

/**
 * Encodes one instruction from its parts.
 *
 * @param spec prefixes, opcode, operands and immediate
 * @returns the bytes and the position of a RIP-relative displacement
 */
export function encode(spec: EncodeSpec): Encoded {
  const out: number[] = [...(spec.prefixes ?? [])];
  if (spec.width === 16) out.push(PREFIX_OPSIZE);
  let rex = spec.width === 64 ? REX_W : 0;
  let forceRex = false;
  for (const r of spec.byteRegs ?? []) {
    // Without REX, byte register codes 4–7 are ah/ch/dh/bh, not spl/bpl/sil/dil.
    if (r.width === 8 && r.code >= 4) forceRex = true;
  }
  const opcode = [...spec.opcode];
  if (spec.opReg !== undefined) {
    if (spec.opReg & 8) rex |= REX_B;
    opcode[opcode.length - 1] += spec.opReg & 7;
  }
  let modrm: number[] = [];
  let ripDispAt: number | undefined;
  if (spec.rm) {
    const m = encodeModRM(spec.reg ?? 0, spec.rm);
    rex |= m.rex;
    modrm = m.bytes;
    if (m.ripDispAt !== undefined) ripDispAt = m.ripDispAt;
  }
  if (rex || forceRex) out.push(REX_BASE | rex);
  out.push(...opcode);
  if (ripDispAt !== undefined) ripDispAt += out.length;
  out.push(...modrm);
  const bytes = new Uint8Array(out.length + (spec.imm?.length ?? 0));
  bytes.set(out);
  if (spec.imm) bytes.set(spec.imm, out.length);
  return { bytes, ripDispAt };
}

/**
 * Little-endian two's-complement bytes of `value`.
 *
 * @param value the value (negative values wrap)
 * @param size number of bytes
 * @returns the bytes
 */
export function le(value: bigint, size: number): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(size * 8, value);
  for (let i = 0; i < size; i++) {
    out.push(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

/** Whether `value` fits a signed field of `bits` bits. */
export function fitsSigned(value: bigint, bits: number): boolean {
  const half = 1n << BigInt(bits - 1);
  return value >= -half && value < half;
}

/** Whether `value` fits a field of `bits` bits read as signed or unsigned. */
export function fitsEither(value: bigint, bits: number): boolean {
  return value >= -(1n << BigInt(bits - 1)) && value < (1n << BigInt(bits));
}
