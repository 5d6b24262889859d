/**
 * What the main thread and a `demand uffd` handler Worker share: the layout
 * of their control words, the codes of the calls a handler can fail in, the
 * init message, and the allocation-free u64 accessors of the handlers' hot
 * path. (The vCPU workers' counterpart is `worker_protocol.ts`.)
 *
 * @module
 */
import { PAGE_SIZE } from "../memory/layout.ts";
import { UFFDIO_RANGE_OFF } from "./uapi.ts";

/** Host page size: UFFDIO_COPY works in 4 KiB pages on anonymous and shmem memory. */
export const UFFD_PAGE = PAGE_SIZE;

/** Indices of the control words shared with the handlers (Int32Array). */
export const CTL = {
  /** Set to 1 by the main thread: handlers leave their loop at the next poll timeout. */
  STOP: 0,
  /** Handlers that are polling. */
  READY: 1,
  /** Handlers that have left their loop (and will touch the fd no more). */
  EXITED: 2,
  /** First handler error: errno. */
  ERR_ERRNO: 3,
  /** First handler error: which call (an index into {@linkcode HANDLER_OPS}). */
  ERR_OP: 4,
  /** Faults served (UFFDIO_COPY done by a handler), one word per handler from here. */
  COUNTS: 8,
} as const;

/** Calls a handler can fail in, by the code stored in `ctl[ERR_OP]` (0: none). */
export const HANDLER_OPS = [
  "",
  "poll",
  "read",
  "UFFDIO_COPY",
  "UFFDIO_WAKE",
  "UFFDIO_CONTINUE",
] as const;

/** main → handler worker: everything it needs, sent once. */
export interface UffdWorkerInit {
  /** The message's kind. */
  type: "init";
  /** The handler's index (its word in `ctl` from `CTL.COUNTS`). */
  index: number;
  /** The userfaultfd (process-wide fd number). */
  fd: number;
  /** Host address of the registered range (a number: user addresses are < 2^47). */
  base: number;
  /** Bytes of the registered range. */
  size: number;
  /**
   * MINOR mode: map the page already in the page cache (UFFDIO_CONTINUE)
   * instead of copying one in (UFFDIO_COPY).
   */
  minor: boolean;
  /** Bytes served for the first pages (page-rounded copy of the caller's source), or null. */
  source: SharedArrayBuffer | null;
  /** `CTL.COUNTS + handlers` Int32 control words. */
  ctl: SharedArrayBuffer;
  /** poll(2) timeout: the most a stop request waits. */
  pollMs: number;
  /** How long a handler keeps reading without sleeping after its last message. */
  spinMs: number;
}

/**
 * Write a UFFDIO_RANGE struct.
 *
 * @param dv the struct's view
 * @param start range start
 * @param len range length
 */
export function setRange(dv: DataView, start: number, len: number): void {
  setU64(dv, UFFDIO_RANGE_OFF.start, start);
  setU64(dv, UFFDIO_RANGE_OFF.len, len);
}

/**
 * Store a non-negative integer below 2^53 as a little-endian u64 without a
 * BigInt (the handlers' hot path).
 *
 * @param dv the view
 * @param off byte offset
 * @param v the value
 */
export function setU64(dv: DataView, off: number, v: number): void {
  dv.setUint32(off, v % 0x1_0000_0000, true);
  dv.setUint32(off + 4, Math.floor(v / 0x1_0000_0000), true);
}

/**
 * Read a little-endian u64 that is known to be below 2^53 as a number.
 *
 * @param dv the view
 * @param off byte offset
 * @returns the value
 */
export function getU64(dv: DataView, off: number): number {
  return dv.getUint32(off + 4, true) * 0x1_0000_0000 + dv.getUint32(off, true);
}
