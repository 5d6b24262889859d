/**
 * KVM's memslot rules, once for both backends: what
 * `kvm_vm_ioctl_set_memory_region`, `check_memory_region_flags` and
 * `__kvm_set_memory_region` (virt/kvm/kvm_main.c) refuse, with the errno
 * they return, plus the VMM's own naming rules. The emulator applies them as
 * its model; the kvm backend applies them before any mmap, so a request the
 * kernel would refuse fails the same way on both (e.g. a size of 2^64 - 4K
 * is the kernel's EINVAL, not mmap's ENOMEM), and the kernel itself only
 * adds what the VMM cannot know.
 *
 * @module
 */
import { hexRange } from "../../guest/page_tables.ts";
import { ERRNO_NUMBERS, ErrnoError, UnsupportedError } from "../errors.ts";
import type { MemslotFlag, MemslotSpec } from "../types.ts";
import { HUGEPAGE_SIZES, PAGE_BYTES, PAGE_SHIFT } from "./layout.ts";
import type { IndexedSlot, SlotIndex } from "./slot_index.ts";

const { EINVAL, EEXIST, EFAULT, EBUSY } = ERRNO_NUMBERS;

/** The ioctl that memslot changes (create, delete, move, flags) report in errors. */
export const MEMSLOT_OP = "KVM_SET_USER_MEMORY_REGION";

/** `KVM_MEM_SLOTS_NUM` (include/linux/kvm_host.h): `SHRT_MAX`. */
export const KVM_MEM_SLOTS_NUM = 32767;
/** `KVM_INTERNAL_MEM_SLOTS` on x86 (arch/x86/include/asm/kvm_host.h; `KVM_PRIVATE_MEM_SLOTS` before 6.1). */
export const KVM_INTERNAL_MEM_SLOTS = 3;
/**
 * `KVM_USER_MEM_SLOTS` on x86: ids 0..32763 (what `KVM_CAP_NR_MEMSLOTS`
 * reports). Slot 0 is the VMM's system region, so scripts get 32763.
 */
export const KVM_USER_MEM_SLOTS = KVM_MEM_SLOTS_NUM - KVM_INTERNAL_MEM_SLOTS;
/**
 * `KVM_MEM_MAX_NR_PAGES` (include/linux/kvm_host.h): `(1UL << 31) - 1`, so
 * that dirty-bitmap indices fit an `unsigned int`. The largest slot is
 * 8 TiB - 4 KiB.
 */
export const KVM_MEM_MAX_NR_PAGES = 2 ** 31 - 1;
/** The slot name of the VMM's system region (slot id 0). */
export const SYSTEM_SLOT_NAME = "system";
/** Every memslot flag the `Vm` contract names (the DSL's list too). */
export const MEMSLOT_FLAGS: readonly MemslotFlag[] = [
  "dirty_log",
  "readonly",
  "absent_fault",
  "noncoherent_dma",
];
/**
 * Flags that may change on an existing slot (a flags-only update):
 * `__kvm_set_memory_region` refuses only READONLY (and GUEST_MEMFD)
 * changes, so every flag `check_memory_region_flags` accepts may be set or
 * cleared: `absent_fault` in seed 003's kernel (its flag is valid once
 * KVM_CAP_MEMORY_FAULT_NOWAIT is), `noncoherent_dma` in the CrOS one.
 */
export const MUTABLE_FLAGS: readonly MemslotFlag[] = [
  "dirty_log",
  "absent_fault",
  "noncoherent_dma",
];

const U64_END = 1n << 64n;

/** How messages name slot `id` called `name` (id 0 is the VMM's system region). */
export function slotLabel(id: number, name: string): string {
  return id === 0 ? "the VMM's system region" : `memslot ${name}`;
}

/** A slot and its guest-physical range, for messages. */
export function describeSlot(s: IndexedSlot): string {
  return `${slotLabel(s.id, s.name)} ${
    hexRange(BigInt(s.baseGfn) << 12n, BigInt(s.npages) << 12n)
  }`;
}

/** A checked guest-physical range, in frames. */
export interface GfnRange {
  /** First guest frame. */
  baseGfn: number;
  /** Frames, 1..{@linkcode KVM_MEM_MAX_NR_PAGES}. */
  npages: number;
}

/**
 * `__kvm_set_memory_region`'s "general sanity checks" of a create or move,
 * in the kernel's order, all EINVAL: size page aligned, gpa page aligned,
 * gpa + size not wrapping past 2^64, at most `KVM_MEM_MAX_NR_PAGES` pages.
 * A size of 0 is a delete in KVM, and a delete of a slot that does not
 * exist is EINVAL too. Values outside u64 (a negative bigint) are EINVAL,
 * as no u64 field could carry them.
 *
 * @param gpa guest-physical base
 * @param size bytes
 * @param who the slot, for the message
 * @returns the range in frames
 */
