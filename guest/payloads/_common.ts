/**
 * Code and checks shared by the payloads: ucalls, sync loops, the word loop,
 * readback checks, the final halt loop, and the `slot`/`offset`/`size`/`stride`
 * range parameters.
 *
 * Register conventions of every payload: r15 (the ucall slot) is never
 * written; a ucall clobbers rax and rdx only; inside a sync loop
 * ({@linkcode emitSyncRounds}) rax and rdx hold the ucall's eax and dx, and
 * r11/r12 the round count and number.
 *
 * @module
 */

import type { Assembler } from "../assembler.ts";
import type { GpaRange } from "../image.ts";
import { imm, mem, qword, R, type Reg } from "../operands.ts";
import { SIZE_4K } from "../page_tables.ts";
import {
  UCALL_CMD_OFFSET,
  UCALL_LABEL_OFFSET,
  UCALL_MAX_LABEL,
  UCALL_PORT,
  UCALL_VALUE_OFFSET,
  UcallCmd,
} from "../ucall.ts";
import type { ParamSpec, ResolvedParams } from "./params.ts";

/** The x86 base page size. */
export const PAGE_SIZE: bigint = SIZE_4K;
/** Bytes per word written or read by the sweeps. */
export const WORD_SIZE = 8n;

/**
 * Emits a ucall: fills the slot at r15 (cmd, label GPA, value) and executes
 * `out dx, eax` with dx = UCALL_PORT and eax = cmd. Clobbers rax and rdx.
 *
 * @param a the assembler
 * @param cmd the ucall command
 * @param label the label or message (interned in the payload image), or null
 * @param value a register (stored first, so rax/rdx are fine too) or a signed 32-bit constant
 */
export function emitUcall(
  a: Assembler,
  cmd: number,
  label: string | null,
  value: Reg | bigint,
): void {
  // The value is stored before rax/rdx are touched, so it may live in either.
  emitUcallValue(a, value);
  emitUcallHeader(a, cmd, label);
  a.out_dx_eax();
}

/**
 * Stores what stays the same across the ucalls of a loop: the command and
 * the label in the slot, eax = cmd and dx = UCALL_PORT (`out` changes no
 * register, and the hosts read the slot afresh at every exit). After it, one
 * ucall is {@linkcode emitUcallValue} and `out dx, eax`, as long as the code
 * in between leaves rax, rdx and the slot alone.
 */
function emitUcallHeader(a: Assembler, cmd: number, label: string | null): void {
  if (label !== null && label.length > UCALL_MAX_LABEL) {
    throw new RangeError(`Cannot use ucall label "${label}": longer than ${UCALL_MAX_LABEL}`);
  }
  if (label === null) a.xor(R.eax, R.eax);
  else a.lea(R.rax, mem({ label: a.cstring(label) }));
  a.mov(mem({ base: R.r15, disp: UCALL_LABEL_OFFSET }), R.rax);
  a.mov(qword({ base: R.r15, disp: UCALL_CMD_OFFSET }), imm(cmd));
  a.mov(R.eax, imm(cmd));
  a.mov(R.edx, imm(UCALL_PORT));
}

function emitUcallValue(a: Assembler, value: Reg | bigint): void {
  if (typeof value === "bigint") {
    a.mov(qword({ base: R.r15, disp: UCALL_VALUE_OFFSET }), imm(value));
  } else a.mov(mem({ base: R.r15, disp: UCALL_VALUE_OFFSET }), value);
}

/**
 * Emits `for (r12 = 1; r12 <= rounds; r12++) { body(); sync label value }`
 * with lean ucalls: the label, the command, eax and dx are set once before
 * the loop, so each sync exit costs two instructions (store the value, `out`)
 * plus the loop's `inc`/`cmp`/`jbe`. The body must leave rax, rdx, r11 and
 * r12 alone (and not make other ucalls).
 *
 * @param a the assembler
 * @param rounds how many rounds (at least 1)
 * @param label the sync label
 * @param body emits one round's work
 * @param value the register reported by each sync (default r12, the round number)
 */
export function emitSyncRounds(
  a: Assembler,
  rounds: bigint,
  label: string,
  body: () => void,
  value: Reg = R.r12,
): void {
  const round = a.newLabel("round");
  a.mov(R.r11, imm(rounds));
  a.mov(R.r12, imm(1));
  emitUcallHeader(a, UcallCmd.SYNC, label);
  a.label(round);
  body();
  emitUcallValue(a, value);
  a.out_dx_eax();
  a.inc(R.r12);
  a.cmp(R.r12, R.r11);
  a.jcc("be", round);
}

