/**
 * The process's exit codes: the one place that turns what a run came to
 * into a number. The library reports outcomes; only the CLI exits.
 *
 * @module
 */
import type { RunOutcome } from "../dsl/mod.ts";

/** The signals that interrupt a run, and their conventional exit codes (128 + signal number). */
export const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/** A signal that interrupts a run. */
export type InterruptSignal = keyof typeof SIGNAL_EXIT_CODES;

/** Exit codes of the outcomes that do not depend on a signal. */
export const EXIT_CODES: Readonly<Record<Exclude<RunOutcome, "interrupted">, number>> = {
  passed: 0,
  expectation_failed: 1,
  invalid: 2,
  backend_failed: 3,
};

/**
 * The exit code of an outcome.
 *
 * @param outcome what the run came to
 * @param signal the signal that interrupted it (for `interrupted`; default SIGINT)
 * @returns 0, 1, 2, 3, 130 or 143
 */
export function exitCodeFor(outcome: RunOutcome, signal: InterruptSignal = "SIGINT"): number {
  return outcome === "interrupted" ? SIGNAL_EXIT_CODES[signal] : EXIT_CODES[outcome];
}
