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

/** Post, then block until the main thread answers; true when told to stop. */
function askMain(m: WorkerMessage): boolean {
  Atomics.store(ctl, CMD, CMD_WAIT);
  post(m);
  Atomics.wait(ctl, CMD, CMD_WAIT);
  return Atomics.load(ctl, CMD) === CMD_STOP;
}

function runLoop(m: RunMessage): void {
  const rc = new RunControl({
    until: m.until,
    handledSyncLabels: new Set(m.handledSyncLabels),
  }, [index]);
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
    if (exit.reason === "sync" && rc.classify(exit) === "continue") {
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
