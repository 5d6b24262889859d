/**
 * The `.kvm` script language: parse, check and run scripts.
 *
 * @example Parse, check and run a script on the emulator
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { MemoryOutput, parseScript, runScript } from "./mod.ts";
 * const script = parseScript(
 *   `vm demo { memslot ram gpa 1M size 64K }
 * memslot ram write offset 8 value 0xfeedface
 * let $v = memslot ram read offset 8
 * expect $v == 0xfeedface
 * print "read", hex($v)`,
 *   { file: "demo.kvm" },
 * );
 * const output = new MemoryOutput();
 * const summary = await runScript(script, { backend: "emu", output });
 * assertEquals(summary.outcome, "passed");
 * assertEquals(output.printed, ["read 0xfeedface"]);
 * ```
 *
 * @module
 */
import type { Script } from "./ast.ts";
import { checkScript } from "./check.ts";
import { ScriptSyntaxError } from "./diagnostics.ts";
import { isEngineError, VmmInternalError } from "./internal_error.ts";
import type { VmOpener } from "./build_vm.ts";
import { type ExecuteOptions, executeScript, type RunSummary } from "./interpreter.ts";
import type { Output } from "./output.ts";
import { resolveParameters } from "./params.ts";
import type { Value } from "./values.ts";
import { type BackendChoice, openVm } from "../vmm/create.ts";

export type * from "./ast.ts";
export { checkScript } from "./check.ts";
export { type Diagnostic, formatDiagnostic, ScriptSyntaxError } from "./diagnostics.ts";
export { evaluate, ScriptRuntimeError, type Variables } from "./evaluate.ts";
export type { FunctionHost } from "./functions.ts";
export { hasEngineWording, isEngineError, VmmInternalError } from "./internal_error.ts";
export { executeScript } from "./interpreter.ts";
export type { VmOpener } from "./build_vm.ts";
export type { ExecuteOptions, RunSummary } from "./interpreter.ts";
export type { RunProgress } from "./run_edges.ts";
export * from "./output.ts";
export { parseExpression, type ParseOptions, parseScript } from "./parse.ts";
export {
  formatParameterHelp,
  ParameterError,
  parseParameterValue,
  resolveParameters,
  type ScriptParameter,
  scriptParameters,
} from "./params.ts";
export {
  collectPlots,
  formatPlotTable,
  type Plot,
  plotChart,
  plotFileName,
  type PlotPoint,
  writePlotFiles,
} from "./plot/plots.ts";
export {
  type Chart,
  type ChartAxis,
  type ChartPoint,
  type ChartSeries,
  renderSvgChart,
  SERIES_COLORS,
} from "./plot/svg.ts";
export { formatValue, RecordValue, type Value, Word } from "./values.ts";

/** Options of {@linkcode runScript}. */
export interface RunScriptOptions {
  /** Where results go (`HumanOutput`, `JsonLinesOutput`, `MemoryOutput`). */
  output: Output;
  /** Overrides every vm block's `backend` (default: what each block says, else `auto`). */
  backend?: BackendChoice;
  /** Include stacks in error events. */
  debug?: boolean;
  /** Opens VMs (default `openVm` of `vmm/create.ts`). */
  openVm?: VmOpener;
  /** The watchdog of runs without `timeout` (default 10 s). */
  watchdogMs?: number;
  /** Directories besides the script's own that `guest file` may read from (default none). */
  allowPaths?: readonly string[];
  /** Stops the run from outside: VMs are released, the outcome is `interrupted`. */
  signal?: AbortSignal;
  /** Called about every `progressMs` with the running VM's figures. */
  onProgress?: ExecuteOptions["onProgress"];
  /** The period of `onProgress` (default 1000 ms). */
  progressMs?: number;
  /**
   * Values of the script's parameters by name (without `$`), replacing the
   * defaults of its `param` steps (the CLI's `--set`; `parseParameterValue`
   * reads one from text).
   */
  parameters?: Readonly<Record<string, Value>>;
  /**
   * Called once the script checked and its parameters are resolved, with
   * every parameter's value, before anything runs (the CLI writes its `meta`
   * event there).
   */
  onStart?: (parameters: ReadonlyMap<string, Value>) => void;
}

/**
 * Checks and runs a parsed script.
 *
 * @param script from {@linkcode parseScript}
 * @param options output, backend override, parameter values
 * @returns the summary; its outcome is `passed`, `expectation_failed`, `invalid`
 *   (a value the backend rejects), `backend_failed` or `interrupted`
 * @throws {ScriptSyntaxError} when the script does not check (nothing ran)
 * @throws {ParameterError} when a parameter value names no parameter of the
 *   script or has another type than its default (nothing ran)
 * @throws {VmmInternalError} when the JavaScript engine fails while checking (a VMM bug)
 */
export async function runScript(script: Script, options: RunScriptOptions): Promise<RunSummary> {
  let diagnostics;
  try {
    diagnostics = checkScript(script);
  } catch (e) {
    if (isEngineError(e)) throw new VmmInternalError(e, "checking the script");
    throw e;
  }
  if (diagnostics.length > 0) throw new ScriptSyntaxError(diagnostics, script.source);
  const parameters = resolveParameters(script, options.parameters);
  options.onStart?.(parameters);
  return await executeScript(script, {
    ...options,
    parameters,
    openVm: options.openVm ?? openVm,
  });
}
