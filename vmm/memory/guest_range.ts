/**
 * Host-side copies that may span memslots: both backends split a
 * guest-physical range into per-slot pieces the same way, so a range that
 * leaves guest memory fails with the same EFAULT on both.
 *
 * @module
 */
import { ERRNO_NUMBERS, ErrnoError } from "../errors.ts";
import { PAGE_SHIFT, PAGE_SIZE } from "./layout.ts";
import type { IndexedSlot } from "./slot_index.ts";

/**
 * A host copy's length must be a byte count: anything else is EINVAL (as
 * `op`), checked before a buffer is made for it.
 */
export function checkGuestLength(op: string, length: number): void {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new ErrnoError(op, ERRNO_NUMBERS.EINVAL, `length ${length} is not a byte count`);
  }
}

/**
 * Call `fn` for each memslot piece of `[gpa, gpa + length)`, in address
 * order, with the slot, the piece's byte offset in the slot, the bytes done
 * so far and the piece's length. Throws EFAULT (as `op`) at the first byte
 * in no memslot, before `fn` sees any piece of a range that leaves memory.
 *
 * @param find the slot containing a guest frame, or null
 * @param op the operation named in the error (`readGuest`, `writeGuest`)
 */
export function forEachPiece<S extends IndexedSlot>(
  find: (gfn: number) => S | null,
  op: string,
  gpa: bigint,
  length: number,
  fn: (s: S, slotOffset: number, done: number, n: number) => void,
): void {
  checkGuestLength(op, length);
  const pieces: [S, number, number, number][] = [];
  let done = 0;
  while (done < length) {
    const at = gpa + BigInt(done);
    const s = at < 0n ? null : find(Number(at >> BigInt(PAGE_SHIFT)));
    if (s === null) {
      throw new ErrnoError(op, ERRNO_NUMBERS.EFAULT, `gpa 0x${at.toString(16)} is in no memslot`);
    }
    const off = Number(at) - s.baseGfn * PAGE_SIZE;
    const n = Math.min(length - done, s.npages * PAGE_SIZE - off);
    pieces.push([s, off, done, n]);
    done += n;
  }
  for (const [s, off, d, n] of pieces) fn(s, off, d, n);
}
