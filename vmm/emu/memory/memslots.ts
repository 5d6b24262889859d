/**
 * The emulator's memslot table: the shared {@linkcode SlotIndex} (O(log n)
 * insert, delete, move and lookup) behind a two-entry cache of recent hits
 * (KVM's `last_used_slot`), and the memslots generation. The rules a change
 * must pass live in `vmm/memory/slot_rules.ts`, shared with the kvm backend.
 *
 * @module
 */
import { SlotIndex } from "../../memory/slot_index.ts";
import { SYSTEM_SLOT_NAME } from "../../memory/slot_rules.ts";
import type { Memslot } from "./memslot.ts";

export { describeSlot, MEMSLOT_OP, slotLabel } from "../../memory/slot_rules.ts";

/** Guest-physical address bits the emulated EPT covers (4-level: 48). */
export const GPA_BITS = 48;
/** One past the highest guest frame number. */
export const MAX_GFN = 2 ** (GPA_BITS - 12);
/**
 * Guest-physical address bits under the shadow MMU: shadow pages map host
 * frames directly, so KVM allows the CPU's full 52 bits (kvm_mmu_max_gfn()).
 */
export const SHADOW_GPA_BITS = 52;

/** Sorted, non-overlapping memslots. */
export class MemslotTable {
  /** The shared ordered index (rules in `vmm/memory/slot_rules.ts` take it). */
  readonly index: SlotIndex<Memslot> = new SlotIndex<Memslot>();
  #last: Memslot | null = null;
  #prev: Memslot | null = null;
  /** Bumped on every change (KVM's memslots generation; tags MMIO SPTEs). */
  generation = 0;

  /** The slots in GPA order. */
  get slots(): readonly Memslot[] {
    return this.index.ordered();
  }

  /** Number of user slots (id ≠ 0). */
  get userCount(): number {
    const sys = this.index.byName(SYSTEM_SLOT_NAME);
    return this.index.size - (sys !== undefined && sys.id === 0 ? 1 : 0);
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
    const s = this.index.find(gfn);
    if (s !== null) {
      this.#prev = last;
      this.#last = s;
    }
    return s;
  }

  /** The slot named `name`, or null. */
  byName(name: string): Memslot | null {
    return this.index.byName(name) ?? null;
  }

  /** Insert a slot that passed the rules (its id is the index's next free id). */
  insert(slot: Memslot): void {
    this.index.insert(slot);
    this.#changed();
  }

  /** Remove a slot. */
  remove(slot: Memslot): void {
    this.index.remove(slot);
    this.#changed();
  }

  /** Re-key a slot after a move. */
  moved(slot: Memslot): void {
    this.index.moved(slot);
    this.#changed();
  }

  #changed(): void {
    this.#last = null;
    this.#prev = null;
    this.generation++;
  }

  /** Drop every slot. */
  clear(): void {
    for (const s of this.index.ordered()) s.host.release();
    this.index.clear();
    this.#changed();
  }
}
