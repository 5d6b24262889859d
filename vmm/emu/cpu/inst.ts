/**
 * The decoded-instruction record shared by the decoder, the opcode table's
 * handlers and the block compiler. Types only, so every module of the CPU
 * can depend on it without import cycles.
 *
 * @module
 */

/** A memory operand `[base + index*scale + disp]` or `[rip + disp]`. */
export interface MemOperand {
  /** Base register number (0-15), or -1 for none. */
  base: number;
  /** Index register number (0-15; never rsp), or -1 for none. */
  index: number;
  /** Index multiplier. */
  scale: 1 | 2 | 4 | 8;
  /** Sign-extended displacement (relative to the next instruction when `ripRel`). */
  disp: number;
  /** The address is relative to the next instruction. */
  ripRel: boolean;
}

/** One decoded instruction (the blink `rde` as a plain object). */
export interface DecodedInst {
  /** Length in bytes. */
  len: number;
  /** Opcode byte, or `0x0F00 | b` for the two-byte map. */
  opcode: number;
  /** Intel mnemonic, operand-size specific (e.g. `cdqe`, `stosq`). */
  mnemonic: string;
  /** Operand form of the opcode table (SDM notation). */
  form: string;
  /** Index of the row of `OPCODES` (`opcodes.ts`) it decoded from (its handlers). */
  row: number;
  /** Ends a basic block. */
  ends: boolean;
  /** Operand size in bytes. */
  size: 1 | 2 | 4 | 8;
  /** The REX byte, or 0 when absent (matters for spl/bpl/sil/dil vs ah/ch/dh/bh). */
  rex: number;
  /** ModRM.reg with REX.R, or the register of `+r` opcodes with REX.B. */
  reg: number;
  /** The raw ModRM.reg field (selects the operation of group opcodes). */
  ext: number;
  /** The r/m register (with REX.B) when ModRM.mod = 3, else -1. */
  rm: number;
  /** The memory operand when ModRM.mod != 3, else null. */
  mem: MemOperand | null;
  /** Immediate (sign-extended to int32 where the form says so), or branch displacement. */
  imm: number;
  /** High 32 bits of a 64-bit immediate (`mov r64, imm64`), else the sign of `imm`. */
  immHi: number;
  /** F3 prefix (rep, or pause with 90). */
  rep: boolean;
}
