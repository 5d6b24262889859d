/**
 * The ucall ABI shared by the guest payloads and both backends: the guest
 * fills its 64-byte slot (address in r15) and executes `out dx, eax` with
 * `dx = UCALL_PORT` and `eax = cmd`. See `guest/ISA.md`.
 *
 * @module
 */

/** The I/O port of ucalls (the kernel selftests' UCALL_PIO_PORT). */
export const UCALL_PORT = 0x1000;

/** Ucall commands (the value of eax at the `out`). */
export const UcallCmd = {
  DONE: 1,
  SYNC: 2,
  FAIL: 3,
} as const;

/** Size of one vCPU's ucall slot in bytes. */
export const UCALL_SLOT_SIZE = 64;
/** Offset of the command in the slot. */
export const UCALL_CMD_OFFSET = 0;
/** Offset of the label/message pointer (guest-physical) in the slot. */
export const UCALL_LABEL_OFFSET = 8;
/** Offset of the value in the slot. */
export const UCALL_VALUE_OFFSET = 16;
/** Longest label or message, excluding the NUL. */
export const UCALL_MAX_LABEL = 63;

/** A decoded ucall. */
export type Ucall =
  | { cmd: "done" }
  | { cmd: "sync"; label: string; value: bigint }
  | { cmd: "fail"; message: string; value: bigint }
  | { cmd: "unknown"; raw: number };

/**
 * Reads a NUL-terminated ASCII string (at most {@linkcode UCALL_MAX_LABEL}
 * bytes) through `readByte`, which returns -1 when the address is not backed.
 */
export function readLabel(gpa: bigint, readByte: (gpa: bigint) => number): string {
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
 * Decodes a ucall from the `out` value (`cmd`) and the vCPU's slot.
 *
 * @param cmd the value of eax at the `out`
 * @param slot reads the slot's u64 fields: `slot(offset)`
 * @param readByte reads guest-physical bytes for the label (-1 if unbacked)
 * @returns the decoded ucall
 *
 * @example
 * ```ts
 * import { decodeUcall, UcallCmd } from "./ucall.ts";
 * const u = decodeUcall(UcallCmd.DONE, () => 0n, () => -1);
 * console.assert(u.cmd === "done");
 * ```
 */
export function decodeUcall(
  cmd: number,
  slot: (offset: number) => bigint,
  readByte: (gpa: bigint) => number,
): Ucall {
  switch (cmd) {
    case UcallCmd.DONE:
      return { cmd: "done" };
    case UcallCmd.SYNC:
      return {
        cmd: "sync",
        label: readLabel(slot(UCALL_LABEL_OFFSET), readByte),
        value: slot(UCALL_VALUE_OFFSET),
      };
    case UcallCmd.FAIL:
      return {
        cmd: "fail",
        message: readLabel(slot(UCALL_LABEL_OFFSET), readByte),
        value: slot(UCALL_VALUE_OFFSET),
      };
    default:
      return { cmd: "unknown", raw: cmd };
  }
}
