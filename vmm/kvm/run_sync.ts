/**
 * The single-vCPU run loop: KVM_RUN synchronously on the calling thread, so
 * a ucall round trip costs what the kernel exit costs (no thread handoff,
 * no allocation beyond the small exit object). A POSIX timer aimed at this
 * thread bounds the run (see `kick.ts`).
 *
 * @module
 */
import { VmmError } from "../errors.ts";
import type { RunOptions, VcpuExit } from "../types.ts";
import { macrotask, type RunControl } from "../run_control.ts";
import { ucallExit, type UcallReader } from "../ucall.ts";
import { decodeExit, EINTR } from "./exit_decoder.ts";
import type { ThreadTimer } from "./kick.ts";
import type { VcpuFd } from "./vcpu_fd.ts";

/**
 * The longest stretch of KVM_RUN without returning to JS: a signal that
 * reaches the process while this thread is in JS is consumed there, and its
 * listener only runs once the event loop turns, so a spinning guest must
 * come out now and then for SIGINT to be seen.
 */
const TICK_MS = 100;

/** Counters the run loops keep for `stat`. */
export interface RunCounters {
  /** `sync`, `done` and `fail` exits seen by the main thread. */
  ucalls: number;
  /** `memory_fault` exits. */
  memoryFaultExits: number;
}

/** Count a decoded exit in the VMM's own counters. */
export function countExit(c: RunCounters, exit: VcpuExit): void {
  const r = exit.reason;
  if (r === "sync" || r === "done" || r === "fail") c.ucalls++;
  else if (r === "memory_fault") c.memoryFaultExits++;
}

/** What the synchronous loop needs. */
export interface SyncVcpu {
  /** The vCPU's index (exits and messages). */
  index: number;
  /** Its fd. */
  fd: VcpuFd;
  /** Guest-physical address of its ucall slot. */
  ucallSlot: bigint;
  /** The timer that signals the calling thread (bounds the run). */
  timer: ThreadTimer;
  /** Whether the VM was closed (by a handler): the loop must not touch the vCPU again. */
  closed: () => boolean;
}

/**
 * Run one vCPU on this thread until RunControl says stop, park or wait.
 *
 * @param v the vCPU
 * @param mem guest memory for ucall decoding
 * @param options the run's options
 * @param rc the run's policy
 * @param counters the VM's counters
 * @returns the exit that ended the run
 */
export async function runSync(
  v: SyncVcpu,
  mem: UcallReader,
  options: RunOptions,
  rc: RunControl,
  counters: RunCounters,
): Promise<VcpuExit> {
  const ms = rc.limitMs;
  const deadline = performance.now() + ms;
  const fd = v.fd;
  fd.setImmediateExit(false);
  let spins = 0;
  v.timer.arm(Math.min(TICK_MS, ms));
  try {
    for (;;) {
      const ret = fd.run();
      if (ret === EINTR) {
        const now = performance.now();
        if (now >= deadline) break;
        // The tick (or another signal): let the event loop turn, so that the
        // process's signal listeners (SIGINT, SIGTERM) run and may close the VM.
        // Disarmed meanwhile: its 1 ms re-fire must not interrupt syscalls in JS.
        v.timer.disarm();
        await macrotask();
        if (v.closed()) throw new VmmError("the VM was closed while it was running");
        v.timer.arm(Math.min(TICK_MS, deadline - performance.now()));
        continue;
      }
      const exit = ucallExit(decodeExit(v.index, ret, fd), v.ucallSlot, mem);
      countExit(counters, exit);
      const action = rc.classify(exit);
      if (action === "continue") {
        // The timer re-fires every millisecond past the deadline, so a guest
        // that exits often still sees an EINTR soon; checking the clock only
        // every 256 exits keeps performance.now() (~0.15 µs) off the hot path.
        if ((++spins & 255) === 0 && performance.now() >= deadline) break;
        continue;
      }
      if (action === "handle") {
        // A handler's syscalls (populate, dirty-log ioctls) must not see the
        // timer's signals: disarmed while it runs, re-armed for what is left.
        v.timer.disarm();
        await options.onExit?.(exit);
        if (v.closed()) throw new VmmError("the VM was closed while it was running");
        v.timer.arm(Math.min(TICK_MS, deadline - performance.now()));
        if (rc.afterHandler(exit) === "continue") continue;
      }
      // The only vCPU: parking, waiting at the barrier and stopping all end the run.
      return rc.result(exit);
    }
    return rc.expired(v.index, fd.rip());
  } finally {
    if (!v.closed()) v.timer.disarm();
  }
}
