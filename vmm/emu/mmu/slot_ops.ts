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
import { describeSlot, MEMSLOT_OP, MemslotTable, slotLabel } from "../memory/memslots.ts";
import { FLAG_BITS, Memslot, SLOT_DIRTY_LOG } from "../memory/memslot.ts";
import { startDirtyLog, stopDirtyLog } from "./dirty_log.ts";
import type { Mmu } from "./mmu.ts";

const { EINVAL, EEXIST } = ERRNO_NUMBERS;

/** Host page size in bytes to mapping level. */
function hostLevel(hugepage: bigint | undefined, name: string): number {
  switch (hugepage ?? 2097152n) {
    case 4096n:
      return 1;
    case 2097152n:
      return 2;
    case 1073741824n:
      return 3;
    default:
      throw new ErrnoError(MEMSLOT_OP, EINVAL, `memslot ${name}: hugepage must be 4K, 2M or 1G`);
  }
}

/** Flag names to bits. */
function flagBits(flags: readonly MemslotFlag[] | undefined): number {
  let b = 0;
  for (const f of flags ?? []) {
    const bit = FLAG_BITS[f];
    if (bit === undefined) throw new ErrnoError(MEMSLOT_OP, EINVAL, `unknown memslot flag ${f}`);
    b |= bit;
  }
  return b;
}

/** KVM_MR_CREATE. */
export function createSlot(mmu: Mmu, spec: MemslotSpec, id: number): Memslot {
  const who = slotLabel(id, spec.name);
  if (mmu.slots.byName(spec.name) !== null) {
    throw new ErrnoError(MEMSLOT_OP, EEXIST, `a memslot named ${spec.name} exists`);
  }
  MemslotTable.checkRange(spec.gpa, spec.size, who, mmu.paging.gpaBits);
  const baseGfn = Number(spec.gpa / 4096n);
  const npages = Number(spec.size / 4096n);
  mmu.slots.checkOverlap(baseGfn, npages, who, null);
  const slot = new Memslot({
    id,
    name: spec.name,
    baseGfn,
    npages,
    flags: flagBits(spec.flags),
    backing: spec.backing ?? "anon",
    hostLevel: hostLevel(spec.hugepage, spec.name),
  });
  if (mmu.tracking.enabled) slot.allocWriteTrack();
  if (mmu.paging.needsRmap) slot.allocRmap();
  mmu.slots.insert(slot);
  if (slot.flags & SLOT_DIRTY_LOG) startDirtyLog(mmu, slot);
  return slot;
}

/** Zap what a delete or move of `slot` invalidates, per the zap policy. */
function zapSlot(mmu: Mmu, slot: Memslot): void {
  const start = slot.baseGfn, end = start + slot.npages;
  if (mmu.caps.zapOnlyMemslot) {
    if (mmu.paging.zapRange(start, end) > 0) mmu.flushAll();
  } else {
    mmu.paging.zapAll();
    mmu.flushAll();
  }
}

/** KVM_MR_DELETE. */
export function deleteSlot(mmu: Mmu, slot: Memslot): void {
  slot.invalid = true;
  zapSlot(mmu, slot);
  mmu.slots.remove(slot);
  mmu.uffdSlots.delete(slot);
  slot.host.release();
}

/** KVM_MR_MOVE (data and host mapping move with the slot). */
export function moveSlot(mmu: Mmu, slot: Memslot, gpa: bigint): void {
  const size = BigInt(slot.npages) * 4096n;
  MemslotTable.checkRange(gpa, size, `memslot ${slot.name}`, mmu.paging.gpaBits);
  const baseGfn = Number(gpa / 4096n);
  mmu.slots.checkOverlap(baseGfn, slot.npages, `memslot ${slot.name}`, slot);
  slot.invalid = true;
  zapSlot(mmu, slot);
  slot.relocate(baseGfn);
  slot.invalid = false;
  mmu.slots.moved();
}

/** KVM_MR_FLAGS_ONLY: only `dirty_log` may change (READONLY and the rest: EINVAL). */
export function setSlotFlags(
  mmu: Mmu,
  slot: Memslot,
  add: readonly MemslotFlag[],
  remove: readonly MemslotFlag[],
): void {
  const next = (slot.flags | flagBits(add)) & ~flagBits(remove);
  const changed = next ^ slot.flags;
  if (changed & ~SLOT_DIRTY_LOG) {
    throw new ErrnoError(
      MEMSLOT_OP,
      EINVAL,
      `${describeSlot(slot)}: only dirty_log can change on an existing slot`,
    );
  }
  slot.flags = next;
  if (changed & SLOT_DIRTY_LOG) {
    if (next & SLOT_DIRTY_LOG) startDirtyLog(mmu, slot);
    else stopDirtyLog(mmu, slot);
  }
  mmu.slots.generation++;
}
