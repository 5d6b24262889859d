/**
 * The x86-64 decoder of the subset: prefixes, REX, opcode (one- and two-byte
 * maps), ModRM/SIB/displacement and immediate → {@linkcode DecodedInst}.
 * It reads only the bytes it needs and knows opcodes only through the rows
 * of {@linkcode OPCODES} (the one exception is the encoding rule that 90
 * with REX.B is `xchg r8, rax`).
 *
 * @module
 */
import type { DecodedInst, MemOperand } from "./inst.ts";
import { OPCODES, type OpcodeSpec } from "./opcodes.ts";

export type { DecodedInst, MemOperand } from "./inst.ts";

/** The result of {@linkcode decodeAt} when the bytes end before the instruction does. */
export const TRUNCATED = -1;

/** Maximum x86 instruction length. */
export const MAX_INST_LEN = 15;

const ONE: (OpcodeSpec | OpcodeSpec[] | undefined)[] = new Array(256);
const TWO: (OpcodeSpec | OpcodeSpec[] | undefined)[] = new Array(256);
const ROW = new Map<OpcodeSpec, number>();

function indexTable(): void {
  for (const spec of OPCODES) {
    ROW.set(spec, ROW.size);
    const map = spec.opcode > 0xff ? TWO : ONE;
    const b = spec.opcode & 0xff;
    if (spec.ext < 0) {
      map[b] = spec;
    } else {
      let g = map[b];
      if (!Array.isArray(g)) {
        g = new Array(8);
        map[b] = g;
      }
      g[spec.ext] = spec;
    }
  }
}
indexTable();

/**
 * Decodes one instruction of the subset at `bytes[offset]`, reading no
 * further than `end`.
 *
 * @param bytes the code bytes
 * @param offset where the instruction starts
 * @param end one past the last readable byte
 * @returns the instruction, null when it is outside the subset, or
 *   {@linkcode TRUNCATED} when more bytes are needed to tell
 */
