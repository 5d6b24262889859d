/**
 * Runs a `.kvm` script file through the library, as `deno run -A vmm.ts
 * FILE --backend B --set NAME=VALUE` would, and keeps its events: the
 * experiments of the report are the scripts a user can run.
 *
 * @module
 */
import {
  collectPlots,
  formatValue,
  MemoryOutput,
  type OutputEvent,
  parseParameterValue,
  parseScript,
  type Plot,
  type PrintEvent,
  runScript,
  type Value,
} from "../../dsl/mod.ts";
import { probeKvm } from "../../vmm/kvm/mod.ts";

/** The repository's root, from this file's place in it. */
export const ROOT: string = new URL("../../", import.meta.url).pathname;

/** What one script run produced. */
export interface ScriptRun {
  /** The command that reproduces it. */
  command: string;
  /** Every event, in order. */
  events: OutputEvent[];
  /** The `print` events. */
  prints: PrintEvent[];
  /** The `plot` points grouped into plots. */
  plots: Plot[];
  /** Wall seconds of the run. */
  wallSeconds: number;
}

/** Whether /dev/kvm opens here (the kvm halves of the claims run only then). */
export function kvmAvailable(): boolean {
  return probeKvm().ok;
}

/**
 * Runs a script file with parameters; fails unless every expectation held.
 *
 * @param file the script, relative to the repository's root
 * @param backend the backend every vm block runs on
 * @param set parameter values as `--set` takes them (`{ counts: "[1, 4]" }`)
 * @returns the events
 * @throws {Error} when the run does not pass, with its diagnostics
 */
export async function runScriptFile(
  file: string,
  backend: "emu" | "kvm",
  set: Readonly<Record<string, string>> = {},
): Promise<ScriptRun> {
  const source = await Deno.readTextFile(ROOT + file);
  const parameters: Record<string, Value> = {};
  for (const [name, text] of Object.entries(set)) parameters[name] = parseParameterValue(text);
  const output = new MemoryOutput();
  const t0 = performance.now();
  const summary = await runScript(parseScript(source, { file }), {
    output,
    backend,
    parameters,
    // Wall-time guard only; the figures are modelled (emu) or measured (kvm).
    watchdogMs: 900_000,
  });
  const wallSeconds = (performance.now() - t0) / 1000;
  const sets = Object.entries(set).map(([k, v]) => ` --set '${k}=${v}'`).join("");
  const command = `deno run -A vmm.ts ${file} --backend ${backend}${sets}`;
  if (summary.outcome !== "passed") {
    const diagnostics = output.events.flatMap((e) =>
      e.event === "error" || (e.event === "expect" && !e.ok) ? [e.diagnostic ?? ""] : []
    );
    throw new Error(`${command}: ${summary.outcome}\n${diagnostics.join("\n")}`);
  }
  const prints = output.events.filter((e): e is PrintEvent => e.event === "print");
  const plots = collectPlots(output.events.flatMap((e) => e.event === "plot" ? [e] : []));
  return { command, events: output.events, prints, plots, wallSeconds };
}

/**
 * The number printed right after a label: the first `print` whose values
 * hold a string starting with `label` (spaces trimmed), the next value.
 *
 * @param run the run
 * @param label the printed label
 * @param nth which match (0 = the first)
 * @returns the value as a number
 * @throws {Error} when no print has the label
 */
export function printedNumber(run: ScriptRun, label: string, nth = 0): number {
  let seen = 0;
  for (const p of run.prints) {
    for (let i = 0; i + 1 < p.values.length; i++) {
      const v = p.values[i];
      if (typeof v === "string" && v.trim().startsWith(label) && seen++ === nth) {
        return Number(p.values[i + 1]);
      }
    }
  }
  throw new Error(`${run.command}: nothing printed after '${label}'`);
}

/**
 * Rows printed as `print "KEY", a, "name", value, …`: each print whose first
 * value is `key`, as a record of its name/value pairs after the first
 * `lead` values (kept as `_0`, `_1` …).
 *
 * @param run the run
 * @param key the first printed value
 * @param lead positional values after the key
 * @returns one record per matching print
 */
export function printedRows(
  run: ScriptRun,
  key: string,
  lead = 0,
): Record<string, string | number>[] {
  return run.prints.filter((p) => p.values[0] === key).map((p) => {
    const row: Record<string, string | number> = {};
    const rest = p.values.slice(1);
    for (let i = 0; i < lead; i++) row[`_${i}`] = scalar(rest[i]);
    for (let i = lead; i + 1 < rest.length; i += 2) row[String(rest[i])] = scalar(rest[i + 1]);
    return row;
  });
}

function scalar(v: Value): string | number {
  return typeof v === "number" || typeof v === "bigint" ? Number(v) : formatValue(v);
}
