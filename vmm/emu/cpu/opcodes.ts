/**
 * The opcode table of the emulated subset (`guest/ISA.md`), in the manner of
 * blink's `machine.c` and v86's `x86_table.js`: one row per opcode (or per
 * opcode and ModRM.reg for group opcodes) saying how it decodes (ModRM,
 * immediate, operand form in SDM notation, size rules, prefixes allowed) and
 * how it executes: its compiled handler (`emit`, `emit_ops.ts`) or, for
 * instructions that run alone, its interpreted handler (`run`,
 * `system.ts`). The decoder builds its lookup arrays from this table, the
 * compiler and the dispatcher call the row's handler: adding or finding an
 * opcode is one row here.
 *
 * @module
 */
import {
  emitAlu,
  emitCallIndirect,
  emitCallRel,
  emitDiv,
  type EmitFn,
  emitImul,
  emitIncDec,
  emitJcc,
  emitJmpIndirect,
  emitJmpRel,
  emitLea,
  emitLoop,
  emitMov,
  emitMovx,
  emitMul,
  emitNeg,
  emitNop,
  emitNot,
  emitPop,
  emitPush,
  emitRet,
  emitShift,
  emitSignExtendAcc,
  emitSignIntoDx,
  emitTest,
  emitXchg,
} from "./emit_ops.ts";
import {
  runCli,
  runCpuid,
  type RunFn,
  runHlt,
  runIn,
  runInvlpg,
  runMovFromCr,
  runMovToCr,
  runOut,
  runRdmsr,
  runRdtsc,
  runSti,
  runString,
  runWrmsr,
} from "./system.ts";

/**
 * Which immediate follows the opcode (and ModRM/SIB/displacement):
 * `ib` 1 byte (sign-extended), `ub` 1 byte unsigned, `iz` 2 or 4 bytes by
 * operand size (sign-extended to 64), `iv` 2/4/8 bytes by operand size
 * (`mov r, imm`), `rel8`/`rel32` branch displacements.
 */
export type ImmKind = "none" | "ib" | "ub" | "iz" | "iv" | "rel8" | "rel32";

/** A direct relative branch: `jmp rel`, `call rel`, or a conditional one (jcc, loop). */
export type BranchKind = "jmp" | "call" | "cond";

/** One row of {@linkcode OPCODES}. */
export interface OpcodeSpec {
  /** Opcode byte; two-byte opcodes are `0x0F00 | second byte`. */
  opcode: number;
  /** ModRM.reg for group opcodes (e.g. `81 /5`), or -1 when reg is an operand. */
  ext: number;
  /** Intel mnemonic (lower case). */
  mnemonic: string;
  /**
   * Operands in SDM notation: E = ModRM r/m, G = ModRM reg, M = memory only,
   * R = register only, Z = register in the opcode's low 3 bits, I = immediate,
   * J = relative branch, C = control register; b/w/d/q/v/z sizes as in the SDM.
   */
  form: string;
  /** A ModRM byte follows. */
  modrm: boolean;
  /** The immediate that follows. */
  imm: ImmKind;
  /** Byte-sized operation (8-bit operand size regardless of prefixes). */
  byte: boolean;
  /** Operand size is 64 by default in long mode (push/pop/near branches). */
  d64: boolean;
  /** Ends a basic block (control transfer). */
  ends: boolean;
  /** The direct relative branch it is (superblocks and self-loops follow these), or null. */
  branch: BranchKind | null;
  /** What an F3 prefix means: `rep` (string ops), `pause` (90 without REX/66), else #UD. */
  f3: "rep" | "pause" | null;
  /** Bit mask of the ModRM.reg values (with REX.R) it admits (CRn moves), -1 for all. */
  regs: number;
  /** Mnemonics by operand size 2, 4, 8 when they differ (`cbw`/`cwde`/`cdqe`), else null. */
  sized: readonly [string, string, string] | null;
  /** Writes every arithmetic flag without reading any (a previous flag record is dead). */
  setsFlags: boolean;
  /** Compiled handler, or null when the instruction runs alone. */
  emit: EmitFn | null;
  /** Interpreted handler of an instruction that runs alone (one-instruction block), or null. */
  run: RunFn | null;
}

