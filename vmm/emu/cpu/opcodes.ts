/**
 * The declarative opcode table of the emulated subset (`guest/ISA.md`), in
 * the manner of v86's `x86_table.js`: one row per opcode (or per opcode and
 * ModRM.reg for group opcodes), saying whether a ModRM byte follows, which
 * immediate follows, the operand form in SDM notation and the execution kind
 * that the compiler turns into code. The decoder builds its lookup arrays
 * from this table; nothing else knows opcode numbers.
 *
 * @module
 */

/**
 * Which immediate follows the opcode (and ModRM/SIB/displacement):
 * `ib` 1 byte (sign-extended), `ub` 1 byte unsigned, `iz` 2 or 4 bytes by
 * operand size (sign-extended to 64), `iv` 2/4/8 bytes by operand size
 * (`mov r, imm`), `rel8`/`rel32` branch displacements.
 */
export type ImmKind = "none" | "ib" | "ub" | "iz" | "iv" | "rel8" | "rel32";

/**
 * How an instruction executes: the compiler has one emitter per kind.
 * `alone` instructions (system, string, I/O) run by an interpreter routine
 * as a one-instruction block.
 */
export type ExecKind =
  | "alu"
  | "test"
  | "mov"
  | "movx"
  | "lea"
  | "xchg"
  | "push"
  | "pop"
  | "imul"
  | "shift"
  | "unary"
  | "muldiv"
  | "incdec"
  | "cext"
  | "jmp"
  | "jcc"
  | "call"
  | "ret"
  | "loop"
  | "nop"
  | "alone";

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
  /** How it executes. */
  exec: ExecKind;
  /** Ends a basic block (control transfer). */
  ends: boolean;
}

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
  exec: ExecKind,
  opts: Partial<Pick<OpcodeSpec, "modrm" | "imm" | "byte" | "d64" | "ends">> = {},
): OpcodeSpec {
  return {
    opcode,
    ext,
    mnemonic,
    form,
    exec,
    modrm: opts.modrm ?? /[EGMRC]/.test(form),
    imm: opts.imm ?? "none",
    byte: opts.byte ?? false,
    d64: opts.d64 ?? false,
    ends: opts.ends ?? false,
  };
}

