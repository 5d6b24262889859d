/**
 * Messages and shared control words between the main thread and a vCPU
 * worker. One worker runs one vCPU: it calls KVM_RUN in a synchronous loop,
 * resumes by itself after exits RunControl says pass through (unhandled
 * `sync` ucalls), and otherwise posts the exit and waits on `ctl[CMD]` for
 * the main thread's decision (resume, end, or stop holding the exit).
 *
 * @module
 */
import type { RunUntil, VcpuExit } from "../types.ts";

/** Index in the control Int32Array: the main thread's answer. */
export const CMD = 0;
/** Index: set to 1 by the main thread to stop the vCPU at its next chance. */
export const STOP_REQ = 1;
/** Number of Int32 control words. */
export const CTL_WORDS = 2;

/** `ctl[CMD]`: no answer yet. */
export const CMD_WAIT = 0;
/** `ctl[CMD]`: resume the vCPU. */
export const CMD_RESUME = 1;
/**
 * `ctl[CMD]`: stop before the main thread dealt with the exit this worker
 * holds (a stop request): the worker keeps the exit and presents it again,
 * before re-entering KVM_RUN, at its next run, so no exit is lost when a
 * run stops the other vCPUs where they are.
 */
export const CMD_STOP = 2;
/**
 * `ctl[CMD]`: the exit was dealt with and this vCPU's run ends (it parked,
 * it waits at the barrier, or the run stopped at this exit).
 */
export const CMD_END = 3;

/** main → worker: adopt a vCPU. */
export interface InitMessage {
  /** The message's kind. */
  type: "init";
  /** The vCPU's index. */
  index: number;
  /** The vCPU fd (process-wide; the worker borrows it). */
  fd: number;
  /** Host address of the vCPU's `kvm_run` mapping. */
  runAddr: bigint;
  /** Size of that mapping. */
  mmapSize: number;
  /** The system region's guest-physical base, size and host address (ucall decoding). */
  sysGpa: bigint;
  /** See `sysGpa`. */
  sysSize: number;
  /** See `sysGpa`. */
  sysAddr: bigint;
  /** CTL_WORDS Int32 control words. */
  ctl: SharedArrayBuffer;
  /** One Float64 per vCPU: ucalls the worker handled by itself. */
  counters: SharedArrayBuffer;
}

/** main → worker: run until stopped. */
export interface RunMessage {
  /** The message's kind. */
  type: "run";
  /** The run's stop condition. */
  until: RunUntil;
  /** `sync` labels the main thread handles (the worker hands those exits over). */
  handledSyncLabels: string[];
  /** Guest-physical address of the vCPU's ucall slot. */
  ucallSlot: bigint;
  /** Drop an exit held from an earlier run (a new guest image was loaded since). */
  dropHeld: boolean;
}

/** worker → main. */
export type WorkerMessage =
  | { type: "ready"; tid: number }
  /** An exit that needs the main thread's decision; the vCPU waits on CMD. */
  | { type: "exit"; exit: VcpuExit }
  /** A ucall whose slot or label lies outside the system region: the main thread decodes it. */
  | { type: "raw" }
  /** The run ended for this vCPU. */
  | { type: "stopped" }
  /** KVM_RUN or decoding failed; the vCPU has stopped. */
  | {
    type: "error";
    message: string;
    operation?: string;
    errnoValue?: number;
    hint?: string;
  };