/** What a row gives beyond opcode, ext, mnemonic and form: exactly one of `emit` or `run`. */
type RowOpts =
  & Partial<Omit<OpcodeSpec, "opcode" | "ext" | "mnemonic" | "form" | "emit" | "run">>
  & ({ emit: EmitFn; run?: undefined } | { run: RunFn; emit?: undefined });

/** The eight ALU operations in opcode order (`op = (opcode >> 3) & 7`, or ModRM.reg for 80/81/83). */
export const ALU_NAMES = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"] as const;

/** Shift group (C0/C1/D0-D3) operations by ModRM.reg; null = outside the subset. */
export const SHIFT_NAMES = ["rol", "ror", null, null, "shl", "shr", null, "sar"] as const;

/** Condition-code suffixes by the low nibble of Jcc. */
export const CC_NAMES = [
  "o",
  "no",
  "b",
  "ae",
  "e",
  "ne",
  "be",
  "a",
  "s",
  "ns",
  "p",
  "np",
  "l",
  "ge",
  "le",
  "g",
] as const;

function row(
  opcode: number,
  ext: number,
  mnemonic: string,
  form: string,
  opts: RowOpts,
): OpcodeSpec {
  return {
    opcode,
    ext,
    mnemonic,
    form,
    modrm: opts.modrm ?? /[EGMRC]/.test(form),
    imm: opts.imm ?? "none",
    byte: opts.byte ?? false,
    d64: opts.d64 ?? false,
    ends: opts.ends ?? opts.branch !== undefined,
    branch: opts.branch ?? null,
    f3: opts.f3 ?? null,
    regs: opts.regs ?? -1,
    sized: opts.sized ?? null,
    setsFlags: opts.setsFlags ?? false,
    emit: opts.emit ?? null,
    run: opts.run ?? null,
  };
}

