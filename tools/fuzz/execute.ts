/**
 * Runs one script through parse → check → run on the emulator, in this
 * process, and classifies what came out. A crash is anything but a clean
 * result or a located diagnostic: an internal error, JavaScript's wording
 * in a message, an error without a location, no summary, a timeout, memory.
 *
 * @module
 */
import {
  hasEngineWording,
  MemoryOutput,
  type OutputEvent,
  parseScript,
  runScript,
  ScriptSyntaxError,
  VmmInternalError,
} from "../../dsl/mod.ts";
import { exitCodeFor } from "../../cli/exit_codes.ts";

/** What a script came to. */
export type OutcomeClass =
  | "ok"
  | "expect-failed"
  | "invalid"
  | "runtime-error"
  | "internal"
  | "js-error"
  | "unlocated"
  | "no-output"
  | "timeout"
  | "memory";

/** Every class, clean results first, in the order the table shows them. */
export const OUTCOME_CLASSES: readonly OutcomeClass[] = [
  "ok",
  "expect-failed",
  "invalid",
  "runtime-error",
  "internal",
  "js-error",
  "unlocated",
  "no-output",
  "timeout",
  "memory",
];

/** The classes that are bugs of the VMM: all but the first four. */
export const CRASH_CLASSES: ReadonlySet<OutcomeClass> = new Set(OUTCOME_CLASSES.slice(4));

/** The class and what shows it. */
export interface Outcome {
  /** What the script came to. */
  class: OutcomeClass;
  /** The exit code the CLI would give (undefined when none came). */
  exit?: number;
  /** The first line of the telling message. */
  detail: string;
}

/** The longest a run may wait in a script (`timeout` values are capped to it). */
export const RUN_CAP_MS = 2000;

/**
 * Caps every `timeout` of a script at {@linkcode RUN_CAP_MS}, so that the
 * work per script is bounded by the script, not by a clock of the fuzzer.
 */
export function capTimeouts(text: string): string {
  return text.replace(/\btimeout(\s+)([0-9][0-9_]*)(ms|s|m)\b/g, (all, ws, n, unit) => {
    const ms = Number(n.replaceAll("_", "")) * (unit === "ms" ? 1 : unit === "s" ? 1000 : 60_000);
    return ms > RUN_CAP_MS ? `timeout${ws}${RUN_CAP_MS}ms` : all;
  });
}

/** A diagnostic as the CLI prints it: `file:line:col: error: …`, the line, the caret. */
const LOCATED = /^[^\n]+:\d+:\d+: error: [^\n]+\n[^\n]*\n[ \t]*\^~*/;

function firstLine(text: string): string {
  return text.split("\n")[0].slice(0, 200);
}

/** Classifies a diagnostic text: located and free of engine wording, else the crash it shows. */
function diagnosticClass(text: string, fallback: OutcomeClass): OutcomeClass {
  if (/internal error/i.test(text)) return "internal";
  if (hasEngineWording(text)) return "js-error";
  return LOCATED.test(text) ? fallback : "unlocated";
}

function syntaxOutcome(e: ScriptSyntaxError): Outcome {
  const blocks = e.diagnostics.length;
  const ok = blocks > 0 && e.diagnostics.every((d) => d.line >= 1 && d.column >= 1);
  const cls = ok ? diagnosticClass(e.formatted, "invalid") : "unlocated";
  return { class: cls, exit: 2, detail: firstLine(e.formatted) };
}

function thrownOutcome(e: unknown): Outcome {
  if (e instanceof ScriptSyntaxError) return syntaxOutcome(e);
  const message = e instanceof Error ? e.message : String(e);
  // Escaping runScript is what the CLI reports as `vmm: internal error`.
  return {
    class: e instanceof VmmInternalError || !hasEngineWording(message) ? "internal" : "js-error",
    exit: 3,
    detail: firstLine(message),
  };
}

/** Classifies the events of a run that returned a summary. */
export function eventsOutcome(events: readonly OutputEvent[]): Outcome {
  const summary = events.findLast((e) => e.event === "summary");
  if (!summary || summary.event !== "summary") {
    return { class: "no-output", detail: "no summary event" };
  }
  const exit = exitCodeFor(summary.outcome);
  for (const e of events) {
    if (e.event === "error") {
      const cls = diagnosticClass(e.diagnostic, "runtime-error");
      if (cls !== "runtime-error" || !e.location) {
        return {
          class: cls === "runtime-error" ? "unlocated" : cls,
          exit,
          detail: firstLine(e.diagnostic),
        };
      }
    }
    if (e.event === "expect" && e.message && hasEngineWording(e.message)) {
      return { class: "js-error", exit, detail: firstLine(e.message) };
    }
  }
  const error = events.find((e) => e.event === "error");
  if (exit === 3) {
    return error?.event === "error"
      ? { class: "runtime-error", exit, detail: firstLine(error.diagnostic) }
      : { class: "unlocated", exit, detail: "exit 3 without an error event" };
  }
  if (exit === 2) {
    // Through the CLI: the diagnostics came as error events, each located (checked above).
    return error?.event === "error"
      ? { class: "invalid", exit, detail: firstLine(error.diagnostic) }
      : { class: "unlocated", exit, detail: "exit 2 without an error event" };
  }
  if (exit === 1) return { class: "expect-failed", exit, detail: "an expectation failed" };
  if (exit === 0) return { class: "ok", exit, detail: "" };
  return { class: "internal", exit, detail: `exit code ${exit}` };
}

/** Options of {@linkcode executeInline}. */
export interface InlineOptions {
  /** The script's file name (guest files are relative to its directory). */
  file?: string;
  /** The watchdog of runs without `timeout`. */
  watchdogMs?: number;
}

/**
 * Parses, checks and runs a script on the emulator in this process.
 *
 * @param text the script (its timeouts are capped: {@linkcode capTimeouts})
 * @param options file name and watchdog
 * @returns the outcome
 */
export async function executeInline(text: string, options: InlineOptions = {}): Promise<Outcome> {
  const output = new MemoryOutput();
  try {
    const script = parseScript(capTimeouts(text), { file: options.file ?? "fuzz.kvm" });
    await runScript(script, {
      output,
      backend: "emu",
      watchdogMs: options.watchdogMs ?? RUN_CAP_MS,
    });
  } catch (e) {
    return thrownOutcome(e);
  }
  return eventsOutcome(output.events);
}
