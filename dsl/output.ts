/**
 * Where a running script's results go. The interpreter emits
 * {@linkcode OutputEvent}s; {@linkcode HumanOutput} writes them for people,
 * {@linkcode JsonLinesOutput} as one JSON object per line, and
 * {@linkcode MemoryOutput} keeps them for tests and library callers.
 *
 * @module
 */
import { styleText } from "node:util";
import { collectPlots, formatPlotTable } from "./plot/plots.ts";
import { toJsonValue, type Value } from "./values.ts";

/** A location in the script. */
export interface EventLocation {
  /** The script's path. */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
}

/** `print`: the formatted line and the values. */
export interface PrintEvent {
  /** The event's type. */
  event: "print";
  /** The formatted line. */
  text: string;
  /** The printed values. */
  values: Value[];
}

/** `stats`: counters, as deltas since `mark` when there was one. */
export interface StatsEvent {
  /** The event's type. */
  event: "stats";
  /** The VM's name. */
  vm: string;
  /** Its backend. */
  backend: string;
  /** The label of the last `mark` (deltas), or null (values since the VM was created). */
  mark: string | null;
  /** Counter values by stat name. */
  stats: Record<string, bigint>;
}

/** `expect` and `expect error`: one event per evaluation. */
export interface ExpectEvent {
  /** The event's type. */
  event: "expect";
  /** Whether the expectation held. */
  ok: boolean;
  /** Where the expectation is. */
  location: EventLocation;
  /** The expression's source (`expect error`: `error EINVAL`). */
  expression: string;
  /** The `else` message, or why an `expect error` failed. */
  message?: string;
  /** Operands and their values (on failure). */
  operands: { expression: string; value: Value }[];
  /** The formatted diagnostic (on failure). */
  diagnostic?: string;
}

/** `plot`: one point of a plot (the plot is the set of points of the same title). */
export interface PlotEvent {
  /** The event's type. */
  event: "plot";
  /** The plot's title. */
  title: string;
  /** The line the point belongs to, or null (one line, named after the y axis). */
  series: string | null;
  /** The point along the x axis (an integer or a float). */
  x: Value;
  /** The point along the y axis (an integer or a float). */
  y: Value;
  /** The x axis's label (with its unit when the script gives one). */
  xLabel: string;
  /** The y axis's label. */
  yLabel: string;
  /** A logarithmic x axis. */
  logX: boolean;
  /** A logarithmic y axis. */
  logY: boolean;
  /** Where the `plot` step is. */
  location: EventLocation;
}

/**
 * A runtime error that stopped the script, or a guest's `fail` ucall (the
 * script goes on; the failure is counted in the summary's `failed`).
 */
export interface ErrorEvent {
  /** The event's type. */
  event: "error";
  /** Where the script stopped (absent when no step is to blame). */
  location?: EventLocation;
  /** What went wrong. */
  message: string;
  /** The formatted diagnostic(s). */
  diagnostic: string;
  /** The stack, only with `--debug`. */
  stack?: string;
}

/**
 * A `run` that ended for a reason the script did not ask for (a write to a
 * read-only slot, an unclaimed MMIO or port access, `until sync "L"` ending
 * in `done` without L). The script goes on; `$exit` holds the exit.
 */
export interface WarningEvent {
  /** The event's type. */
  event: "warning";
  /** Where the `run` step is. */
  location: EventLocation;
  /** What happened, naming the exit and the vCPU. */
  message: string;
  /** The exit's reason (`$exit.reason`). */
  exit: string;
  /** The vCPU it came from. */
  vcpu: number;
  /** The formatted diagnostic (`file:line:col: warning: …` with the caret). */
  diagnostic: string;
}

/**
 * What a run came to: `passed` every expectation held, `expectation_failed`
 * one failed (the script ran to its end), `invalid` the script is invalid
 * (nothing ran, or a value the backend rejected as meaningless),
 * `backend_failed` the backend or the guest failed, `interrupted` the run
 * was stopped from outside (its abort signal).
 */
export type RunOutcome =
  | "passed"
  | "expectation_failed"
  | "invalid"
  | "backend_failed"
  | "interrupted";

/** The last event of every run. */
export interface SummaryEvent {
  /** The event's type. */
  event: "summary";
  /** Expectations that held. */
  passed: number;
  /** Expectations that failed (and guests' `fail` ucalls). */
  failed: number;
  /** Backends used, comma separated (`none` when no VM was created). */
  backend: string;
  /** Wall time of the whole run, in milliseconds. */
  wallMs: number;
  /** What the run came to. */
  outcome: RunOutcome;
}

/**
 * The first event of a run written by a tool (the CLI's `--json`): where the
 * figures that follow come from.
 */
export interface MetaEvent {
  /** The event's type. */
  event: "meta";
  /** The tool's version. */
  version: string;
  /** The script's path as given. */
  script: string;
  /** Script parameters and their values. */
  parameters: Record<string, Value>;
  /** The backend `auto` or `--backend` resolves to (a vm block may still name another). */
  backend: string;
  /** The host kernel's release (`uname -r`). */
  kernel: string;
  /** The host's KVM module (`kvm_intel`, `kvm_amd`, `kvm_pvm`), or `none`. */
  kvmModule: string;
  /** The MMU the host's KVM uses (`tdp`, `shadow`) and where that was read. */
  mmu: string;
  /** The CPU model (`/proc/cpuinfo`). */
  cpu: string;
  /** The Deno version. */
  deno: string;
}