function buildTable(): OpcodeSpec[] {
  const t: OpcodeSpec[] = [];
  // 00-3D: the eight ALU operations in their six encodings, and 80/81/83 /op.
  ALU_NAMES.forEach((name, op) => {
    const base = op << 3;
    const emit = emitAlu(op);
    // adc/sbb read CF, so they do not make a previous flag record dead.
    const setsFlags = op !== 2 && op !== 3;
    const b = { emit, setsFlags, byte: true };
    t.push(row(base + 0, -1, name, "Eb,Gb", b));
    t.push(row(base + 1, -1, name, "Ev,Gv", { emit, setsFlags }));
    t.push(row(base + 2, -1, name, "Gb,Eb", b));
    t.push(row(base + 3, -1, name, "Gv,Ev", { emit, setsFlags }));
    t.push(row(base + 4, -1, name, "AL,Ib", { ...b, imm: "ub" }));
    t.push(row(base + 5, -1, name, "rAX,Iz", { emit, setsFlags, imm: "iz" }));
    t.push(row(0x80, op, name, "Eb,Ib", { ...b, imm: "ub" }));
    t.push(row(0x81, op, name, "Ev,Iz", { emit, setsFlags, imm: "iz" }));
    t.push(row(0x83, op, name, "Ev,Ib", { emit, setsFlags, imm: "ib" }));
  });
  for (let r = 0; r < 8; r++) {
    t.push(row(0x50 + r, -1, "push", "Zq", { emit: emitPush, d64: true }));
    t.push(row(0x58 + r, -1, "pop", "Zq", { emit: emitPop, d64: true }));
    t.push(row(0xb0 + r, -1, "mov", "Zb,Ib", { emit: emitMov, byte: true, imm: "ub" }));
    t.push(row(0xb8 + r, -1, "mov", "Zv,Iv", { emit: emitMov, imm: "iv" }));
  }
  t.push(row(0x63, -1, "movsxd", "Gv,Ed", { emit: emitMovx(4, true) }));
  t.push(row(0x68, -1, "push", "Iz", { emit: emitPush, d64: true, imm: "iz" }));
  t.push(row(0x6a, -1, "push", "Ib", { emit: emitPush, d64: true, imm: "ib" }));
  t.push(row(0x69, -1, "imul", "Gv,Ev,Iz", { emit: emitImul(true), imm: "iz" }));
  t.push(row(0x6b, -1, "imul", "Gv,Ev,Ib", { emit: emitImul(true), imm: "ib" }));
  CC_NAMES.forEach((cc, i) => {
    const j = { emit: emitJcc(i), d64: true, branch: "cond" } as const;
    t.push(row(0x70 + i, -1, "j" + cc, "Jb", { ...j, imm: "rel8" }));
    t.push(row(0x0f80 + i, -1, "j" + cc, "Jz", { ...j, imm: "rel32" }));
  });
  const test = { emit: emitTest, setsFlags: true };
  t.push(row(0x84, -1, "test", "Eb,Gb", { ...test, byte: true }));
  t.push(row(0x85, -1, "test", "Ev,Gv", test));
  t.push(row(0xa8, -1, "test", "AL,Ib", { ...test, byte: true, imm: "ub" }));
  t.push(row(0xa9, -1, "test", "rAX,Iz", { ...test, imm: "iz" }));
  t.push(row(0x86, -1, "xchg", "Eb,Gb", { emit: emitXchg, byte: true }));
  t.push(row(0x87, -1, "xchg", "Ev,Gv", { emit: emitXchg }));
  t.push(row(0x88, -1, "mov", "Eb,Gb", { emit: emitMov, byte: true }));
  t.push(row(0x89, -1, "mov", "Ev,Gv", { emit: emitMov }));
  t.push(row(0x8a, -1, "mov", "Gb,Eb", { emit: emitMov, byte: true }));
  t.push(row(0x8b, -1, "mov", "Gv,Ev", { emit: emitMov }));
  t.push(row(0x8d, -1, "lea", "Gv,M", { emit: emitLea }));
  // 90 is xchg eax, eax: nop (pause with F3); with REX.B the decoder reads it as 91's row.
  t.push(row(0x90, -1, "nop", "", { emit: emitNop, f3: "pause" }));
  for (let r = 1; r < 8; r++) t.push(row(0x90 + r, -1, "xchg", "Zv,rAX", { emit: emitXchg }));
  const cdqe = ["cbw", "cwde", "cdqe"] as const;
  t.push(row(0x98, -1, "cdqe", "", { emit: emitSignExtendAcc, sized: cdqe }));
  t.push(row(0x99, -1, "cqo", "", { emit: emitSignIntoDx, sized: ["cwd", "cdq", "cqo"] }));
  const movs = { run: runString(false), f3: "rep" } as const;
  const stos = { run: runString(true), f3: "rep" } as const;
  t.push(row(0xa4, -1, "movsb", "", { ...movs, byte: true }));
  t.push(row(0xa5, -1, "movs", "", { ...movs, sized: ["movsw", "movsd", "movsq"] }));
  t.push(row(0xaa, -1, "stosb", "", { ...stos, byte: true }));
  t.push(row(0xab, -1, "stos", "", { ...stos, sized: ["stosw", "stosd", "stosq"] }));
  SHIFT_NAMES.forEach((name, op) => {
    if (name === null) return;
    const b = { emit: emitShift, byte: true };
    t.push(row(0xc0, op, name, "Eb,Ib", { ...b, imm: "ub" }));
    t.push(row(0xc1, op, name, "Ev,Ib", { emit: emitShift, imm: "ub" }));
    t.push(row(0xd0, op, name, "Eb,1", b));
    t.push(row(0xd1, op, name, "Ev,1", { emit: emitShift }));
    t.push(row(0xd2, op, name, "Eb,CL", b));
    t.push(row(0xd3, op, name, "Ev,CL", { emit: emitShift }));
  });
  t.push(row(0xc3, -1, "ret", "", { emit: emitRet, d64: true, ends: true }));
  t.push(row(0xc6, 0, "mov", "Eb,Ib", { emit: emitMov, byte: true, imm: "ub" }));
  t.push(row(0xc7, 0, "mov", "Ev,Iz", { emit: emitMov, imm: "iz" }));
  t.push(row(0xe2, -1, "loop", "Jb", { emit: emitLoop, imm: "rel8", d64: true, branch: "cond" }));
  t.push(row(0xe4, -1, "in", "AL,Ib", { run: runIn, byte: true, imm: "ub" }));
  t.push(row(0xe5, -1, "in", "eAX,Ib", { run: runIn, imm: "ub" }));
  t.push(row(0xe6, -1, "out", "Ib,AL", { run: runOut, byte: true, imm: "ub" }));
  t.push(row(0xe7, -1, "out", "Ib,eAX", { run: runOut, imm: "ub" }));
  const rel = { d64: true, imm: "rel32" } as const;
  t.push(row(0xe8, -1, "call", "Jz", { ...rel, emit: emitCallRel, branch: "call" }));
  t.push(row(0xe9, -1, "jmp", "Jz", { ...rel, emit: emitJmpRel, branch: "jmp" }));
  t.push(row(0xeb, -1, "jmp", "Jb", { ...rel, emit: emitJmpRel, branch: "jmp", imm: "rel8" }));
  t.push(row(0xec, -1, "in", "AL,DX", { run: runIn, byte: true }));
  t.push(row(0xed, -1, "in", "eAX,DX", { run: runIn }));
  t.push(row(0xee, -1, "out", "DX,AL", { run: runOut, byte: true }));
  t.push(row(0xef, -1, "out", "DX,eAX", { run: runOut }));
  t.push(row(0xf4, -1, "hlt", "", { run: runHlt }));
  t.push(row(0xf6, 0, "test", "Eb,Ib", { ...test, byte: true, imm: "ub" }));
  t.push(row(0xf7, 0, "test", "Ev,Iz", { ...test, imm: "iz" }));
  t.push(row(0xf6, 2, "not", "Eb", { emit: emitNot, byte: true }));
  t.push(row(0xf7, 2, "not", "Ev", { emit: emitNot }));
  t.push(row(0xf6, 3, "neg", "Eb", { emit: emitNeg, setsFlags: true, byte: true }));
  t.push(row(0xf7, 3, "neg", "Ev", { emit: emitNeg, setsFlags: true }));
  const muldiv = [emitMul(false), emitMul(true), emitDiv(false), emitDiv(true)];
  ["mul", "imul", "div", "idiv"].forEach((name, i) => {
    t.push(row(0xf6, 4 + i, name, "Eb", { emit: muldiv[i], byte: true }));
    t.push(row(0xf7, 4 + i, name, "Ev", { emit: muldiv[i] }));
  });
  t.push(row(0xfa, -1, "cli", "", { run: runCli }));
  t.push(row(0xfb, -1, "sti", "", { run: runSti }));
  t.push(row(0xfe, 0, "inc", "Eb", { emit: emitIncDec(false), byte: true }));
  t.push(row(0xfe, 1, "dec", "Eb", { emit: emitIncDec(true), byte: true }));
  t.push(row(0xff, 0, "inc", "Ev", { emit: emitIncDec(false) }));
  t.push(row(0xff, 1, "dec", "Ev", { emit: emitIncDec(true) }));
  t.push(row(0xff, 2, "call", "Eq", { emit: emitCallIndirect, d64: true, ends: true }));
  t.push(row(0xff, 4, "jmp", "Eq", { emit: emitJmpIndirect, d64: true, ends: true }));
  // Two-byte map. Only CR0, CR2, CR3 and CR4 exist (others are #UD).
  const crs = 0b11101;
  t.push(row(0x0f01, 7, "invlpg", "M", { run: runInvlpg }));
  t.push(row(0x0f20, -1, "mov", "Rq,Cd", { run: runMovFromCr, regs: crs }));
  t.push(row(0x0f22, -1, "mov", "Cd,Rq", { run: runMovToCr, regs: crs }));
  t.push(row(0x0f30, -1, "wrmsr", "", { run: runWrmsr }));
  t.push(row(0x0f31, -1, "rdtsc", "", { run: runRdtsc }));
  t.push(row(0x0f32, -1, "rdmsr", "", { run: runRdmsr }));
  t.push(row(0x0fa2, -1, "cpuid", "", { run: runCpuid }));
  t.push(row(0x0faf, -1, "imul", "Gv,Ev", { emit: emitImul(false) }));
  t.push(row(0x0fb6, -1, "movzx", "Gv,Eb", { emit: emitMovx(1, false) }));
  t.push(row(0x0fb7, -1, "movzx", "Gv,Ew", { emit: emitMovx(2, false) }));
  t.push(row(0x0fbe, -1, "movsx", "Gv,Eb", { emit: emitMovx(1, true) }));
  t.push(row(0x0fbf, -1, "movsx", "Gv,Ew", { emit: emitMovx(2, true) }));
  return t;
}

/** Every decodable opcode of the subset. */
export const OPCODES: readonly OpcodeSpec[] = buildTable();
