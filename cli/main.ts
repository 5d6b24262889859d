/**
 * The command line: run a `.kvm` script.
 *
 * ```
 * deno run -A vmm.ts SCRIPT.kvm [--backend auto|kvm|emu] [--watchdog 10s] [--json] [--debug]
 * ```
 *
 * Exit codes: 0 every expectation held; 1 an expectation failed; 2 the
 * script is invalid (nothing ran); 3 the backend failed. This is the only
 * module that calls `Deno.exit`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  type ErrorEvent,
  formatDiagnostic,
  HumanOutput,
  JsonLinesOutput,
  type Output,
  parseScript,
  runScript,
  ScriptSyntaxError,
} from "../dsl/mod.ts";
import { parseDurationImage } from "../dsl/tokens.ts";

const USAGE = `Usage: deno run -A vmm.ts SCRIPT.kvm [options]

Runs a .kvm experiment script on real KVM or the built-in emulator.

Options:
  --backend auto|kvm|emu  override every vm block's backend (auto: kvm when
                          /dev/kvm opens, else emu; kvm never falls back)
  --watchdog DURATION     bound of runs without a timeout, e.g. 120s
                          (default 10s; durations as in the script: ms, s, m)
  --json                  one JSON object per line (print, stats, expect,
                          error, summary events)
  --debug                 show stack traces of errors
  -h, --help              show this help

Exit codes: 0 all expectations held, 1 an expectation failed,
2 the script is invalid (nothing ran), 3 the backend failed.`;

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

/** Parses argv, runs the script and returns the exit code. */
export async function main(args: string[]): Promise<number> {
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
  const color = !values.json && Deno.stdout.isTerminal();
  const output: Output = values.json ? new JsonLinesOutput(stdout) : new HumanOutput({
    write: stdout,
    writeError: stderr,
    color,
    // Escape codes only where a terminal shows them.
    colorError: color && Deno.stderr.isTerminal(),
  });
  const start = performance.now();
  const invalid = (errors: ErrorEvent[]): number => {
    for (const error of errors) output.emit(error);
    output.emit({
      event: "summary",
      passed: 0,
      failed: 0,
      backend: "none",
      wallMs: performance.now() - start,
      exitCode: 2,
    });
    return 2;
  };

  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    const message = `cannot read script: ${(e as Error).message}`;
    return invalid([{ event: "error", message, diagnostic: `${file}: error: ${message}` }]);
  }
  try {
    const script = parseScript(text, { file });
    const summary = await runScript(script, {
      output,
      backend,
      debug: values.debug,
      watchdogMs,
    });
    return summary.exitCode;
  } catch (e) {
    if (!(e instanceof ScriptSyntaxError)) throw e;
    return invalid(e.diagnostics.map((d) => ({
      event: "error",
      location: { file: d.file, line: d.line, column: d.column },
      message: d.message,
      diagnostic: formatDiagnostic(d, text),
    })));
  }
}

/**
 * The process entry: runs `main` on `Deno.args` and exits with its code.
 * Reaching the catch is a VMM bug: scripts' and backends' errors become events.
 */
export async function runCli(): Promise<never> {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (e) {
    // runScript turns script and backend errors into events: reaching here is a VMM bug.
    const err = e as Error;
    const debug = Deno.args.includes("--debug");
    stderr(
      `vmm: internal error: ${err.message}${
        debug ? `\n${err.stack}` : " (run with --debug for the stack)"
      }`,
    );
    code = 3;
  }
  Deno.exit(code);
}

if (import.meta.main) await runCli();
