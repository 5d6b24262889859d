/**
 * The memslot table: slots sorted by base GFN, O(log n) lookup by binary
 * search with a last-hit cache (KVM's `last_used_slot`), and KVM's
 * `__kvm_set_memory_region` rules expressed as errno.
 *
 * @module
 */
import { ERRNO_NUMBERS, ErrnoError } from "../../errors.ts";
import type { Memslot } from "./memslot.ts";

const { EINVAL, EEXIST } = ERRNO_NUMBERS;
/** The ioctl that memslot changes (create, delete, move, flags) report in errors. */
export const MEMSLOT_OP = "KVM_SET_USER_MEMORY_REGION";

/** Guest-physical address bits the emulated EPT covers (4-level: 48). */
export const GPA_BITS = 48;
/** One past the highest guest frame number. */
export const MAX_GFN = 2 ** (GPA_BITS - 12);
/**
 * Guest-physical address bits under the shadow MMU: shadow pages map host
 * frames directly, so KVM allows the CPU's full 52 bits (kvm_mmu_max_gfn()).
 */
export const SHADOW_GPA_BITS = 52;
/** KVM_USER_MEM_SLOTS on x86 (KVM_MEM_SLOTS_NUM minus private slots). */
export const MAX_USER_SLOTS = 32764;

/** How messages name slot `id` called `name` (id 0 is the VMM's system region). */
export function slotLabel(id: number, name: string): string {
  return id === 0 ? "the VMM's system region" : `memslot ${name}`;
}

/** `[0x…, 0x…)`: a guest-physical range of `npages` pages from `baseGfn`, for messages. */
function rangeText(baseGfn: number, npages: number): string {
  const a = baseGfn * 4096;
  return `[0x${a.toString(16)}, 0x${(a + npages * 4096).toString(16)})`;
}

/** Formats a slot's range for messages. */
export function describeSlot(slot: Memslot): string {
  return `${slotLabel(slot.id, slot.name)} ${rangeText(slot.baseGfn, slot.npages)}`;
}

/** Sorted, non-overlapping memslots. */
export class MemslotTable {
  #slots: Memslot[] = [];
  #last: Memslot | null = null;
  #prev: Memslot | null = null;
  /** Bumped on every change (KVM's memslots generation; tags MMIO SPTEs). */
  generation = 0;

  /** The slots in GPA order. */
  get slots(): readonly Memslot[] {
    return this.#slots;
  }

  /** Number of user slots (id ≠ 0). */
  get userCount(): number {
    let n = 0;
    for (const s of this.#slots) if (s.id !== 0) n++;
    return n;
  }

  /** The slot containing `gfn`, or null. Hot: no allocation. */
  find(gfn: number): Memslot | null {
    // Two recent slots: page-table walks alternate between the system
    // region and the data slot.
    const last = this.#last;
    if (last !== null && gfn >= last.baseGfn && gfn < last.baseGfn + last.npages) return last;
    const prev = this.#prev;
    if (prev !== null && gfn >= prev.baseGfn && gfn < prev.baseGfn + prev.npages) {
      this.#prev = last;
      this.#last = prev;
      return prev;
    }
    const a = this.#slots;
    let lo = 0, hi = a.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const s = a[mid];
      if (gfn < s.baseGfn) hi = mid - 1;
      else if (gfn >= s.baseGfn + s.npages) lo = mid + 1;
      else {
        this.#prev = this.#last;
        this.#last = s;
        return s;
      }
    }
    return null;
  }

  /** The slot named `name`, or null. */
  byName(name: string): Memslot | null {
    for (const s of this.#slots) if (s.name === name) return s;
    return null;
  }

  /** Throws EINVAL for a range KVM rejects (misaligned, empty, wrapping, too high). */
  static checkRange(gpa: bigint, size: bigint, what: string, gpaBits = GPA_BITS): void {
    if (size <= 0n) throw new ErrnoError(MEMSLOT_OP, EINVAL, `${what}: size must be non-zero`);
    if (gpa % 4096n !== 0n || size % 4096n !== 0n) {
      throw new ErrnoError(MEMSLOT_OP, EINVAL, `${what}: gpa and size must be 4 KiB aligned`);
    }
    if (gpa < 0n || gpa + size > 2n ** BigInt(gpaBits)) {
      throw new ErrnoError(
        MEMSLOT_OP,
        EINVAL,
        `${what}: range ends beyond the ${gpaBits}-bit guest-physical space`,
      );
    }
  }

  /** The first slot other than `except` overlapping `[baseGfn, baseGfn + npages)`. */
  overlapping(baseGfn: number, npages: number, except: Memslot | null): Memslot | null {
    for (const s of this.#slots) {
      if (s === except) continue;
      if (baseGfn < s.baseGfn + s.npages && s.baseGfn < baseGfn + npages) return s;
    }
    return null;
  }

  /** Throws EEXIST naming both parties when the range overlaps a slot. */
  checkOverlap(baseGfn: number, npages: number, who: string, except: Memslot | null): void {
    const o = this.overlapping(baseGfn, npages, except);
    if (o !== null) {
      throw new ErrnoError(
        MEMSLOT_OP,
        EEXIST,
        `${who} ${rangeText(baseGfn, npages)} overlaps ${describeSlot(o)}`,
      );
    }
  }

  /** Insert a validated slot. */
  insert(slot: Memslot): void {
    if (slot.id !== 0 && this.userCount >= MAX_USER_SLOTS) {
      throw new ErrnoError(MEMSLOT_OP, EINVAL, `more than ${MAX_USER_SLOTS} memslots`);
    }
    this.#slots.push(slot);
    this.#sort();
  }

  /** Remove a slot. */
  remove(slot: Memslot): void {
    this.#slots = this.#slots.filter((s) => s !== slot);
    this.#changed();
  }

  /** Re-sort after a move. */
  moved(): void {
    this.#sort();
  }

  #sort(): void {
    this.#slots.sort((a, b) => a.baseGfn - b.baseGfn);
    this.#changed();
  }

  #changed(): void {
    this.#last = null;
    this.#prev = null;
    this.generation++;
  }

  /** Drop every slot. */
  clear(): void {
    for (const s of this.#slots) s.host.release();
    this.#slots = [];
    this.#changed();
  }
}
