/**
 * The one-line progress indicator of long runs, on a terminal's stderr:
 * vCPUs, exits, ucalls and the exit rate of the VM in use, rewritten in
 * place and erased before any other output.
 *
 * @module
 */
import type { RunProgress } from "../dsl/mod.ts";

/** A run shorter than this shows no progress line. */
export const PROGRESS_AFTER_MS = 2000;

const ERASE = "\r\x1b[K";

/**
 * Formats one progress line.
 *
 * @param p the figures
 * @param rate exits per second since the previous line
 * @returns the line, without escape codes
 */
export function formatProgress(p: RunProgress, rate: number): string {
  const vcpus = `${p.vcpus} vCPU${p.vcpus === 1 ? "" : "s"}`;
  return `vm ${p.vm} (${p.backend}): ${vcpus}, ${p.exits} exits, ${p.ucalls} ucalls, ` +
    `${Math.round(rate)} exits/s, ${(p.elapsedMs / 1000).toFixed(1)} s`;
}

/** The progress line on a terminal. */
export class ProgressLine {
  readonly #write: (text: string) => void;
  #shown = false;
  #last: { exits: bigint; ms: number } | undefined;

  /**
   * Creates the line (nothing is written until {@linkcode ProgressLine.update}).
   *
   * @param write writes raw text (no newline) to the terminal
   */
  constructor(write: (text: string) => void) {
    this.#write = write;
  }

  /** Shows `p` (from {@linkcode PROGRESS_AFTER_MS} on). */
  update(p: RunProgress): void {
    const last = this.#last;
    this.#last = { exits: p.exits, ms: p.elapsedMs };
    if (p.elapsedMs < PROGRESS_AFTER_MS || last === undefined || p.elapsedMs <= last.ms) return;
    const rate = Number(p.exits - last.exits) * 1000 / (p.elapsedMs - last.ms);
    this.#write(ERASE + formatProgress(p, Math.max(0, rate)));
    this.#shown = true;
  }

  /** Erases the line, if shown (before any other output). */
  clear(): void {
    if (!this.#shown) return;
    this.#write(ERASE);
    this.#shown = false;
  }
}