/**
 * Emits `for (rbx = start; rbx < end; rbx += stride) access(rbx)`. A range of
 * one word (`single`) is just `access(start)`: no loop, so a one-word pass
 * costs the access alone.
 *
 * @param a the assembler
 * @param r the start and end registers, the stride, and whether the range holds a single word
 * @param access emits the access to the word at the given address register
 */
export function emitStrideLoop(
  a: Assembler,
  r: { start: Reg; end: Reg; stride: Reg | bigint; single: boolean },
  access: (addr: Reg) => void,
): void {
  if (r.single) return access(r.start);
  const word = a.newLabel("word");
  a.mov(R.rbx, r.start);
  a.label(word);
  access(R.rbx);
  a.add(R.rbx, typeof r.stride === "bigint" ? imm(r.stride) : r.stride);
  a.cmp(R.rbx, r.end);
  a.jcc("b", word);
}

/**
 * Emits a check of the word at `gpa` (loaded into rcx through rbx = gpa)
 * against `expected`: on a mismatch, jumps to `bad`.
 *
 * @param a the assembler
 * @param gpa the word's address (identity-mapped)
 * @param expected the register holding the expected value (rbx compares with `gpa` itself)
 * @param bad the label to jump to on a mismatch
 */
export function emitCheckWord(a: Assembler, gpa: bigint, expected: Reg, bad: string): void {
  a.mov(R.rbx, imm(gpa));
  a.mov(R.rcx, mem({ base: R.rbx }));
  a.cmp(R.rcx, expected);
  a.jcc("ne", bad);
}

/**
 * `done`, then halt forever (the host does not resume a finished vCPU; if it
 * does, it sees `hlt` exits).
 *
 * @param a the assembler
 */
export function emitDone(a: Assembler): void {
  emitUcall(a, UcallCmd.DONE, null, 0n);
  emitHaltLoop(a);
}

/**
 * `fail "message" value`, then halt forever.
 *
 * @param a the assembler
 * @param message the message
 * @param value the register holding the value, or 0
 */
export function emitFail(a: Assembler, message: string, value: Reg | bigint = 0n): void {
  emitUcall(a, UcallCmd.FAIL, message, value);
  emitHaltLoop(a);
}

function emitHaltLoop(a: Assembler): void {
  const l = a.newLabel("halt");
  a.label(l);
  a.hlt();
  a.jmp(l);
}

/** The range parameters shared by the sweeps and `touch`. */
export const RANGE_PARAMS: Readonly<Record<"slot" | "offset" | "size", ParamSpec>> = {
  slot: { type: "slot", required: true, doc: "the memslot to access" },
  offset: { type: "size", default: 0n, doc: "start of the range, from the slot's base" },
  size: { type: "size", doc: "length of the range (default: the rest of the slot)" },
};

/**
 * The range `[slot.gpa + offset, + size)` of a payload with {@linkcode RANGE_PARAMS}.
 *
 * @param p resolved parameters
 * @returns the guest-physical range
 */
export function rangeOf(p: ResolvedParams): GpaRange {
  const slot = p.slot("slot");
  const offset = p.int("offset");
  const size = p.has("size") ? p.int("size") : slot.size - offset;
  return { gpa: slot.gpa + offset, size };
}

/**
 * Checks the range parameters: inside the slot, non-empty, aligned to `align`.
 *
 * @param payload the payload name
 * @param p resolved parameters
 * @param align required alignment of offset and size
 * @returns error messages
 */
export function checkRange(payload: string, p: ResolvedParams, align: bigint): string[] {
  const slot = p.slot("slot");
  const offset = p.int("offset");
  if (offset >= slot.size) {
    return [`${payload}: parameter "offset" (${hex(offset)}) is outside slot "${slot.name}"`];
  }
  const errors: string[] = [];
  const { size } = rangeOf(p);
  if (size === 0n) errors.push(`${payload}: parameter "size" must not be 0`);
  if (offset + size > slot.size) {
    errors.push(
      `${payload}: range ${hex(offset)}+${
        hex(size)
      } ("offset"+"size") ends outside slot "${slot.name}" (size ${hex(slot.size)})`,
    );
  }
  if (offset % align !== 0n) {
    errors.push(`${payload}: parameter "offset" (${hex(offset)}) is not a multiple of ${align}`);
  }
  if (size % align !== 0n) {
    errors.push(`${payload}: parameter "size" (${hex(size)}) is not a multiple of ${align}`);
  }
  return errors;
}

/**
 * Formats a value as `0x…` for messages.
 *
 * @param v the value
 * @returns hexadecimal text
 */
export function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}
