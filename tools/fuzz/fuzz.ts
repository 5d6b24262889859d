/**
 * The fuzz loop: seeds first as they are, then mutants and generated
 * scripts in turn, each run by a runner (in this thread, in a worker that a
 * hang can be cut out of, or in a CLI subprocess), tallied by outcome class;
 * crashing inputs are written to a folder.
 *
 * @module
 */
import { join } from "node:path";
import { loadSeeds } from "./corpus.ts";
import {
  CRASH_CLASSES,
  executeInline,
  type Outcome,
  OUTCOME_CLASSES,
  type OutcomeClass,
} from "./execute.ts";
import { Generator } from "./generate.ts";
import { Mutator } from "./mutate.ts";
import { Rng } from "./rng.ts";
import { executeProcess, WorkerRunner } from "./runners.ts";

/** How scripts are run. */
export type FuzzMode = "inline" | "worker" | "process";

/** Options of {@linkcode fuzz}. */
export interface FuzzOptions {
  /** Fixes every script (default 1). */
  seed?: number;
  /** Stop after this many scripts (the test suite's bound). */
  count?: number;
  /** Stop after this many seconds (the long run's bound). */
  seconds?: number;
  /** Default `inline` (count-bounded runs); `worker` and `process` cut hangs at `timeoutMs`. */
  mode?: FuzzMode;
  /** Per-script limit in `worker` and `process` modes (default 20 s). */
  timeoutMs?: number;
  /** Where crashing inputs go (none when absent). */
  out?: string;
  /** Called after each script. */
  progress?: (index: number, outcome: Outcome) => void;
}

/** One crashing input. */
export interface Crash {
  /** Its number in the stream of the seed. */
  index: number;
  /** The script. */
  text: string;
  /** What it came to. */
  outcome: Outcome;
}

/** What a fuzz run found. */
export interface FuzzReport {
  /** Scripts run. */
  total: number;
  /** Scripts per outcome class. */
  counts: Map<OutcomeClass, number>;
  /** The crashing inputs, in order. */
  crashes: Crash[];
}

/** The script number `index` of the stream a seed defines (seeds first, then mutants and generated ones). */
function scriptAt(
  index: number,
  seeds: readonly string[],
  mutator: Mutator,
  gen: Generator,
): string {
  if (index < seeds.length) return seeds[index];
  return index % 2 === 0 ? mutator.mutant() : gen.script();
}

/**
 * Runs the fuzzer.
 *
 * @param options seed, bound (count or seconds), mode, crash folder
 * @returns counts by class and the crashes
 */
export async function fuzz(options: FuzzOptions = {}): Promise<FuzzReport> {
  const rng = new Rng(options.seed ?? 1);
  const gen = new Generator(rng);
  const seeds = loadSeeds().map((s) => s.text);
  const mutator = new Mutator(rng, gen, seeds);
  const mode = options.mode ?? "inline";
  const timeoutMs = options.timeoutMs ?? 20_000;
  const worker = mode === "worker" ? new WorkerRunner(timeoutMs) : undefined;
  const deadline = options.seconds === undefined
    ? Infinity
    : performance.now() + options.seconds * 1000;
  const count = options.count ?? (options.seconds === undefined ? 100 : Infinity);
  const report: FuzzReport = { total: 0, counts: new Map(), crashes: [] };
  if (options.out) await Deno.mkdir(options.out, { recursive: true });
  try {
    for (let i = 0; i < count && performance.now() < deadline; i++) {
      const text = scriptAt(i, seeds, mutator, gen);
      const outcome = mode === "inline"
        ? await executeInline(text)
        : worker
        ? await worker.run(text)
        : await executeProcess(text, timeoutMs);
      report.total++;
      report.counts.set(outcome.class, (report.counts.get(outcome.class) ?? 0) + 1);
      if (CRASH_CLASSES.has(outcome.class)) {
        report.crashes.push({ index: i, text, outcome });
        if (options.out) {
          const base = join(options.out, `${outcome.class}-seed${options.seed ?? 1}-${i}`);
          await Deno.writeTextFile(`${base}.kvm`, text);
          await Deno.writeTextFile(
            `${base}.txt`,
            `${outcome.class} (exit ${outcome.exit ?? "none"}): ${outcome.detail}\n`,
          );
        }
      }
      options.progress?.(i, outcome);
    }
  } finally {
    worker?.close();
  }
  return report;
}

/** The report as a table: class, count, share, and the first crash of each crash class. */
export function formatReport(report: FuzzReport): string {
  const rows = [["class", "scripts", "share", "first example"]];
  for (const cls of OUTCOME_CLASSES) {
    const n = report.counts.get(cls) ?? 0;
    const first = report.crashes.find((c) => c.outcome.class === cls);
    rows.push([
      (CRASH_CLASSES.has(cls) ? "CRASH " : "") + cls,
      String(n),
      report.total ? `${((100 * n) / report.total).toFixed(1)}%` : "-",
      first ? `#${first.index}: ${first.outcome.detail.slice(0, 70)}` : "",
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const lines = rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join("  ").trimEnd());
  lines.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  lines.push(`${report.total} scripts, ${report.crashes.length} crashing`);
  return lines.join("\n");
}
