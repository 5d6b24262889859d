/**
 * The multi-vCPU run: one Worker per vCPU, each running KVM_RUN on its own
 * thread (see `vcpu_worker.ts`). The main thread applies RunControl to the
 * exits the workers hand over, runs `onExit` while that vCPU waits, and
 * stops every vCPU (flag + immediate_exit + SIGUSR2) when the run ends.
 *
 * @module
 */
import { ErrnoError, VmmError } from "../errors.ts";
import type { RunOptions, VcpuExit } from "../types.ts";
import type { RunControl } from "../run_control.ts";
import { ucallExit, type UcallReader } from "../ucall.ts";
import { decodeExit } from "./exit_decoder.ts";
import { kickThread } from "./kick.ts";
import { countExit, type RunCounters } from "./run_sync.ts";
import type { VcpuFd } from "./vcpu_fd.ts";
import {
  CMD,
  CMD_END,
  CMD_RESUME,
  CMD_STOP,
  CMD_WAIT,
  CTL_WORDS,
  type InitMessage,
  type RunMessage,
  STOP_REQ,
  type WorkerMessage,
} from "./worker_protocol.ts";

/** One vCPU's worker, seen from the main thread. */
class VcpuWorker {
  readonly index: number;
  readonly fd: VcpuFd;
  readonly worker: Worker;
  readonly ctl = new Int32Array(new SharedArrayBuffer(CTL_WORDS * 4));
  tid = 0;
  /** The main thread is deciding on this worker's exit (a handler may be running). */
  deciding = false;
  /** Drop an exit held from before the last guest image was loaded. */
  dropHeld = false;
  onMessage: (m: WorkerMessage) => void = () => {};

  constructor(index: number, fd: VcpuFd) {
    this.index = index;
    this.fd = fd;
    this.worker = new Worker(new URL("./vcpu_worker.ts", import.meta.url).href, {
      type: "module",
    });
    this.worker.onmessage = (ev: MessageEvent<WorkerMessage>) => this.onMessage(ev.data);
    this.worker.onerror = (ev: ErrorEvent) => {
      ev.preventDefault();
      this.onMessage({ type: "error", message: `vCPU ${index} worker: ${ev.message}` });
    };
  }

  answer(cmd: number): void {
    this.deciding = false;
    Atomics.store(this.ctl, CMD, cmd);
    Atomics.notify(this.ctl, CMD);
  }

  /**
   * Stop the vCPU wherever it is: in KVM_RUN, about to enter it, or waiting
   * for an answer the main thread has not started on (the worker then holds
   * that exit for its next run). An answer already given, or one the main
   * thread is deciding (a handler running), stands.
   */
  requestStop(): void {
    Atomics.store(this.ctl, STOP_REQ, 1);
    this.fd.setImmediateExit(true);
    if (!this.deciding) {
      Atomics.compareExchange(this.ctl, CMD, CMD_WAIT, CMD_STOP);
      Atomics.notify(this.ctl, CMD);
    }
    if (this.tid) kickThread(this.tid);
  }
}

/** Where the system region is, for the workers' ucall decoding. */
export interface SystemRegion {
  /** Guest-physical base. */
  gpa: bigint;
  /** Bytes. */
  size: number;
  /** Host address of its mapping. */
  addr: bigint;
}

/**
 * The workers of one VM, created on the first run.
 */
export class WorkerPool {
  #workers: VcpuWorker[] = [];
  /** One per vCPU (shared with the workers), allocated by the first start. */
  #counters = new Float64Array(new SharedArrayBuffer(0));
  #running = false;
  #abort: ((e: unknown) => void) | undefined;

  /** Whether a run is in progress. */
  get running(): boolean {
    return this.#running;
  }

  /** Ucalls the workers continued by themselves (not seen by the main thread). */
  workerUcalls(): number {
    let n = 0;
    for (let i = 0; i < this.#workers.length; i++) n += this.#counters[i];
    return n;
  }

  /**
   * Start one worker per vCPU (once; again after a failed start).
   *
   * @param vcpus the main thread's vCPU fds
   * @param sys the system region
   */
  async start(vcpus: readonly VcpuFd[], sys: SystemRegion): Promise<void> {
    if (this.#workers.length) return;
    if (this.#counters.length < vcpus.length) {
      this.#counters = new Float64Array(
        new SharedArrayBuffer(Float64Array.BYTES_PER_ELEMENT * vcpus.length),
      );
    }
    const ready = vcpus.map((fd, index) => {
      const w = new VcpuWorker(index, fd);
      this.#workers.push(w);
      return new Promise<void>((resolve, reject) => {
        w.onMessage = (m) => {
          if (m.type === "ready") {
            w.tid = m.tid;
            resolve();
          } else reject(new VmmError(`vCPU ${index} worker failed to start: ${JSON.stringify(m)}`));
        };
      });
    });
    this.#workers.forEach((w, index) => {
      const init: InitMessage = {
        type: "init",
        index,
        fd: w.fd.fd,
        runAddr: w.fd.runAddress,
        mmapSize: w.fd.mmapSize,
        sysGpa: sys.gpa,
        sysSize: sys.size,
        sysAddr: sys.addr,
        ctl: w.ctl.buffer,
        counters: this.#counters.buffer,
      };
      w.worker.postMessage(init);
    });
    // Closing the VM while the workers start (SIGINT) ends the start too.
    const closed = new Promise<never>((_, reject) => this.#abort = reject);
    try {
      await Promise.race([Promise.all(ready), closed]);
    } catch (e) {
      // Terminate them all, so that the next run starts afresh instead of
      // handing vCPUs to workers that never got going.
      this.close();
      throw e;
    }
    this.#abort = undefined;
  }

