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
  /** Call `onExit`, then ask {@linkcode RunControl.afterHandler} what next. */
  | "handle"
  /** This vCPU is finished (it reported `done`); keep running the others. */
  | "park"
  /**
   * This vCPU arrived at the run's barrier (`until sync "L"`): keep it
   * paused there, not re-entered, and keep running the others; the next run
   * resumes it.
   */
  | "wait"
  /** Stop the whole run and resolve with {@linkcode RunControl.result}. */
  | "stop";

/**
 * Yields to the event loop with a macrotask, so timers and signal listeners
 * run: both backends' run loops call it between slices of guest work.
 *
 * @returns a promise settled on the next macrotask
 */
export function macrotask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

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
 * Per-run policy state. A run `until sync "L"` is a barrier: every vCPU
 * that arrives at `sync "L"` waits there, and the run stops when every vCPU
 * still running (not finished with `done`) waits; `until first sync "L"`
 * stops at the first arrival. A handler for L runs at every arrival, before
 * the vCPU waits (see {@linkcode RunControl.afterHandler}).
 *
 * @example A barrier of two vCPUs
 * ```ts
 * import { RunControl } from "./run_control.ts";
 * const rc = new RunControl({ until: { kind: "sync", label: "iter" } }, [0, 1]);
 * const at = (vcpu: number) => ({ reason: "sync" as const, vcpu, label: "iter", value: 1n });
 * console.assert(rc.classify(at(1)) === "wait");
 * console.assert(rc.classify(at(0)) === "stop");
 * console.assert(rc.result(at(0)).vcpu === 0);
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
  readonly #waiting = new Set<number>();
  #lastArrival: VcpuExit | undefined;

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

  /** vCPUs still running in this run (those waiting at the barrier included). */
  get running(): ReadonlySet<number> {
    return this.#running;
  }

  /** vCPUs waiting at the run's barrier. */
  get waiting(): ReadonlySet<number> {
    return this.#waiting;
  }

  /**
   * The lowest vCPU that is running and not waiting at the barrier (the one
   * a timeout names), else the lowest running one.
   */
  firstBusy(): number {
    let busy = Infinity;
    for (const v of this.#running) if (!this.#waiting.has(v)) busy = Math.min(busy, v);
    return busy === Infinity ? Math.min(...this.#running) : busy;
  }

  /**
   * How a run that reached {@linkcode RunControl.limitMs} ends: with a
   * `timeout` exit when the run asked for a timeout (not an error), else
   * with the watchdog's error.
   *
   * @param vcpu the vCPU reported (see {@linkcode RunControl.firstBusy})
   * @param rip its RIP
   * @returns the `timeout` exit
   * @throws {WatchdogError} when the bound was the watchdog
   */
  expired(vcpu: number, rip: bigint): VcpuExit {
    if (this.#timeout) return { reason: "timeout", vcpu, rip };
    throw new WatchdogError(vcpu, rip, this.limitMs);
  }

  /**
   * Whether `exit` is a `sync` the vCPU passes through without the main
   * thread (no handler, not the run's label, the run not `until exit`): a
   * question without side effects, for the kvm workers.
   */
  passesThrough(exit: VcpuExit): boolean {
    return exit.reason === "sync" && this.until.kind !== "exit" &&
      !this.#handledSync.has(exit.label) && !this.#isBarrier(exit);
  }

  /**
   * Decide what to do with `exit`. A `done` removes its vCPU from the
   * running set; an arrival at the barrier makes it wait.
   */
  classify(exit: VcpuExit): ExitAction {
    switch (exit.reason) {
      case "done":
        this.#running.delete(exit.vcpu);
        if (this.until.kind === "exit" || this.#allWaiting()) return "stop";
        return "park";
      case "sync":
        if (this.#handledSync.has(exit.label)) return "handle";
        if (this.#isBarrier(exit)) return this.#arrive(exit);
        return this.until.kind === "exit" ? "stop" : "continue";
      case "memory_fault":
        return this.#handleMemoryFault ? "handle" : "stop";
      default:
        return "stop";
    }
  }

  /**
   * What follows a handled exit once its handler settled: an arrival at the
   * barrier waits (or stops the run when it is the last), any other exit
   * resumes.
   */
  afterHandler(exit: VcpuExit): "continue" | "wait" | "stop" {
    return this.#isBarrier(exit) ? this.#arrive(exit) : "continue";
  }

  /**
   * The exit a stopped run resolves with: the last arrival at the barrier
   * when the run ended at a `done` while others waited there, else `exit`.
   */
  result(exit: VcpuExit): VcpuExit {
    return exit.reason === "done" && this.#lastArrival ? this.#lastArrival : exit;
  }

  #isBarrier(exit: VcpuExit): boolean {
    return exit.reason === "sync" && this.until.kind === "sync" &&
      this.until.label === exit.label;
  }

  #arrive(exit: VcpuExit): "wait" | "stop" {
    this.#lastArrival = exit;
    if (this.until.kind === "sync" && this.until.first) return "stop";
    this.#waiting.add(exit.vcpu);
    return this.#allWaiting() ? "stop" : "wait";
  }

  /** Every vCPU still running waits at the barrier (true when none runs). */
  #allWaiting(): boolean {
    for (const v of this.#running) if (!this.#waiting.has(v)) return false;
    return true;
  }
}