function buildTable(): OpcodeSpec[] {
  const t: OpcodeSpec[] = [];
  // 00-3D: the eight ALU operations in their six encodings.
  ALU_NAMES.forEach((name, op) => {
    const base = op << 3;
    t.push(row(base + 0, -1, name, "Eb,Gb", "alu", { byte: true }));
    t.push(row(base + 1, -1, name, "Ev,Gv", "alu"));
    t.push(row(base + 2, -1, name, "Gb,Eb", "alu", { byte: true }));
    t.push(row(base + 3, -1, name, "Gv,Ev", "alu"));
    t.push(row(base + 4, -1, name, "AL,Ib", "alu", { byte: true, imm: "ub" }));
    t.push(row(base + 5, -1, name, "rAX,Iz", "alu", { imm: "iz" }));
    t.push(row(0x80, op, name, "Eb,Ib", "alu", { byte: true, imm: "ub" }));
    t.push(row(0x81, op, name, "Ev,Iz", "alu", { imm: "iz" }));
    t.push(row(0x83, op, name, "Ev,Ib", "alu", { imm: "ib" }));
  });
  for (let r = 0; r < 8; r++) {
    t.push(row(0x50 + r, -1, "push", "Zq", "push", { d64: true }));
    t.push(row(0x58 + r, -1, "pop", "Zq", "pop", { d64: true }));
    t.push(row(0xb0 + r, -1, "mov", "Zb,Ib", "mov", { byte: true, imm: "ub" }));
    t.push(row(0xb8 + r, -1, "mov", "Zv,Iv", "mov", { imm: "iv" }));
  }
  t.push(row(0x63, -1, "movsxd", "Gv,Ed", "movx"));
  t.push(row(0x68, -1, "push", "Iz", "push", { d64: true, imm: "iz" }));
  t.push(row(0x6a, -1, "push", "Ib", "push", { d64: true, imm: "ib" }));
  t.push(row(0x69, -1, "imul", "Gv,Ev,Iz", "imul", { imm: "iz" }));
  t.push(row(0x6b, -1, "imul", "Gv,Ev,Ib", "imul", { imm: "ib" }));
  CC_NAMES.forEach((cc, i) => {
    t.push(row(0x70 + i, -1, "j" + cc, "Jb", "jcc", { imm: "rel8", d64: true, ends: true }));
    t.push(row(0x0f80 + i, -1, "j" + cc, "Jz", "jcc", { imm: "rel32", d64: true, ends: true }));
  });
  t.push(row(0x84, -1, "test", "Eb,Gb", "test", { byte: true }));
  t.push(row(0x85, -1, "test", "Ev,Gv", "test"));
  t.push(row(0xa8, -1, "test", "AL,Ib", "test", { byte: true, imm: "ub" }));
  t.push(row(0xa9, -1, "test", "rAX,Iz", "test", { imm: "iz" }));
  t.push(row(0x86, -1, "xchg", "Eb,Gb", "xchg", { byte: true }));
  t.push(row(0x87, -1, "xchg", "Ev,Gv", "xchg"));
  t.push(row(0x88, -1, "mov", "Eb,Gb", "mov", { byte: true }));
  t.push(row(0x89, -1, "mov", "Ev,Gv", "mov"));
  t.push(row(0x8a, -1, "mov", "Gb,Eb", "mov", { byte: true }));
  t.push(row(0x8b, -1, "mov", "Gv,Ev", "mov"));
  t.push(row(0x8d, -1, "lea", "Gv,M", "lea"));
  t.push(row(0x90, -1, "nop", "", "nop"));
  for (let r = 1; r < 8; r++) t.push(row(0x90 + r, -1, "xchg", "Zv,rAX", "xchg"));
  t.push(row(0x98, -1, "cdqe", "", "cext"));
  t.push(row(0x99, -1, "cqo", "", "cext"));
  t.push(row(0xa4, -1, "movsb", "", "alone", { byte: true }));
  t.push(row(0xa5, -1, "movs", "", "alone"));
  t.push(row(0xaa, -1, "stosb", "", "alone", { byte: true }));
  t.push(row(0xab, -1, "stos", "", "alone"));
  SHIFT_NAMES.forEach((name, op) => {
    if (name === null) return;
    t.push(row(0xc0, op, name, "Eb,Ib", "shift", { byte: true, imm: "ub" }));
    t.push(row(0xc1, op, name, "Ev,Ib", "shift", { imm: "ub" }));
    t.push(row(0xd0, op, name, "Eb,1", "shift", { byte: true }));
    t.push(row(0xd1, op, name, "Ev,1", "shift"));
    t.push(row(0xd2, op, name, "Eb,CL", "shift", { byte: true }));
    t.push(row(0xd3, op, name, "Ev,CL", "shift"));
  });
  t.push(row(0xc3, -1, "ret", "", "ret", { d64: true, ends: true }));
  t.push(row(0xc6, 0, "mov", "Eb,Ib", "mov", { byte: true, imm: "ub" }));
  t.push(row(0xc7, 0, "mov", "Ev,Iz", "mov", { imm: "iz" }));
  t.push(row(0xe2, -1, "loop", "Jb", "loop", { imm: "rel8", d64: true, ends: true }));
  t.push(row(0xe4, -1, "in", "AL,Ib", "alone", { byte: true, imm: "ub" }));
  t.push(row(0xe5, -1, "in", "eAX,Ib", "alone", { imm: "ub" }));
  t.push(row(0xe6, -1, "out", "Ib,AL", "alone", { byte: true, imm: "ub" }));
  t.push(row(0xe7, -1, "out", "Ib,eAX", "alone", { imm: "ub" }));
  t.push(row(0xe8, -1, "call", "Jz", "call", { imm: "rel32", d64: true, ends: true }));
  t.push(row(0xe9, -1, "jmp", "Jz", "jmp", { imm: "rel32", d64: true, ends: true }));
  t.push(row(0xeb, -1, "jmp", "Jb", "jmp", { imm: "rel8", d64: true, ends: true }));
  t.push(row(0xec, -1, "in", "AL,DX", "alone", { byte: true }));
  t.push(row(0xed, -1, "in", "eAX,DX", "alone"));
  t.push(row(0xee, -1, "out", "DX,AL", "alone", { byte: true }));
  t.push(row(0xef, -1, "out", "DX,eAX", "alone"));
  t.push(row(0xf4, -1, "hlt", "", "alone"));
  t.push(row(0xf6, 0, "test", "Eb,Ib", "test", { byte: true, imm: "ub" }));
  t.push(row(0xf7, 0, "test", "Ev,Iz", "test", { imm: "iz" }));
  t.push(row(0xf6, 2, "not", "Eb", "unary", { byte: true }));
  t.push(row(0xf7, 2, "not", "Ev", "unary"));
  t.push(row(0xf6, 3, "neg", "Eb", "unary", { byte: true }));
  t.push(row(0xf7, 3, "neg", "Ev", "unary"));
  ["mul", "imul", "div", "idiv"].forEach((name, i) => {
    t.push(row(0xf6, 4 + i, name, "Eb", "muldiv", { byte: true }));
    t.push(row(0xf7, 4 + i, name, "Ev", "muldiv"));
  });
  t.push(row(0xfa, -1, "cli", "", "alone"));
  t.push(row(0xfb, -1, "sti", "", "alone"));
  t.push(row(0xfe, 0, "inc", "Eb", "incdec", { byte: true }));
  t.push(row(0xfe, 1, "dec", "Eb", "incdec", { byte: true }));
  t.push(row(0xff, 0, "inc", "Ev", "incdec"));
  t.push(row(0xff, 1, "dec", "Ev", "incdec"));
  t.push(row(0xff, 2, "call", "Eq", "call", { d64: true, ends: true }));
  t.push(row(0xff, 4, "jmp", "Eq", "jmp", { d64: true, ends: true }));
  // Two-byte map.
  t.push(row(0x0f01, 7, "invlpg", "M", "alone"));
  t.push(row(0x0f20, -1, "mov", "Rq,Cd", "alone"));
  t.push(row(0x0f22, -1, "mov", "Cd,Rq", "alone"));
  t.push(row(0x0f30, -1, "wrmsr", "", "alone"));
  t.push(row(0x0f31, -1, "rdtsc", "", "alone"));
  t.push(row(0x0f32, -1, "rdmsr", "", "alone"));
  t.push(row(0x0fa2, -1, "cpuid", "", "alone"));
  t.push(row(0x0faf, -1, "imul", "Gv,Ev", "imul"));
  t.push(row(0x0fb6, -1, "movzx", "Gv,Eb", "movx"));
  t.push(row(0x0fb7, -1, "movzx", "Gv,Ew", "movx"));
  t.push(row(0x0fbe, -1, "movsx", "Gv,Eb", "movx"));
  t.push(row(0x0fbf, -1, "movsx", "Gv,Ew", "movx"));
  return t;
}

/** Every decodable opcode of the subset. */
export const OPCODES: readonly OpcodeSpec[] = buildTable();
