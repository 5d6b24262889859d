/**
 * Running scripts in DSL tests: the checker's problems as `LINE:COL message`,
 * a run's events, and the error and failed-expectation diagnostics in them.
 *
 * @module
 */
import { TEST_WATCHDOG_MS } from "./wait.ts";
import { checkScript } from "../../dsl/check.ts";
import { parseScript } from "../../dsl/parse.ts";
import {
  type ErrorEvent,
  type ExpectEvent,
  MemoryOutput,
  type OutputEvent,
  runScript,
  type RunSummary,
} from "../../dsl/mod.ts";
import { openVm } from "../../vmm/create.ts";
import type { BackendKind, Vm } from "../../vmm/types.ts";

/** The checker's problems with a script (file `c.kvm`), as `LINE:COL message`. */
export function problems(text: string): string[] {
  return checkScript(parseScript(text, { file: "c.kvm" })).map((d) =>
    `${d.line}:${d.column} ${d.message}`
  );
}

/** What a run came to. */
export interface Outcome {
  summary: RunSummary;
  events: OutputEvent[];
  printed: string[];
}

/** Runs a script (file `x.kvm`) on real VMs; `patch` sees each VM as it opens. */
export async function run(
  backend: BackendKind | undefined,
  text: string,
  patch?: (vm: Vm) => void,
): Promise<Outcome> {
  const output = new MemoryOutput();
  const summary = await runScript(parseScript(text, { file: "x.kvm" }), {
    output,
    backend,
    watchdogMs: TEST_WATCHDOG_MS,
    openVm: (config, choice) => {
      const vm = openVm(config, choice);
      patch?.(vm);
      return vm;
    },
  });
  return { summary, events: output.events, printed: output.printed };
}

/** The diagnostics of the run's error events. */
export function errors(o: Outcome): string[] {
  return o.events.flatMap((e) => (e.event === "error" ? [(e as ErrorEvent).diagnostic] : []));
}

/** The diagnostics of the run's failed expectations. */
export function failures(o: Outcome): string[] {
  return o.events.flatMap((e) =>
    e.event === "expect" && !e.ok ? [(e as ExpectEvent).diagnostic!] : []
  );
}
