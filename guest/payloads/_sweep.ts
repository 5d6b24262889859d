/**
 * The sweep loop shared by `write_sweep` and `read_sweep`: one 8-byte access
 * per stride over a range, a `sync` after each pass, then `done`.
 *
 * Registers: r8 = range start, r9 = range end, r10 = stride, r11 = passes,
 * r12 = pass number (from 1), rbx = address, rcx = value written or sum read.
 *
 * @module
 */

import type { Assembler } from "../assembler.ts";
import type { GpaRange } from "../image.ts";
import { imm, mem, R } from "../operands.ts";
import { checkRange, emitDone, emitSync, PAGE_SIZE, RANGE_PARAMS, WORD_SIZE } from "./_common.ts";
import type { ParamSchema, ResolvedParams } from "./params.ts";

/** Parameters of both sweeps. */
export const SWEEP_PARAMS: ParamSchema = {
  ...RANGE_PARAMS,
  stride: {
    type: "size",
    default: PAGE_SIZE,
    multipleOf: WORD_SIZE,
    doc: "bytes between accessed words (multiple of 8)",
  },
  passes: {
    type: "int",
    default: 1n,
    min: 1n,
    doc: "number of passes over the range (at least 1)",
  },
  value: {
    type: "int",
    bits: 64,
    doc: "write_sweep: the word written (default: the pass number, from 1)",
  },
};

/** What a sweep does per word. */
export type SweepMode = { kind: "write"; value?: bigint } | { kind: "read" };

/**
 * Checks sweep parameters.
 *
 * @param payload the payload name
 * @param p resolved parameters
 * @returns error messages
 */
export function checkSweep(payload: string, p: ResolvedParams): string[] {
  return checkRange(payload, p, WORD_SIZE);
}

/**
 * Emits the sweep.
 *
 * @param a the assembler
 * @param range the range swept
 * @param options stride, passes, the sync label and what to do per word
 */
export function emitSweep(
  a: Assembler,
  range: GpaRange,
  options: { stride: bigint; passes: bigint; label: string; mode: SweepMode },
): void {
  const pass = a.newLabel("pass");
  const word = a.newLabel("word");
  a.mov(R.r8, imm(range.gpa));
  a.mov(R.r9, imm(range.gpa + range.size));
  a.mov(R.r10, imm(options.stride));
  a.mov(R.r11, imm(options.passes));
  a.mov(R.r12, imm(1));
  a.label(pass);
  a.mov(R.rbx, R.r8);
  const mode = options.mode;
  if (mode.kind === "read") a.xor(R.ecx, R.ecx);
  else if (mode.value === undefined) a.mov(R.rcx, R.r12);
  else a.mov(R.rcx, imm(BigInt.asIntN(64, mode.value)));
  a.label(word);
  if (mode.kind === "read") a.add(R.rcx, mem({ base: R.rbx }));
  else a.mov(mem({ base: R.rbx }), R.rcx);
  a.add(R.rbx, R.r10);
  a.cmp(R.rbx, R.r9);
  a.jcc("b", word);
  emitSync(a, options.label, mode.kind === "read" ? R.rcx : R.r12);
  a.inc(R.r12);
  a.cmp(R.r12, R.r11);
  a.jcc("be", pass);
  emitDone(a);
}