  /** A new guest image was loaded: exits the workers hold from earlier runs are stale. */
  dropHeld(): void {
    for (const w of this.#workers) w.dropHeld = true;
  }

  /**
   * Run `vcpus` in parallel until the policy stops the run: each on its own
   * thread, so between two barriers the run takes as long as its slowest
   * vCPU. A vCPU that parks or arrives at the barrier ends its part of the
   * run (its thread stops calling KVM_RUN) while the others go on.
   *
   * @param vcpus the vCPUs taking part
   * @param ucallSlots each vCPU's ucall slot
   * @param mem guest memory (for ucalls the workers cannot decode)
   * @param options the run's options
   * @param rc the run's policy
   * @param counters the VM's counters
   * @param parked receives vCPUs that reported `done`
   * @returns the exit that ended the run
   */
  run(
    vcpus: readonly number[],
    ucallSlots: readonly bigint[],
    mem: UcallReader,
    options: RunOptions,
    rc: RunControl,
    counters: RunCounters,
    parked: Set<number>,
  ): Promise<VcpuExit> {
    const ms = rc.limitMs;
    const active = new Set(vcpus);
    let stopping = false;
    let outcome: { exit: VcpuExit } | { error: unknown } | { timedOut: number } | undefined;
    this.#running = true;
    return new Promise<VcpuExit>((resolve, reject) => {
      this.#abort = (e) => {
        clearTimeout(timer);
        reject(e);
      };
      const stopAll = () => {
        stopping = true;
        for (const i of active) this.#workers[i].requestStop();
      };
      const finish = () => {
        clearTimeout(timer);
        this.#running = false;
        this.#abort = undefined;
        for (const w of this.#workers) w.onMessage = () => {};
        if (outcome === undefined) return reject(new VmmError("run ended without an exit"));
        if ("exit" in outcome) return resolve(outcome.exit);
        if ("error" in outcome) return reject(outcome.error);
        const v = outcome.timedOut;
        let rip = 0n;
        try {
          rip = this.#workers[v].fd.rip();
        } catch { /* keep 0 */ }
        try {
          resolve(rc.expired(v, rip));
        } catch (e) {
          reject(e);
        }
      };
      const timer = setTimeout(() => {
        if (stopping) return;
        outcome = { timedOut: rc.firstBusy() };
        stopAll();
      }, ms);
      const onExit = async (w: VcpuWorker, exit: VcpuExit) => {
        // A stop request came first: the worker holds this exit for the next run.
        if (stopping) return w.answer(CMD_STOP);
        w.deciding = true;
        countExit(counters, exit);
        let action = rc.classify(exit);
        if (action === "continue") return w.answer(CMD_RESUME);
        if (action === "handle") {
          try {
            await options.onExit?.(exit);
          } catch (e) {
            if (!stopping) {
              outcome = { error: e };
              stopAll();
            }
          }
          // The handler ran: the exit is dealt with even when the run is stopping.
          if (stopping) return w.answer(CMD_END);
          action = rc.afterHandler(exit);
          if (action === "continue") return w.answer(CMD_RESUME);
        }
        if (exit.reason === "done") parked.add(w.index);
        if (action === "stop") {
          outcome = { exit: rc.result(exit) };
          stopAll();
        }
        w.answer(CMD_END);
      };
      for (const i of vcpus) {
        const w = this.#workers[i];
        w.onMessage = (m) => {
          switch (m.type) {
            case "exit":
              void onExit(w, m.exit);
              break;
            case "raw":
              try {
                void onExit(w, ucallExit(decodeExit(i, 0, w.fd), ucallSlots[i], mem));
              } catch (e) {
                outcome ??= { error: e };
                stopAll();
                w.answer(CMD_END);
              }
              break;
            case "stopped":
              active.delete(i);
              if (active.size === 0) finish();
              break;
            case "error":
              if (!stopping || outcome === undefined || "timedOut" in outcome) {
                outcome = {
                  error: m.operation
                    ? new ErrnoError(m.operation, m.errnoValue ?? 0, m.hint ?? "")
                    : new VmmError(m.message),
                };
              }
              active.delete(i);
              stopAll();
              if (active.size === 0) finish();
              break;
          }
        };
        w.deciding = false;
        Atomics.store(w.ctl, STOP_REQ, 0);
        Atomics.store(w.ctl, CMD, CMD_WAIT);
        w.fd.setImmediateExit(false);
        const msg: RunMessage = {
          type: "run",
          until: options.until ?? { kind: "done" },
          handledSyncLabels: [...(options.handledSyncLabels ?? [])],
          ucallSlot: ucallSlots[i],
          dropHeld: w.dropHeld,
        };
        w.dropHeld = false;
        w.worker.postMessage(msg);
      }
    });
  }

  /**
   * Stop and terminate every worker (a worker inside KVM_RUN is kicked out
   * first). A run in progress rejects; `running` stays true so that the VM
   * keeps the memory a worker might still touch.
   */
  close(): void {
    for (const w of this.#workers) {
      w.requestStop();
      w.worker.terminate();
    }
    this.#workers = [];
    this.#abort?.(new VmmError("the VM was closed while it was running"));
    this.#abort = undefined;
  }
}
