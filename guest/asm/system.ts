/**
 * Encoding forms of control flow (`jmp`, `jcc`, `call`, `ret`, `loop`), port
 * I/O (`in`, `out`), system instructions (`invlpg`, MSRs, `cpuid`, …) and
 * every instruction without operands, as one table. Private to `guest/`.
 *
 * @module
 */

import { type EncodeSpec, ESCAPE_0F, PREFIX_REP } from "./encoding.ts";
import { checkImm, immBytes, widthOf } from "./operand_rules.ts";
import { type Cond, CONDITIONS, type Imm, type Mem, type Reg, type RegMem } from "../operands.ts";

/** The opcodes of a branch to a label: its rel8 and rel32 forms (null: none). */
export interface BranchOpcodes {
  /** Opcode bytes before a rel8, or null. */
  short: number[] | null;
  /** Opcode bytes before a rel32, or null. */
  near: number[] | null;
}

const OP_JCC8 = 0x70;
const OP2_JCC32 = 0x80;
const OP_LOOP = 0xe2;
const OP_CALL = 0xe8;
const OP_JMP32 = 0xe9;
const OP_JMP8 = 0xeb;
const OP_GRP5 = 0xff;
const EXT_CALL_RM = 2;
const EXT_JMP_RM = 4;
const OP_IN_IMM = 0xe4;
const OP_OUT_IMM = 0xe6;
const OP_IN_DX = 0xec;
const OP_OUT_DX = 0xee;
const OP2_GRP7 = 0x01;
const EXT_INVLPG = 7;
const DX_CODE = 2;

/** Branches to a label: `jmp` (EB/E9), `call` (E8, rel32 only), `loop` (E2, rel8 only). */
export const BRANCHES: Readonly<Record<"jmp" | "call" | "loop", BranchOpcodes>> = {
  jmp: { short: [OP_JMP8], near: [OP_JMP32] },
  call: { short: null, near: [OP_CALL] },
  loop: { short: [OP_LOOP], near: null },
};

/**
 * `jcc rel8/rel32` (70+cc / 0F 80+cc).
 *
 * @param cond the condition
 * @returns its opcodes
 */
export function jccOpcodes(cond: Cond): BranchOpcodes {
  const cc = CONDITIONS[cond];
  if (cc === undefined) throw new RangeError(`Cannot encode jcc: unknown condition "${cond}"`);
  return { short: [OP_JCC8 + cc], near: [ESCAPE_0F, OP2_JCC32 + cc] };
}

/**
 * `jmp r/m64` (FF /4) · `call r/m64` (FF /2).
 *
 * @param kind which branch
 * @param target a 64-bit register or memory operand
 * @returns the encoding
 */
export function indirectForm(kind: "jmp" | "call", target: RegMem): EncodeSpec {
  if (widthOf(target, 64) !== 64) {
    throw new TypeError("Cannot branch through a register or memory that is not 64-bit");
  }
  return {
    width: null,
    opcode: [OP_GRP5],
    reg: kind === "jmp" ? EXT_JMP_RM : EXT_CALL_RM,
    rm: target,
  };
}

/**
 * `in al/ax/eax, dx` (EC/ED) · `in al/eax, imm8` (E4/E5) · `out dx, …` (EE/EF) · `out imm8, …` (E6/E7).
 *
 * @param dir `in` or `out`
 * @param acc `R.al`, `R.ax` or `R.eax`
 * @param port `R.dx` or an 8-bit port number
 * @returns the encoding
 */
export function ioForm(dir: "in" | "out", acc: Reg, port: Reg | Imm): EncodeSpec {
  const [dxOp, immOp] = dir === "in" ? [OP_IN_DX, OP_IN_IMM] : [OP_OUT_DX, OP_OUT_IMM];
  if (acc.code !== 0 || acc.width === 64) {
    throw new TypeError(`Cannot do port I/O with "${acc.name}": only al, ax, eax`);
  }
  const wide = acc.width === 8 ? 0 : 1;
  if (port.kind === "reg") {
    if (port.code !== DX_CODE || port.width !== 16) {
      throw new TypeError(`Cannot use "${port.name}" as a port: only dx`);
    }
    return { width: acc.width === 16 ? 16 : null, opcode: [dxOp + wide] };
  }
  if (acc.width === 16) throw new TypeError("Cannot encode in/out ax with an imm8 port");
  checkImm(port.value, "unsigned8");
  return { width: null, opcode: [immOp + wide], imm: immBytes(port.value, 1) };
}

/**
 * `invlpg m` (0F 01 /7).
 *
 * @param target the memory operand whose page's translation is flushed
 * @returns the encoding
 */
export function invlpgForm(target: Mem): EncodeSpec {
  if (target.kind !== "mem") throw new TypeError("Cannot encode invlpg: needs a memory operand");
  return { width: null, opcode: [ESCAPE_0F, OP2_GRP7], reg: EXT_INVLPG, rm: target };
}

/** The instructions without operands, by assembler method name. */
export type NoOperandOp =
  | "out_dx_eax"
  | "hlt"
  | "nop"
  | "pause"
  | "cpuid"
  | "rdtsc"
  | "wrmsr"
  | "rdmsr"
  | "cli"
  | "sti"
  | "ret"
  | "cqo"
  | "cdqe"
  | "rep_stosb"
  | "rep_stosq"
  | "rep_movsb";

/**
 * Every instruction without operands, by assembler method name. `out_dx_eax`
 * is the ucall instruction; `wrmsr`/`rdmsr` move MSR[ecx] to/from edx:eax;
 * `cqo`/`cdqe` sign-extend rax into rdx:rax / eax into rax.
 */
export const NO_OPERAND: Readonly<Record<NoOperandOp, EncodeSpec>> = {
  out_dx_eax: { width: null, opcode: [OP_OUT_DX + 1] },
  hlt: { width: null, opcode: [0xf4] },
  nop: { width: null, opcode: [0x90] },
  pause: { width: null, prefixes: [PREFIX_REP], opcode: [0x90] },
  cpuid: { width: null, opcode: [ESCAPE_0F, 0xa2] },
  rdtsc: { width: null, opcode: [ESCAPE_0F, 0x31] },
  wrmsr: { width: null, opcode: [ESCAPE_0F, 0x30] },
  rdmsr: { width: null, opcode: [ESCAPE_0F, 0x32] },
  cli: { width: null, opcode: [0xfa] },
  sti: { width: null, opcode: [0xfb] },
  ret: { width: null, opcode: [0xc3] },
  cqo: { width: 64, opcode: [0x99] },
  cdqe: { width: 64, opcode: [0x98] },
  rep_stosb: { width: null, prefixes: [PREFIX_REP], opcode: [0xaa] },
  rep_stosq: { width: 64, prefixes: [PREFIX_REP], opcode: [0xab] },
  rep_movsb: { width: null, prefixes: [PREFIX_REP], opcode: [0xa4] },
};

/** The instructions of {@linkcode NO_OPERAND} as assembler methods. */
export type NoOperandMethods = { readonly [K in NoOperandOp]: () => void };