export function decodeAt(
  bytes: Uint8Array,
  offset: number,
  end: number,
): DecodedInst | null | typeof TRUNCATED {
  const limit = Math.min(end, offset + MAX_INST_LEN);
  let p = offset;
  let opsize = false;
  let rep = false;
  let rex = 0;
  // Legacy prefixes, then an optional REX immediately before the opcode.
  for (;;) {
    if (p >= limit) return p >= end ? TRUNCATED : null;
    const b = bytes[p];
    if (b === 0x66) opsize = true;
    else if (b === 0xf3) rep = true;
    else if (b === 0x2e || b === 0x3e || b === 0x26 || b === 0x36) {
      // CS/DS/ES/SS overrides are no-ops in 64-bit mode.
    } else break;
    p++;
  }
  if ((bytes[p] & 0xf0) === 0x40) {
    rex = bytes[p++];
    if (p >= limit) return p >= end ? TRUNCATED : null;
  }
  let opcode = bytes[p++];
  let map = ONE;
  if (opcode === 0x0f) {
    if (p >= limit) return p >= end ? TRUNCATED : null;
    opcode = 0x0f00 | bytes[p++];
    map = TWO;
  }
  // 41 90 is xchg eax/rax with r8d/r8, not nop.
  let entry = opcode === 0x90 && (rex & 1) !== 0 ? ONE[0x91] : map[opcode & 0xff];
  if (entry === undefined) return null;
  const rexW = (rex & 8) !== 0;
  const rexR = (rex & 4) << 1;
  const rexX = (rex & 2) << 2;
  const rexB = (rex & 1) << 3;
  let modrm = -1;
  const needsModrm = Array.isArray(entry) || entry.modrm;
  if (needsModrm) {
    if (p >= limit) return p >= end ? TRUNCATED : null;
    modrm = bytes[p++];
    if (Array.isArray(entry)) entry = entry[(modrm >> 3) & 7];
    if (entry === undefined) return null;
  }
  const spec = entry as OpcodeSpec;
  let size: 1 | 2 | 4 | 8;
  if (spec.byte) size = 1;
  else if (spec.d64) size = 8;
  else size = rexW ? 8 : opsize ? 2 : 4;
  // Outside the subset: 16-bit push/pop/branches, rep on non-string ops, REX.B nop (xchg r8).
  if (spec.d64 && opsize) return null;
  if (rep && (spec.f3 === null || (spec.f3 === "pause" && (rex !== 0 || opsize)))) return null;
  let reg = -1;
  let rm = -1;
  let mem: MemOperand | null = null;
  let ext = 0;
  if (modrm >= 0) {
    const mod = modrm >> 6;
    ext = (modrm >> 3) & 7;
    reg = ext | rexR;
    const rmf = modrm & 7;
    if (mod === 3) {
      rm = rmf | rexB;
    } else {
      let base = rmf | rexB;
      let index = -1;
      let scale: 1 | 2 | 4 | 8 = 1;
      let dispBytes = mod === 1 ? 1 : mod === 2 ? 4 : 0;
      let ripRel = false;
      if (rmf === 4) {
        if (p >= limit) return p >= end ? TRUNCATED : null;
        const sib = bytes[p++];
        scale = (1 << (sib >> 6)) as 1 | 2 | 4 | 8;
        const idx = ((sib >> 3) & 7) | rexX;
        if (idx !== 4) index = idx;
        const sbase = sib & 7;
        base = sbase | rexB;
        if (sbase === 5 && mod === 0) {
          base = -1;
          dispBytes = 4;
        }
      } else if (rmf === 5 && mod === 0) {
        base = -1;
        ripRel = true;
        dispBytes = 4;
      }
      if (p + dispBytes > limit) return p + dispBytes > end ? TRUNCATED : null;
      let disp = 0;
      if (dispBytes === 1) disp = (bytes[p] << 24) >> 24;
      else if (dispBytes === 4) {
        disp = bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24);
      }
      p += dispBytes;
      mem = { base, index, scale, disp, ripRel };
    }
    const f = spec.form;
    if (mem !== null && f.startsWith("R")) return null;
    if (((spec.regs >> reg) & 1) === 0) return null;
    if (mem === null && (f === "Gv,M" || f === "M")) return null;
  } else if (spec.form.startsWith("Z")) {
    reg = (opcode & 7) | rexB;
  }
  let imm = 0;
  let immHi = 0;
  let immBytes = 0;
  switch (spec.imm) {
    case "ib":
    case "ub":
    case "rel8":
      immBytes = 1;
      break;
    case "iz":
    case "rel32":
      immBytes = spec.imm === "iz" && size === 2 ? 2 : 4;
      break;
    case "iv":
      immBytes = size;
      break;
  }
  if (p + immBytes > limit) return p + immBytes > end ? TRUNCATED : null;
  if (immBytes === 1) {
    imm = spec.imm === "ub" ? bytes[p] : (bytes[p] << 24) >> 24;
  } else if (immBytes === 2) {
    imm = ((bytes[p] | (bytes[p + 1] << 8)) << 16) >> 16;
  } else if (immBytes >= 4) {
    imm = bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24);
    if (immBytes === 8) {
      immHi = bytes[p + 4] | (bytes[p + 5] << 8) | (bytes[p + 6] << 16) | (bytes[p + 7] << 24);
    }
  }
  if (immBytes !== 8) immHi = imm < 0 ? -1 : 0;
  p += immBytes;
  let mnemonic = spec.mnemonic;
  const sized = spec.sized;
  if (sized !== null) mnemonic = sized[size === 2 ? 0 : size === 4 ? 1 : 2];
  if (rep && spec.f3 === "pause") mnemonic = "pause";
  return {
    len: p - offset,
    opcode,
    mnemonic,
    form: spec.form,
    row: ROW.get(spec)!,
    ends: spec.ends,
    size,
    rex,
    reg,
    ext,
    rm,
    mem,
    imm,
    immHi,
    rep,
  };
}

/**
 * Decodes one instruction of the subset.
 *
 * @param bytes the code bytes
 * @param offset where the instruction starts (default 0)
 * @returns the instruction, or null when it is outside the subset or truncated
 *
 * @example Decoding `add rax, rdx`
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { decode } from "./decode.ts";
 * const d = decode(new Uint8Array([0x48, 0x01, 0xd0]));
 * assertEquals(d?.mnemonic, "add");
 * assertEquals(d?.len, 3);
 * ```
 */
export function decode(bytes: Uint8Array, offset = 0): DecodedInst | null {
  const d = decodeAt(bytes, offset, bytes.length);
  return d === TRUNCATED ? null : d;
}
