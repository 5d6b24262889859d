/**
 * The run policy of `Vm.run`, shared by both backends so that the same
 * script stops at the same exits on kvm and emu: which vCPUs take part
 * ({@linkcode runnableVcpus}), what a run with nothing left to run returns
 * ({@linkcode nothingToRun}), which exits end the run
 * ({@linkcode RunControl.classify}), and how a run that reaches its time
 * bound ends ({@linkcode RunControl.limitMs}, {@linkcode RunControl.expired}:
 * a `timeout` exit, or the 10 s watchdog's error). A backend only drives its
 * vCPUs and acts on the answers; the policy never touches a vCPU.
 *
 * @module
 */
import { WatchdogError } from "./errors.ts";
import type { RunOptions, RunUntil, VcpuExit } from "./types.ts";

/** What the backend does with an exit. */
export type ExitAction =
  /** Resume the vCPU at once (an unhandled `sync` under `until done`). */
  | "continue"
  /** Call `onExit`, then resume the vCPU. */
  | "handle"
  /** This vCPU is finished (it reported `done`); keep running the others. */
  | "park"
  /** Stop the whole run and resolve with this exit. */
  | "stop";

/** Default watchdog when a `run` has no explicit timeout. */
export const DEFAULT_WATCHDOG_MS = 10_000;

/**
 * The vCPUs a run drives: `options.vcpu`, or every vCPU, minus those that
 * already reported `done`.
 *
 * @param options the run's options
 * @param vcpuCount the VM's vCPUs
 * @param finished whether a vCPU reported `done` in an earlier run
 * @returns the vCPU indexes, in order (empty: see {@linkcode nothingToRun})
 * @throws {RangeError} when `options.vcpu` does not exist
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { runnableVcpus } from "./run_control.ts";
 * assertEquals(runnableVcpus({}, 3, (i) => i === 1), [0, 2]);
 * ```
 */
export function runnableVcpus(
  options: RunOptions,
  vcpuCount: number,
  finished: (vcpu: number) => boolean,
): number[] {
  const v = options.vcpu;
  if (v !== undefined) {
    if (!Number.isInteger(v) || v < 0 || v >= vcpuCount) {
      throw new RangeError(`Cannot run vCPU ${v}: the VM has ${vcpuCount}`);
    }
    return finished(v) ? [] : [v];
  }
  const ids: number[] = [];
  for (let i = 0; i < vcpuCount; i++) if (!finished(i)) ids.push(i);
  return ids;
}

/**
 * What `run` returns when every vCPU taking part has already reported
 * `done`: nothing can run, so the run ends at once with `done`.
 *
 * @param options the run's options
 * @returns the `done` exit (of `options.vcpu`, else vCPU 0)
 */
export function nothingToRun(options: RunOptions): VcpuExit {
  return { reason: "done", vcpu: options.vcpu ?? 0 };
}

/**
 * Per-run policy state.
 *
 * @example
 * ```ts
 * import { RunControl } from "./run_control.ts";
 * const rc = new RunControl({ until: { kind: "done" } }, [0]);
 * console.assert(rc.classify({ reason: "sync", vcpu: 0, label: "pass", value: 1n }) === "continue");
 * console.assert(rc.classify({ reason: "done", vcpu: 0 }) === "stop");
 * ```
 */
export class RunControl {
  /** When the run stops (default: every vCPU reported `done`). */
  readonly until: RunUntil;
  /** The run's time bound in milliseconds: its `timeout`, else its watchdog. */
  readonly limitMs: number;
  readonly #timeout: boolean;
  readonly #handledSync: ReadonlySet<string>;
  readonly #handleMemoryFault: boolean;
  readonly #running: Set<number>;

  /**
   * @param options the run's options
   * @param vcpus the vCPUs taking part that have not reported `done` yet
   */
  constructor(options: RunOptions, vcpus: readonly number[]) {
    this.until = options.until ?? { kind: "done" };
    this.#timeout = options.timeoutMs !== undefined;
    this.limitMs = options.timeoutMs ?? options.watchdogMs ?? DEFAULT_WATCHDOG_MS;
    this.#handledSync = options.handledSyncLabels ?? new Set();
    this.#handleMemoryFault = options.handleMemoryFault ?? false;
    this.#running = new Set(vcpus);
  }

  /** vCPUs still running in this run. */
  get running(): ReadonlySet<number> {
    return this.#running;
  }

  /**
   * How a run that reached {@linkcode RunControl.limitMs} ends: with a
   * `timeout` exit when the run asked for a timeout (not an error), else
   * with the watchdog's error.
   *
   * @param vcpu the vCPU reported (the lowest one still running)
   * @param rip its RIP
   * @returns the `timeout` exit
   * @throws {WatchdogError} when the bound was the watchdog
   */
  expired(vcpu: number, rip: bigint): VcpuExit {
    if (this.#timeout) return { reason: "timeout", vcpu, rip };
    throw new WatchdogError(vcpu, rip, this.limitMs);
  }

  /** Decide what to do with `exit`. A `done` removes its vCPU from the running set. */
  classify(exit: VcpuExit): ExitAction {
    switch (exit.reason) {
      case "done":
        this.#running.delete(exit.vcpu);
        if (this.until.kind === "exit" || this.#running.size === 0) return "stop";
        return "park";
      case "sync":
        if (this.until.kind === "sync" && this.until.label === exit.label) return "stop";
        if (this.#handledSync.has(exit.label)) return "handle";
        return this.until.kind === "exit" ? "stop" : "continue";
      case "memory_fault":
        return this.#handleMemoryFault ? "handle" : "stop";
      default:
        return "stop";
    }
  }
}