export function checkRegion(gpa: bigint, size: bigint, who: string): GfnRange {
  const fail = (why: string) => new ErrnoError(MEMSLOT_OP, EINVAL, `${who}: ${why}`);
  if (gpa < 0n || gpa >= U64_END || size < 0n || size >= U64_END) {
    throw fail("gpa and size must be u64 values");
  }
  if (size === 0n) throw fail("size must be non-zero (size 0 deletes a slot)");
  if (size % PAGE_BYTES !== 0n) throw fail("size must be 4 KiB aligned");
  if (gpa % PAGE_BYTES !== 0n) throw fail("gpa must be 4 KiB aligned");
  if (gpa + size >= U64_END) throw fail(`gpa + size wraps past 2^64`);
  const npages = size >> BigInt(PAGE_SHIFT);
  if (npages > BigInt(KVM_MEM_MAX_NR_PAGES)) {
    throw fail(
      `0x${npages.toString(16)} pages is more than KVM_MEM_MAX_NR_PAGES ` +
        `(2^31 - 1 pages: a slot is at most 8 TiB - 4 KiB)`,
    );
  }
  return { baseGfn: Number(gpa >> BigInt(PAGE_SHIFT)), npages: Number(npages) };
}

/**
 * x86's `kvm_arch_prepare_memory_region`: a create or move whose last frame
 * is above `kvm_mmu_max_gfn()` is EINVAL. On kvm the kernel checks this
 * against the host; the emulator models a `gpaBits`-wide MMU.
 */
export function checkGpaWidth(r: GfnRange, gpaBits: number, who: string): void {
  if (r.baseGfn + r.npages > 2 ** (gpaBits - PAGE_SHIFT)) {
    throw new ErrnoError(
      MEMSLOT_OP,
      EINVAL,
      `${who}: range ends beyond the ${gpaBits}-bit guest-physical space`,
    );
  }
}

/**
 * `check_memory_region_flags`: an unknown flag is EINVAL.
 *
 * @param flags the flags asked for
 * @param known the flags this VM knows
 * @param who the slot, for the message
 */
export function checkFlagNames(
  flags: readonly string[],
  known: readonly string[],
  who: string,
): void {
  for (const f of flags) {
    if (!known.includes(f)) throw new ErrnoError(MEMSLOT_OP, EINVAL, `${who}: unknown flag ${f}`);
  }
}

/**
 * A flags-only update (`KVM_MR_FLAGS_ONLY`): `(new ^ old) & KVM_MEM_READONLY`
 * is EINVAL; the {@linkcode MUTABLE_FLAGS} may change.
 *
 * @returns the new flag set
 */
export function checkFlagsChange(
  slot: IndexedSlot,
  current: readonly MemslotFlag[],
  add: readonly MemslotFlag[],
  remove: readonly MemslotFlag[],
  known: readonly string[],
): MemslotFlag[] {
  const who = slotLabel(slot.id, slot.name);
  checkFlagNames([...add, ...remove], known, who);
  const next = [...new Set([...current.filter((f) => !remove.includes(f)), ...add])];
  for (const f of known as readonly MemslotFlag[]) {
    if (MUTABLE_FLAGS.includes(f)) continue;
    if (current.includes(f) !== next.includes(f)) {
      throw new ErrnoError(
        MEMSLOT_OP,
        EINVAL,
        `${describeSlot(slot)}: ${f} cannot change on an existing slot (only ${
          MUTABLE_FLAGS.join(", ")
        } can)`,
      );
    }
  }
  return next;
}

/**
 * Everything both backends check before creating a user slot, in the order
 * KVM would: the VMM's name rules (EEXIST for a taken name, `system`
 * included), `kvm_vm_ioctl_set_memory_region`'s slot id check (EINVAL once
 * every id below `KVM_USER_MEM_SLOTS` is taken), unknown flags, the region
 * checks, the VMM's `hugepage` values (EINVAL), and the overlap (EEXIST).
 *
 * @param index the VM's slots
 * @param spec the request
 * @param knownFlags the flags this VM knows (unknown ones are EINVAL)
 * @returns the slot id to use and the range in frames
 */
export function checkCreate(
  index: SlotIndex<IndexedSlot>,
  spec: MemslotSpec,
  knownFlags: readonly string[],
): GfnRange & { id: number } {
  const who = `memslot ${spec.name}`;
  const taken = index.byName(spec.name);
  if (taken !== undefined) {
    throw new ErrnoError(
      MEMSLOT_OP,
      EEXIST,
      taken.id === 0
        ? `the name "${spec.name}" is the VMM's system region`
        : `a memslot named ${spec.name} exists`,
    );
  }
  const id = index.peekId();
  if (id >= KVM_USER_MEM_SLOTS) {
    throw new ErrnoError(
      MEMSLOT_OP,
      EINVAL,
      `${who}: no free slot id: KVM_USER_MEM_SLOTS is ${KVM_USER_MEM_SLOTS} on x86 ` +
        `(ids 0..${KVM_USER_MEM_SLOTS - 1}; 0 is the VMM's system region), all in use`,
    );
  }
  checkFlagNames(spec.flags ?? [], knownFlags, who);
  const r = checkRegion(spec.gpa, spec.size, who);
  if (spec.hugepage !== undefined && !HUGEPAGE_SIZES.includes(spec.hugepage)) {
    throw new ErrnoError(MEMSLOT_OP, EINVAL, `${who}: hugepage must be 4K, 2M or 1G`);
  }
  checkOverlap(index, r, who, null);
  return { id, ...r };
}