/** Anything a script run reports. */
export type OutputEvent =
  | MetaEvent
  | PrintEvent
  | StatsEvent
  | ExpectEvent
  | PlotEvent
  | ErrorEvent
  | WarningEvent
  | SummaryEvent;

/** A sink for events. */
export interface Output {
  /** Takes one event. */
  emit(event: OutputEvent): void;
}

/** Options of {@linkcode HumanOutput}. */
export interface HumanOutputOptions {
  /** Writes one line of normal output (print, stats, summary). */
  write: (line: string) => void;
  /** Writes one line of diagnostics (failed expectations, errors); default `write`. */
  writeError?: (line: string) => void;
  /** Colour normal output (only when writing to a terminal). */
  color?: boolean;
  /** Colour diagnostics (default: `color`). */
  colorError?: boolean;
}

/** Formats a stats event as a table (without trailing newline). */
export function formatStatsTable(event: StatsEvent): string {
  const title = event.mark === null
    ? `stats (vm ${event.vm}, ${event.backend})`
    : `stats since mark "${event.mark}" (vm ${event.vm}, ${event.backend})`;
  const names = Object.keys(event.stats);
  const width = Math.max(0, ...names.map((n) => n.length));
  const values = names.map((n) => event.stats[n].toString());
  const valueWidth = Math.max(0, ...values.map((v) => v.length));
  const rows = names.map((n, i) => `  ${n.padEnd(width)}  ${values[i].padStart(valueWidth)}`);
  return [title, ...rows].join("\n");
}

/** Formats the summary line (an invalid script's says nothing ran; an interrupted one says so). */
export function formatSummary(event: SummaryEvent): string {
  const seconds = (event.wallMs / 1000).toFixed(2);
  const note = event.outcome === "invalid" && event.backend === "none"
    ? " (nothing ran: the script is invalid)"
    : event.outcome === "interrupted"
    ? " (interrupted)"
    : "";
  return `${event.passed} expectation${
    event.passed === 1 ? "" : "s"
  } passed, ${event.failed} failed; backend ${event.backend}${note}; ${seconds} s`;
}

/**
 * Human-readable output: prints and stats on `write`, diagnostics on
 * `writeError`, each plot as a table at the end, and the summary as the
 * last line.
 */
export class HumanOutput implements Output {
  readonly #write: (line: string) => void;
  readonly #writeError: (line: string) => void;
  readonly #color: boolean;
  readonly #colorError: boolean;
  readonly #plots: PlotEvent[] = [];

  /**
   * Creates the output.
   *
   * @param options where lines go, and whether to colour them
   */
  constructor(options: HumanOutputOptions) {
    this.#write = options.write;
    this.#writeError = options.writeError ?? options.write;
    this.#color = options.color ?? false;
    this.#colorError = options.colorError ?? this.#color;
  }

  #style(format: Parameters<typeof styleText>[0], text: string, color = this.#color): string {
    return color ? styleText(format, text) : text;
  }

  #diagnostic(text: string): string {
    return text.replace(
      /^([^\n]*?: )(error|warning):/,
      (_, where: string, severity: string) =>
        `${this.#style("bold", where, this.#colorError)}${
          this.#style(
            ["bold", severity === "error" ? "red" : "yellow"],
            `${severity}:`,
            this.#colorError,
          )
        }`,
    );
  }

  /** Writes one event. */
  emit(event: OutputEvent): void {
    switch (event.event) {
      case "print":
        this.#write(event.text);
        break;
      case "stats":
        this.#write(formatStatsTable(event));
        break;
      case "expect":
        if (!event.ok && event.diagnostic) this.#writeError(this.#diagnostic(event.diagnostic));
        break;
      case "error":
        this.#writeError(this.#diagnostic(event.diagnostic));
        if (event.stack) this.#writeError(event.stack);
        break;
      case "plot":
        this.#plots.push(event);
        break;
      case "warning":
        this.#writeError(this.#diagnostic(event.diagnostic));
        break;
      case "summary": {
        for (const plot of collectPlots(this.#plots)) this.#write(formatPlotTable(plot));
        const line = formatSummary(event);
        this.#write(this.#style(event.outcome === "passed" ? "green" : ["bold", "red"], line));
        break;
      }
      case "meta":
        // Provenance for scripted consumers; people have --version.
        break;
    }
  }
}

/** One JSON object per line; integers as JSON numbers when exact, else decimal strings. */
export class JsonLinesOutput implements Output {
  readonly #write: (line: string) => void;

  /**
   * Creates the output.
   *
   * @param write writes one line
   */
  constructor(write: (line: string) => void) {
    this.#write = write;
  }

  /** Writes one event as one line of JSON. */
  emit(event: OutputEvent): void {
    this.#write(JSON.stringify(event, (_key, value) => {
      if (typeof value === "bigint") return toJsonValue(value);
      if (
        value !== null && typeof value === "object" && !Array.isArray(value) &&
        value.constructor?.name !== "Object"
      ) {
        return toJsonValue(value as Value);
      }
      return value;
    }));
  }
}

/** Keeps every event (for tests and library callers). */
export class MemoryOutput implements Output {
  /** The events, in order. */
  readonly events: OutputEvent[] = [];

  /** Keeps one event. */
  emit(event: OutputEvent): void {
    this.events.push(event);
  }

  /** The texts of the `print` events. */
  get printed(): string[] {
    return this.events.flatMap((e) => (e.event === "print" ? [e.text] : []));
  }
}
