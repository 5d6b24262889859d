/**
 * The stop/continue policy of `run`, shared by both backends so that the
 * same script stops at the same exits on kvm and emu. A backend feeds every
 * decoded exit to {@linkcode RunControl.classify} and acts on the answer;
 * the policy itself never touches a vCPU.
 *
 * @module
 */
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
  readonly until: RunUntil;
  readonly #handledSync: ReadonlySet<string>;
  readonly #handleMemoryFault: boolean;
  readonly #running: Set<number>;

  /**
   * @param options the run's options
   * @param vcpus the vCPUs taking part that have not reported `done` yet
   */
  constructor(options: RunOptions, vcpus: readonly number[]) {
    this.until = options.until ?? { kind: "done" };
    this.#handledSync = options.handledSyncLabels ?? new Set();
    this.#handleMemoryFault = options.handleMemoryFault ?? false;
    this.#running = new Set(vcpus);
  }

  /** vCPUs still running in this run. */
  get running(): ReadonlySet<number> {
    return this.#running;
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
