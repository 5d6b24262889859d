/**
 * The body of a vCPU worker (one per vCPU of a multi-vCPU VM). It opens its
 * own libc, borrows the vCPU fd and `kvm_run` mapping from the main thread,
 * and runs the loop described in `worker_protocol.ts`.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { ErrnoError } from "../errors.ts";
import { RunControl } from "../run_control.ts";
import { ucallExit } from "../ucall.ts";
import { decodeExit, EINTR } from "./exit_decoder.ts";
import { SystemReader } from "./guest_memory.ts";
import { gettid } from "./kick.ts";
import { VcpuFd } from "./vcpu_fd.ts";
import {
  CMD,
  CMD_RESUME,
  CMD_STOP,
  CMD_WAIT,
  type InitMessage,
  type RunMessage,
  STOP_REQ,
  type WorkerMessage,
} from "./worker_protocol.ts";

let vcpu: VcpuFd;
let index = 0;
let reader: SystemReader;
let ctl: Int32Array;
let counters: Float64Array;

function post(m: WorkerMessage): void {
  self.postMessage(m);
}

/** An exit (or undecoded ucall) a stop request left unanswered: presented again at the next run. */
let held: WorkerMessage | undefined;

/**
 * Post, then block until the main thread answers; true when this vCPU's
 * run is over. A stop request leaves `m` held for the next run.
 */
function askMain(m: WorkerMessage): boolean {
  Atomics.store(ctl, CMD, CMD_WAIT);
  post(m);
  Atomics.wait(ctl, CMD, CMD_WAIT);
  const answer = Atomics.load(ctl, CMD);
  if (answer === CMD_STOP) held = m;
  return answer !== CMD_RESUME;
}

function runLoop(m: RunMessage): void {
  const rc = new RunControl({
    until: m.until,
    handledSyncLabels: new Set(m.handledSyncLabels),
  }, [index]);
  if (m.dropHeld) held = undefined;
  if (held !== undefined) {
    // Not re-entered since it stopped there: the exit is still in kvm_run.
    const again = held;
    held = undefined;
    if (askMain(again)) return post({ type: "stopped" });
  }
  for (;;) {
    if (Atomics.load(ctl, STOP_REQ) !== 0) return post({ type: "stopped" });
    const ret = vcpu.run();
    if (ret === EINTR) continue; // the stop check above decides
    reader.missed = false;
    let exit;
    try {
      exit = ucallExit(decodeExit(index, ret, vcpu), m.ucallSlot, reader);
    } catch (e) {
      return post(
        e instanceof ErrnoError
          ? {
            type: "error",
            message: e.message,
            operation: e.operation,
            errnoValue: e.errnoValue,
            hint: e.hint,
          }
          : { type: "error", message: String(e instanceof Error ? e.message : e) },
      );
    }
    if (reader.missed) {
      if (askMain({ type: "raw" })) return post({ type: "stopped" });
      continue;
    }
    if (rc.passesThrough(exit)) {
      counters[index]++;
      continue;
    }
    if (askMain({ type: "exit", exit })) return post({ type: "stopped" });
  }
}

self.onmessage = (ev: MessageEvent<InitMessage | RunMessage>) => {
  const m = ev.data;
  if (m.type === "init") {
    index = m.index;
    vcpu = VcpuFd.borrow(m.fd, m.runAddr, m.mmapSize);
    reader = new SystemReader(m.sysGpa, m.sysSize, m.sysAddr);
    ctl = new Int32Array(m.ctl);
    counters = new Float64Array(m.counters);
    post({ type: "ready", tid: gettid() });
  } else {
    runLoop(m);
  }
};
