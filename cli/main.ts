/**
 * The command line: run a `.kvm` script.
 *
 * ```
 * deno run -A vmm.ts SCRIPT.kvm [--backend auto|kvm|emu] [--watchdog 10s] [--json] [--debug]
 *     [--set NAME=VALUE]… [--plots DIR]
 * deno run -A vmm.ts --help-params SCRIPT.kvm
 * ```
 *
 * Exit codes (see `exit_codes.ts`): 0 every expectation held; 1 an
 * expectation failed; 2 the script is invalid (nothing ran); 3 the backend
 * failed; 130 / 143 SIGINT / SIGTERM stopped the run (VMs released, summary
 * written). This module and `signals.ts` are the only ones that call `Deno.exit`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  collectPlots,
  type ErrorEvent,
  formatDiagnostic,
  formatParameterHelp,
  HumanOutput,
  JsonLinesOutput,
  type Output,
  ParameterError,
  parseParameterValue,
  parseScript,
  type PlotEvent,
  type RunOutcome,
  runScript,
  ScriptSyntaxError,
  type SummaryEvent,
  type Value,
  writePlotFiles,
} from "../dsl/mod.ts";
import { parseDurationImage } from "../dsl/tokens.ts";
import { exitCodeFor, type InterruptSignal } from "./exit_codes.ts";
import { metaEvent, VERSION } from "./meta.ts";
import { ProgressLine } from "./progress.ts";
import { listenForInterrupts } from "./signals.ts";

const USAGE = `Usage: deno run -A vmm.ts SCRIPT.kvm [options]

Runs a .kvm experiment script on real KVM or the built-in emulator.

Options:
  --backend auto|kvm|emu  override every vm block's backend (auto: kvm when
                          /dev/kvm opens, else emu; kvm never falls back)
  --watchdog DURATION     bound of runs without a timeout, e.g. 120s
                          (default 10s; durations as in the script: ms, s, m)
  --json                  one JSON object per line (meta, print, stats,
                          expect, plot, error, summary events)
  --debug                 show stack traces of errors
  --allow-path DIR        let 'guest file' read from DIR too (default: only
                          the script's directory; may be repeated)
  --set NAME=VALUE        give the script's parameter NAME (param $NAME) the
                          value VALUE, a literal: 4, 1G, zap_all, "text",
                          [1, 2, 4] (may be repeated)
  --help-params           list the script's parameters and their defaults
  --plots DIR             write one SVG chart per plot into DIR
  --version               print the tool's version
  -h, --help              show this help

Exit codes: 0 all expectations held, 1 an expectation failed,
2 the script is invalid (nothing ran), 3 the backend failed,
130 / 143 interrupted by SIGINT / SIGTERM (VMs released, summary written).`;

const encoder = new TextEncoder();

function writeAll(file: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text + "\n");
  while (bytes.length > 0) bytes = bytes.subarray(file.writeSync(bytes));
}

// A reader that went away (`vmm.ts x.kvm --json | head`) is not an error of the
// script: stop writing and let the script finish and release its VMs.
let stdoutGone = false;

function stdout(line: string): void {
  if (stdoutGone) return;
  try {
    writeAll(Deno.stdout, line);
  } catch (e) {
    if (!(e instanceof Deno.errors.BrokenPipe)) throw e;
    stdoutGone = true;
  }
}

function stderr(line: string): void {
  writeAll(Deno.stderr, line);
}

/** A duration written as in scripts (`500ms`, `120s`, `2m`) in ms; 0 when it is not one. */
function durationMs(text: string): number {
  return /^[0-9][0-9_]*(?:ms|s|m)$/.test(text) ? parseDurationImage(text) : 0;
}

/** How a run is stopped from outside (see `signals.ts`). */
export interface MainOptions {
  /** Aborts the run. */
  signal?: AbortSignal;
  /** Which signal aborted it (its exit code). */
  received?: () => InterruptSignal | undefined;
}

/**
 * The CLI's output: the library's events, with the exit code added to the
 * summary (scripted users read it there), the progress line erased before
 * anything else is written, and the plots handed to `charts` (`--plots`)
 * before the summary.
 */
function cliOutput(
  inner: Output,
  exitCode: (outcome: RunOutcome) => number,
  progress?: ProgressLine,
  charts?: (plots: PlotEvent[]) => void,
): Output {
  const plots: PlotEvent[] = [];
  return {
    emit(event) {
      progress?.clear();
      if (event.event === "plot") plots.push(event);
      if (event.event !== "summary") return inner.emit(event);
      charts?.(plots);
      const summary: SummaryEvent & { exitCode: number } = {
        ...event,
        exitCode: exitCode(event.outcome),
      };
      inner.emit(summary);
    },
  };
}

