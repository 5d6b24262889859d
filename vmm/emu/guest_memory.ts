/**
 * Host-side access to guest-physical memory (the VMM reading and writing
 * through its own mapping, as vm-memory's `GuestMemory` does): copies that
 * may span memslots, and the `aliasing_hazards` count of host reads and
 * writes of pages the guest maps with a non-WB memory type.
 *
 * Host writes are not dirty-logged and not write-tracked, as with KVM
 * (only KVM's own writes to guest memory are).
 *
 * @module
 */
import { checkGuestLength, forEachPiece } from "../memory/guest_range.ts";
import { PAGE_SHIFT, PAGE_SIZE } from "../memory/layout.ts";
import { SLOT_NONCOHERENT } from "./memory/memslot.ts";
import type { Mmu } from "./mmu/mmu.ts";
import { M } from "./stats.ts";

/** Copy `length` bytes at `gpa` out of guest memory (every byte must be in a memslot). */
export function copyFromGuest(mmu: Mmu, gpa: bigint, length: number): Uint8Array {
  checkGuestLength("readGuest", length);
  const out = new Uint8Array(length);
  forEachPiece((g) => mmu.slots.find(g), "readGuest", gpa, length, (s, off, done, n) => {
    out.set(s.host.read(off, n), done);
  });
  return out;
}

/** Copy `bytes` into guest memory at `gpa` (every byte must be in a memslot). */
export function copyToGuest(mmu: Mmu, gpa: bigint, bytes: Uint8Array): void {
  forEachPiece((g) => mmu.slots.find(g), "writeGuest", gpa, bytes.length, (s, off, done, n) => {
    s.host.write(off, bytes.subarray(done, done + n));
  });
}

/** One guest byte, or -1 when `gpa` is in no memslot (for ucall labels). */
export function guestByte(mmu: Mmu, gpa: bigint): number {
  const s = mmu.slots.find(Number(gpa >> BigInt(PAGE_SHIFT)));
  if (s === null) return -1;
  return s.host.read(Number(gpa) - s.baseGfn * PAGE_SIZE, 1)[0];
}

/**
 * Whether the guest maps `gfn` with a memory type other than WB, so a host
 * access through the VMM's WB mapping aliases it (a stale or torn read, or a
 * write the guest may not see). Only a `noncoherent_dma` slot or a VM where
 * guest types apply to all memory can be non-WB.
 */
export function guestMapsNonWb(mmu: Mmu, gfn: number): boolean {
  const s = mmu.slots.find(gfn);
  if (s === null) return false;
  const noncoherent = (s.flags & SLOT_NONCOHERENT) !== 0;
  if (!noncoherent && !mmu.memtype.honorAll) return false;
  return mmu.memtype.effective(gfn, true, noncoherent).type !== "WB";
}

/**
 * Count host accesses (reads, writes, post-copy `UFFDIO_COPY`) of
 * `[gpa, gpa + length)` pages that the guest maps with a non-WB type.
 */
export function noteHostAccess(mmu: Mmu, gpa: number, length: number): void {
  for (let g = Math.floor(gpa / PAGE_SIZE); g * PAGE_SIZE < gpa + length; g++) {
    if (guestMapsNonWb(mmu, g)) mmu.stats.vm[M.aliasing_hazards]++;
  }
}
