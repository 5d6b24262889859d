/**
 * Memslot changes as `__kvm_set_memory_region` makes them: create, delete,
 * move and flags-only updates, with KVM's errno rules and the zap policy
 * of proposal 2 (`zap_all`: every root obsolete; `zap_only_memslot`: only
 * the slot's leaf SPTEs).
 *
 * @module
 */
import { ERRNO_NUMBERS, ErrnoError } from "../../errors.ts";
import type { MemslotFlag, MemslotSpec } from "../../types.ts";
import {
  checkCreate,
  checkFlagsChange,
  checkGpaWidth,
  checkMove,
  MEMSLOT_FLAGS,
  MEMSLOT_OP,
  slotLabel,
} from "../../memory/slot_rules.ts";
import { SIZE_1G, SIZE_2M, SIZE_4K } from "../../memory/layout.ts";
import {
  FLAG_BITS,
  flagNames,
  Memslot,
  SLOT_DIRTY_LOG,
  SLOT_NONCOHERENT,
} from "../memory/memslot.ts";
import { startDirtyLog, stopDirtyLog } from "./dirty_log.ts";
import type { Mmu } from "./mmu.ts";
import { M } from "../stats.ts";
import { COSTS } from "../time/costs.ts";

const { EINVAL } = ERRNO_NUMBERS;

/** Host page size in bytes to mapping level. */
function hostLevel(hugepage: bigint | undefined, name: string): number {
  switch (hugepage ?? SIZE_2M) {
    case SIZE_4K:
      return 1;
    case SIZE_2M:
      return 2;
    case SIZE_1G:
      return 3;
    default:
      throw new ErrnoError(MEMSLOT_OP, EINVAL, `memslot ${name}: hugepage must be 4K, 2M or 1G`);
  }
}

/** Flag names (checked by the shared rules) to bits. */
function flagBits(flags: readonly MemslotFlag[] | undefined): number {
  let b = 0;
  for (const f of flags ?? []) b |= FLAG_BITS[f];
  return b;
}

/**
 * KVM_MR_CREATE with the shared rules (`vmm/memory/slot_rules.ts`), then
 * x86's GPA-width rule for the modelled MMU. The first slot created is the
 * system region (id 0); user slots get the lowest free id after it.
 */
export function createSlot(mmu: Mmu, spec: MemslotSpec): Memslot {
  const r = checkCreate(mmu.slots.index, spec, MEMSLOT_FLAGS);
  checkGpaWidth(r, mmu.paging.gpaBits, slotLabel(r.id, spec.name));
  const slot = new Memslot({
    id: r.id,
    name: spec.name,
    baseGfn: r.baseGfn,
    npages: r.npages,
    flags: flagBits(spec.flags),
    backing: spec.backing ?? "anon",
    hostLevel: hostLevel(spec.hugepage, spec.name),
  });
  if (mmu.tracking.enabled) slot.allocWriteTrack();
  if (mmu.paging.needsRmap) slot.allocRmap();
  mmu.slots.insert(slot);
  mmu.time.host(COSTS.memslotCreate.ns);
  if (slot.flags & SLOT_DIRTY_LOG) startDirtyLog(mmu, slot);
  return slot;
}

/** Zap what a delete or move of `slot` invalidates, per the zap policy. */
function zapSlot(mmu: Mmu, slot: Memslot): void {
  const start = slot.baseGfn, end = start + slot.npages;
  const zapped0 = mmu.stats.vm[M.sptes_zapped];
  if (mmu.caps.zapOnlyMemslot) {
    const n = mmu.paging.zapRange(start, end);
    mmu.time.zapped(mmu.stats.vm[M.sptes_zapped] - zapped0);
    if (n > 0) mmu.flushAll();
  } else {
    mmu.paging.zapAll();
    mmu.time.zapped(mmu.stats.vm[M.sptes_zapped] - zapped0);
    mmu.flushAll();
  }
}

/** KVM_MR_DELETE. */
export function deleteSlot(mmu: Mmu, slot: Memslot): void {
  slot.invalid = true;
  mmu.time.host(COSTS.memslotDelete.ns);
  zapSlot(mmu, slot);
  mmu.slots.remove(slot);
  mmu.uffdSlots.delete(slot);
  slot.host.release();
}

/** KVM_MR_MOVE (data and host mapping move with the slot). */
export function moveSlot(mmu: Mmu, slot: Memslot, gpa: bigint): void {
  const r = checkMove(mmu.slots.index, slot, gpa);
  checkGpaWidth(r, mmu.paging.gpaBits, slotLabel(slot.id, slot.name));
  slot.invalid = true;
  mmu.time.host(COSTS.memslotMove.ns);
  zapSlot(mmu, slot);
  slot.relocate(r.baseGfn);
  slot.invalid = false;
  mmu.slots.moved(slot);
}

/**
 * KVM_MR_FLAGS_ONLY (the shared rule says which flags may change).
 * `absent_fault` is read at each fault, so it needs nothing more; a
 * `noncoherent_dma` change changes the slot's memory types, so its SPTEs go.
 */
export function setSlotFlags(
  mmu: Mmu,
  slot: Memslot,
  add: readonly MemslotFlag[],
  remove: readonly MemslotFlag[],
): void {
  const next = flagBits(checkFlagsChange(slot, flagNames(slot.flags), add, remove, MEMSLOT_FLAGS));
  const changed = next ^ slot.flags;
  slot.flags = next;
  if (changed & SLOT_DIRTY_LOG) {
    if (next & SLOT_DIRTY_LOG) startDirtyLog(mmu, slot);
    else stopDirtyLog(mmu, slot);
  }
  if (
    (changed & SLOT_NONCOHERENT) &&
    mmu.paging.zapRange(slot.baseGfn, slot.baseGfn + slot.npages) > 0
  ) {
    mmu.flushAll();
  }
  mmu.slots.generation++;
}