/** Parses argv, runs the script and returns the exit code. */
export async function main(args: string[], options: MainOptions = {}): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        backend: { type: "string" },
        watchdog: { type: "string" },
        json: { type: "boolean", default: false },
        debug: { type: "boolean", default: false },
        "allow-path": { type: "string", multiple: true, default: [] },
        set: { type: "string", multiple: true, default: [] },
        "help-params": { type: "boolean", default: false },
        plots: { type: "string" },
        version: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (e) {
    stderr(`vmm: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    stdout(USAGE);
    return 0;
  }
  if (values.version) {
    stdout(`kvmmu ${VERSION}`);
    return 0;
  }
  if (positionals.length !== 1) {
    stderr(`vmm: expected exactly one script, got ${positionals.length}\n\n${USAGE}`);
    return 2;
  }
  const backend = values.backend;
  if (backend !== undefined && backend !== "auto" && backend !== "kvm" && backend !== "emu") {
    stderr(`vmm: --backend must be auto, kvm or emu, not '${backend}'`);
    return 2;
  }
  const watchdog = values.watchdog;
  const watchdogMs = watchdog === undefined ? undefined : durationMs(watchdog);
  if (watchdogMs === 0) {
    stderr(`vmm: --watchdog must be a duration above 0 such as 120s, not '${watchdog}'`);
    return 2;
  }
  const file = positionals[0];
  if (values["help-params"]) return await helpParams(file);
  const plotsDir = values.plots;
  if (plotsDir !== undefined) {
    try {
      Deno.mkdirSync(plotsDir, { recursive: true });
    } catch (e) {
      stderr(`vmm: --plots ${plotsDir}: ${(e as Error).message}`);
      return 2;
    }
  }
  const color = !values.json && Deno.stdout.isTerminal();
  // A terminal's stderr only: never in --json, never into a pipe or a file.
  const progress = !values.json && Deno.stderr.isTerminal()
    ? new ProgressLine((text) => Deno.stderr.writeSync(encoder.encode(text)))
    : undefined;
  const exitCode = (outcome: RunOutcome) => exitCodeFor(outcome, options.received?.());
  const output = cliOutput(
    values.json ? new JsonLinesOutput(stdout) : new HumanOutput({
      write: stdout,
      writeError: stderr,
      color,
      // Escape codes only where a terminal shows them.
      colorError: color && Deno.stderr.isTerminal(),
    }),
    exitCode,
    progress,
    plotsDir === undefined ? undefined : (events) => {
      try {
        const paths = writePlotFiles(plotsDir, collectPlots(events));
        if (!values.json) { for (const path of paths) stdout(`chart written: ${path}`); }
      } catch (e) {
        stderr(`vmm: cannot write the charts into ${plotsDir}: ${(e as Error).message}`);
      }
    },
  );
  // The first event; its parameters are known once the script checked.
  let metaSent = false;
  const meta = (parameters: Record<string, Value> = {}) => {
    if (!metaSent) output.emit(metaEvent(file, backend, parameters));
    metaSent = true;
  };
  const start = performance.now();
  const invalid = (errors: ErrorEvent[]): number => {
    meta();
    for (const error of errors) output.emit(error);
    output.emit({
      event: "summary",
      passed: 0,
      failed: 0,
      backend: "none",
      wallMs: performance.now() - start,
      outcome: "invalid",
    });
    return exitCode("invalid");
  };
  const message = (text: string): ErrorEvent[] => [
    { event: "error", message: text, diagnostic: `${file}: error: ${text}` },
  ];

  const parameters: Record<string, Value> = {};
  for (const setting of values.set) {
    const eq = setting.indexOf("=");
    const name = setting.slice(0, Math.max(eq, 0)).replace(/^\$/, "");
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) {
      return invalid(message(`--set takes NAME=VALUE (a parameter's name), not '${setting}'`));
    }
    try {
      parameters[name] = parseParameterValue(setting.slice(eq + 1));
    } catch (e) {
      if (!(e instanceof ParameterError)) throw e;
      return invalid(message(`--set ${setting}: ${e.message}`));
    }
  }

  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    return invalid(message(`cannot read script: ${(e as Error).message}`));
  }
  try {
    const script = parseScript(text, { file });
    const summary = await runScript(script, {
      output,
      backend,
      debug: values.debug,
      watchdogMs,
      allowPaths: values["allow-path"],
      signal: options.signal,
      onProgress: progress && ((p) => progress.update(p)),
      parameters,
      onStart: (values) => meta(Object.fromEntries(values)),
    });
    return exitCode(summary.outcome);
  } catch (e) {
    if (e instanceof ParameterError) return invalid(message(e.message));
    if (!(e instanceof ScriptSyntaxError)) throw e;
    return invalid(e.diagnostics.map((d) => ({
      event: "error",
      location: { file: d.file, line: d.line, column: d.column },
      message: d.message,
      diagnostic: formatDiagnostic(d, text),
    })));
  }
}

/** `--help-params SCRIPT`: the script's parameters and defaults on stdout. */
async function helpParams(file: string): Promise<number> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    stderr(`vmm: cannot read script: ${(e as Error).message}`);
    return 2;
  }
  try {
    stdout(formatParameterHelp(parseScript(text, { file })));
    return 0;
  } catch (e) {
    if (!(e instanceof ScriptSyntaxError)) throw e;
    stderr(e.formatted);
    return 2;
  }
}

/**
 * The process entry: runs `main` on `Deno.args` and exits with its code.
 * Reaching the catch is a VMM bug: scripts' and backends' errors become events.
 */
export async function runCli(): Promise<never> {
  const interruption = listenForInterrupts();
  let code: number;
  try {
    code = await main(Deno.args, {
      signal: interruption.signal,
      received: () => interruption.received,
    });
  } catch (e) {
    // runScript turns script and backend errors into events: reaching here is a VMM bug.
    const err = e as Error;
    const debug = Deno.args.includes("--debug");
    stderr(
      `vmm: internal error: ${err.message}${
        debug ? `\n${err.stack}` : " (run with --debug for the stack)"
      }`,
    );
    code = exitCodeFor("backend_failed");
  } finally {
    interruption.dispose();
  }
  Deno.exit(code);
}

if (import.meta.main) await runCli();
