/**
 * The sweep loop shared by `write_sweep` and `read_sweep`: one 8-byte access
 * per stride over a range, a `sync` after each pass, then `done`; and the
 * payload definition both are made from.
 *
 * Registers: r8 = range start, r9 = range end, r10 = stride, r11 = passes,
 * r12 = pass number (from 1), rbx = address, rcx = value written or sum read;
 * rax/rdx hold the sync ucall's eax/dx (see {@linkcode emitSyncRounds}).
 *
 * @module
 */

import type { Assembler } from "../assembler.ts";
import type { GpaRange } from "../image.ts";
import { imm, mem, R } from "../operands.ts";
import {
  checkRange,
  emitDone,
  emitStrideLoop,
  emitSyncRounds,
  PAGE_SIZE,
  RANGE_PARAMS,
  rangeOf,
  WORD_SIZE,
} from "./_common.ts";
import type { ParamSchema, ResolvedParams } from "./params.ts";
import type { PayloadDef } from "./payload.ts";

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
 * Emits the sweep. A pass over a single word (size ≤ stride) has no word
 * loop: with the lean sync it is six instructions per sync exit.
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
  const mode = options.mode;
  const words = {
    start: R.r8,
    end: R.r9,
    stride: R.r10,
    single: range.size <= options.stride,
  };
  a.mov(R.r8, imm(range.gpa));
  a.mov(R.r9, imm(range.gpa + range.size));
  a.mov(R.r10, imm(options.stride));
  // A fixed value is loaded once; otherwise the word is the pass number (r12).
  const written = mode.kind === "write" && mode.value !== undefined ? R.rcx : R.r12;
  if (mode.kind === "write" && mode.value !== undefined) {
    a.mov(R.rcx, imm(BigInt.asIntN(64, mode.value)));
  }
  const pass = mode.kind === "write"
    ? () => emitStrideLoop(a, words, (addr) => a.mov(mem({ base: addr }), written))
    : words.single
    ? () => a.mov(R.rcx, mem({ base: R.r8 })) // the sum of one word is the word
    : () => {
      a.xor(R.ecx, R.ecx);
      emitStrideLoop(a, words, (addr) => a.add(R.rcx, mem({ base: addr })));
    };
  emitSyncRounds(a, options.passes, options.label, pass, mode.kind === "read" ? R.rcx : R.r12);
  emitDone(a);
}

/**
 * A sweep payload: the shared parameters, checks and mapping, and its mode.
 *
 * @param name the payload name
 * @param doc the payload's documentation paragraph
 * @param label the sync label after each pass
 * @param mode what the sweep does per word, from the parameters
 * @returns the payload definition
 */
export function sweepPayload(
  name: string,
  doc: string,
  label: string,
  mode: (p: ResolvedParams) => SweepMode,
): PayloadDef {
  return {
    name,
    doc,
    params: SWEEP_PARAMS,
    syncLabels: [label],
    check: (p) => checkSweep(name, p),
    needs: (p) => ({ identity: [rangeOf(p)] }),
    emit(a, p) {
      emitSweep(a, rangeOf(p), {
        stride: p.int("stride"),
        passes: p.int("passes"),
        label,
        mode: mode(p),
      });
    },
  };
}
