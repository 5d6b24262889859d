/**
 * Dirty logging: starting it (write-protect + flush, as
 * `kvm_mmu_slot_apply_flags`; huge pages split then with `eager_page_split`,
 * else by their first write fault), stopping it (zap or one of the two
 * in-place recoveries), and KVM_GET_DIRTY_LOG / KVM_CLEAR_DIRTY_LOG with and
 * without manual protect.
 *
 * Without PML or EPT A/D-based dirty tracking: re-protection clears the
 * writable bit, so the first write after it takes a (fast) EPT violation.
 *
 * @module
 */
import { ERRNO_NUMBERS, ErrnoError } from "../../errors.ts";
import { type Memslot, SLOT_DIRTY_LOG } from "../memory/memslot.ts";
import { M } from "../stats.ts";
import type { Mmu } from "./mmu.ts";
import { popcount32 } from "../../memory/bitmap.ts";
import { COSTS } from "../time/costs.ts";
import { T } from "../time/clock.ts";

/** 64-page words of a slot's bitmap (the unit of the get/clear costs). */
function words64(slot: Memslot): number {
  return Math.ceil(slot.npages / 64);
}

const { ENOENT } = ERRNO_NUMBERS;

/** Turn dirty logging on for `slot` (the flag is already set). */
export function startDirtyLog(mmu: Mmu, slot: Memslot): void {
  slot.allocDirty();
  const start = slot.baseGfn, end = start + slot.npages;
  const vm = mmu.stats.vm;
  const small0 = vm[M.pages_4k], gig0 = vm[M.pages_1g];
  const n = mmu.paging.startDirtyLog(start, end, mmu.caps.eagerPageSplit);
  // Splits from the counters (a 2M split adds 512 4K leaves), the rest were write-protected.
  const splits = (vm[M.pages_4k] - small0) / 512 + Math.max(0, gig0 - vm[M.pages_1g]);
  mmu.time.underWriteLock(
    splits * COSTS.hugePageSplit.ns + Math.max(0, n - splits) * COSTS.writeProtectSpte.ns,
    T.zap,
  );
  if (n > 0) mmu.flushAll();
}

/** Turn dirty logging off for `slot` (the flag is already cleared). */
export function stopDirtyLog(mmu: Mmu, slot: Memslot): void {
  slot.dirty = null;
  const start = slot.baseGfn, end = start + slot.npages;
  const maxLevel = (gfn: number) => mmu.maxLevel(slot, gfn);
  const recovery = mmu.caps.recovery;
  const n = mmu.paging.collapseRange(start, end, maxLevel, recovery);
  const inPlace = recovery !== "zap";
  if (inPlace) mmu.stats.vm[M.huge_pages_recovered] += n;
  // In place, each recovered table's 512 children are still visited and dropped.
  if (inPlace) {
    mmu.time.underWriteLock(n * (512 * COSTS.spteZap.ns + COSTS.spteInstall.ns), T.zap);
  } else mmu.time.zapped(n);
  if (n > 0) mmu.flushAll();
}

/** Write-protect the pages whose bits are set in `mask` (32 pages from `rel0`); returns how many lost W. */
function protectMask(mmu: Mmu, slot: Memslot, rel0: number, mask: number): number {
  let n = 0;
  const paging = mmu.paging;
  while (mask !== 0) {
    const b = 31 - Math.clz32(mask);
    mask &= ~(1 << b);
    if (paging.writeProtectGfn(slot.baseGfn + rel0 + b, false) > 0) n++;
  }
  return n;
}

/**
 * KVM_GET_DIRTY_LOG, then KVM_CLEAR_DIRTY_LOG of the same bits when `clear`.
 * Returns the bitmap as KVM lays it out (little-endian longs, one bit per page).
 */
export function getDirtyLog(mmu: Mmu, slot: Memslot, clear: boolean): Uint8Array {
  const d = slot.dirty;
  if ((slot.flags & SLOT_DIRTY_LOG) === 0 || d === null) {
    throw new ErrnoError("KVM_GET_DIRTY_LOG", ENOENT, `memslot ${slot.name} is not logging`);
  }
  const words = d.length / 2;
  const live = d.subarray(0, words);
  const out = new Uint32Array(words);
  out.set(live);
  let changed = 0;
  let pages = 0;
  for (let w = 0; w < words; w++) {
    const bits = out[w];
    if (bits === 0) continue;
    pages += popcount32(bits);
    if (!mmu.caps.manualProtect || clear) {
      live[w] &= ~bits;
      changed += protectMask(mmu, slot, w * 32, bits);
    }
  }
  d.subarray(words).set(out); // the second half is KVM's copy buffer
  mmu.time.host(words64(slot) * COSTS.dirtyLogGetPerWord.ns);
  if (!mmu.caps.manualProtect || clear) {
    mmu.time.underWriteLock(
      words64(slot) * COSTS.dirtyLogClearPerWord.ns + changed * COSTS.writeProtectSpte.ns,
      T.zap,
    );
  }
  if (changed > 0) mmu.flushAll();
  mmu.stats.vm[M.dirty_pages] += pages;
  return new Uint8Array(out.buffer);
}
