/**
 * The host side of the ucall ABI (`guest/ucall.ts`), shared by both
 * backends: a backend decodes its raw exit into an `io` {@linkcode VcpuExit}
 * and hands it to {@linkcode ucallExit}, which turns an `out dx, eax` to
 * {@linkcode UCALL_PORT} into `done`, `sync` or `fail` by reading the vCPU's
 * ucall slot. Every other exit passes through unchanged.
 *
 * @module
 */
import {
  UCALL_LABEL_OFFSET,
  UCALL_MAX_LABEL,
  UCALL_PORT,
  UCALL_VALUE_OFFSET,
  UcallCmd,
} from "../guest/ucall.ts";
import type { VcpuExit } from "./types.ts";

/** Reads the guest-physical memory a ucall points at (slot fields, labels). */
export interface UcallReader {
  /** u64 at `gpa` (0n when not backed). */
  u64(gpa: bigint): bigint;
  /** The NUL-terminated label at `gpa` (at most 63 bytes; "" for 0 or unbacked). */
  label(gpa: bigint): string;
}

/** An `io` exit as a backend decodes it. */
export type IoExit = Extract<VcpuExit, { reason: "io" }>;

const LABEL_OFF = BigInt(UCALL_LABEL_OFFSET);
const VALUE_OFF = BigInt(UCALL_VALUE_OFFSET);
const UCALL_OUT_SIZE = 4;

/**
 * Turns an `io` exit that is a ucall into the ucall's exit; any other exit
 * (another port, an `in`, a size other than 4, an unknown command) is
 * returned as it is.
 *
 * @param exit the decoded exit
 * @param slot guest-physical address of the vCPU's ucall slot
 * @param mem reads the slot and the label
 * @returns `done`, `sync`, `fail`, or `exit` itself
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ucallExit } from "./ucall.ts";
 * const io = { reason: "io", vcpu: 0, port: 0x1000, size: 4, isWrite: true, data: 1n } as const;
 * assertEquals(ucallExit(io, 0n, { u64: () => 0n, label: () => "" }), { reason: "done", vcpu: 0 });
 * ```
 */
export function ucallExit(exit: VcpuExit, slot: bigint, mem: UcallReader): VcpuExit {
  if (
    exit.reason !== "io" || exit.port !== UCALL_PORT || !exit.isWrite ||
    exit.size !== UCALL_OUT_SIZE
  ) return exit;
  const cmd = Number(exit.data);
  if (cmd === UcallCmd.DONE) return { reason: "done", vcpu: exit.vcpu };
  if (cmd !== UcallCmd.SYNC && cmd !== UcallCmd.FAIL) return exit;
  const label = mem.label(mem.u64(slot + LABEL_OFF));
  const value = mem.u64(slot + VALUE_OFF);
  return cmd === UcallCmd.SYNC
    ? { reason: "sync", vcpu: exit.vcpu, label, value }
    : { reason: "fail", vcpu: exit.vcpu, message: label, value };
}

/**
 * Reads a label of at most {@linkcode UCALL_MAX_LABEL} bytes through
 * `readByte`, which returns -1 when the address is not backed (the
 * emulator's byte-wise access to guest memory).
 *
 * @param gpa where the label starts (0: no label)
 * @param readByte reads one guest-physical byte
 * @returns the label ("" for 0 or unbacked)
 */
export function labelFrom(gpa: bigint, readByte: (gpa: bigint) => number): string {
  if (gpa === 0n) return "";
  let s = "";
  for (let i = 0; i < UCALL_MAX_LABEL; i++) {
    const b = readByte(gpa + BigInt(i));
    if (b <= 0) break;
    s += String.fromCharCode(b);
  }
  return s;
}

/**
 * Reads a NUL-terminated label of at most {@linkcode UCALL_MAX_LABEL} bytes
 * from `bytes` at `offset` (host memory that maps guest memory: kvm).
 *
 * @param bytes the host view
 * @param offset where the label starts in it
 * @returns the label
 */
export function labelAt(bytes: Uint8Array, offset: number): string {
  if (offset === cachedOffset && bytes === cachedBytes && sameLabel(bytes, offset, cachedLabel)) {
    return cachedLabel;
  }
  let s = "";
  const end = Math.min(bytes.length, offset + UCALL_MAX_LABEL);
  for (let i = offset; i < end; i++) {
    const b = bytes[i];
    if (b === 0) break;
    s += String.fromCharCode(b);
  }
  cachedBytes = bytes;
  cachedOffset = offset;
  cachedLabel = s;
  return s;
}

// The last label read: a guest making the same ucall in a loop gets the
// same string back without building it again (the bytes are still compared).
let cachedBytes: Uint8Array | undefined;
let cachedOffset = -1;
let cachedLabel = "";

function sameLabel(bytes: Uint8Array, offset: number, label: string): boolean {
  const n = label.length;
  if (offset + n > bytes.length) return false;
  for (let i = 0; i < n; i++) if (bytes[offset + i] !== label.charCodeAt(i)) return false;
  return n === UCALL_MAX_LABEL || offset + n === bytes.length || bytes[offset + n] === 0;
}
