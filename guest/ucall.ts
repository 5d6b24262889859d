/**
 * The ucall ABI shared by the guest payloads and both backends: the guest
 * fills its 64-byte slot (address in r15) and executes `out dx, eax` with
 * `dx = UCALL_PORT` and `eax = cmd`. See `guest/ISA.md`. The host side
 * (turning that `out` into a `sync`, `done` or `fail` exit) is
 * `vmm/ucall.ts`, shared by both backends.
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