/**
 * `kvm_check_memslot_overlap`: a create or move onto another slot is EEXIST.
 *
 * @param except the slot being moved (it may overlap itself)
 */
export function checkOverlap(
  index: SlotIndex<IndexedSlot>,
  r: GfnRange,
  who: string,
  except: IndexedSlot | null,
): void {
  const o = index.overlapping(r.baseGfn, r.npages, except);
  if (o !== null) {
    const gpa = BigInt(r.baseGfn) << 12n;
    throw new ErrnoError(
      MEMSLOT_OP,
      EEXIST,
      `${who} ${hexRange(gpa, BigInt(r.npages) << 12n)} overlaps ${describeSlot(o)}` +
        (o.id === 0 ? " (move the slot, or the region with `system gpa A size S`)" : ""),
    );
  }
}

/**
 * A move (`KVM_MR_MOVE`): the region checks at the new base, then overlap
 * with any other slot.
 *
 * @returns the new range in frames
 */
export function checkMove(index: SlotIndex<IndexedSlot>, slot: IndexedSlot, gpa: bigint): GfnRange {
  const who = slotLabel(slot.id, slot.name);
  const r = checkRegion(gpa, BigInt(slot.npages) << 12n, who);
  checkOverlap(index, r, who, slot);
  return r;
}

/**
 * The user slot a delete, move, flags change, dirty-log read or host access
 * names. KVM answers a change of a slot it does not have with EINVAL, and
 * the system region is not the script's to change.
 *
 * @param op the operation, for the error
 */
export function userSlot<S extends IndexedSlot>(
  index: SlotIndex<S>,
  name: string,
  op: string,
): S {
  const s = index.byName(name);
  if (s === undefined) throw new ErrnoError(op, EINVAL, `no memslot named "${name}"`);
  if (s.id === 0) throw new ErrnoError(op, EINVAL, `"${name}" is the VMM's system region`);
  return s;
}

/**
 * A host read or write of `length` bytes at `offset` in a slot of `bytes`
 * bytes: outside it is EFAULT, as a `pread` past a mapping is.
 *
 * @param op `pread` or `pwrite`
 */
export function checkHostAccess(
  name: string,
  bytes: bigint,
  offset: bigint,
  length: bigint,
  op: string,
): void {
  if (offset < 0n || length < 0n || offset + length > bytes) {
    throw new ErrnoError(
      op,
      EFAULT,
      `offset 0x${offset.toString(16)}+${length} is outside memslot ${name} (size 0x${
        bytes.toString(16)
      })`,
    );
  }
}

/**
 * `populate NAME [offset size]`: the range must be page aligned, non-negative
 * and inside the slot, else EINVAL (madvise's answer to a bad range).
 *
 * @returns the length to populate
 */
export function checkPopulate(
  name: string,
  bytes: bigint,
  offset: bigint,
  size: bigint | undefined,
): bigint {
  const len = size ?? bytes - offset;
  if (
    offset < 0n || len < 0n || offset + len > bytes || offset % PAGE_BYTES !== 0n ||
    len % PAGE_BYTES !== 0n
  ) {
    throw new ErrnoError(
      "MADV_POPULATE_WRITE",
      EINVAL,
      `offset 0x${
        offset.toString(16)
      } length ${len} is not a page-aligned range inside memslot ${name}`,
    );
  }
  return len;
}

/**
 * `demand uffd NAME minor` needs the slot's memory to be shared (a memfd),
 * where pages can be in the page cache and yet absent from the mapping.
 *
 * @param name the slot
 * @param backing its backing
 * @throws {UnsupportedError} for any other backing
 */
export function checkDemandMinor(name: string, backing: string): void {
  if (backing !== "memfd") {
    throw new UnsupportedError(
      `demand uffd ${name} minor: MINOR mode needs shared memory: give the slot \`backing memfd\` ` +
        `(it is ${backing})`,
    );
  }
}

/** Handler threads `demand uffd` may start per slot. */
export const MAX_UFFD_HANDLERS = 64;

/**
 * `demand uffd NAME handlers N`: N must be 1..{@linkcode MAX_UFFD_HANDLERS},
 * and a slot is registered once (a second UFFDIO_REGISTER of a range another
 * userfaultfd holds is EBUSY).
 *
 * @param served whether the slot is already served
 */
export function checkDemandUffd(name: string, handlers: number, served: boolean): void {
  if (!Number.isInteger(handlers) || handlers < 1 || handlers > MAX_UFFD_HANDLERS) {
    throw new RangeError(
      `demand uffd ${name}: handlers must be 1..${MAX_UFFD_HANDLERS}, got ${handlers}`,
    );
  }
  if (served) {
    throw new ErrnoError(
      "UFFDIO_REGISTER",
      EBUSY,
      `demand uffd ${name}: the slot is already served by userfaultfd`,
    );
  }
}
