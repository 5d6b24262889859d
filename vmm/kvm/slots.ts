/**
 * The VM's memslots: the system region at slot 0 and user slots from id 1,
 * their host mappings, and the kernel metadata each costs (measured as
 * vmalloc growth around the ioctl).
 *
 * KVM semantics are kept: delete is a region of size 0, move is the same
 * slot id at a new GPA. Every rule of `vmm/memory/slot_rules.ts` is checked
 * before any mmap or ioctl, so the errno is the emulator's by construction;
 * the kernel adds only what it alone knows (e.g. the host's GPA width).
 *
 * @module
 */
import { UnsupportedError } from "../errors.ts";
import { SlotIndex } from "../memory/slot_index.ts";
import {
  checkCreate,
  checkFlagsChange,
  checkMove,
  MEMSLOT_FLAGS,
  MEMSLOT_OP,
  SYSTEM_SLOT_NAME,
  userSlot,
} from "../memory/slot_rules.ts";
import type { MemslotFlag, MemslotInfo, MemslotSpec } from "../types.ts";
import { vmallocUsedBytes } from "./host.ts";
import { type HostMapping, mapBacking, unmapBacking } from "./memory.ts";
import { MEM } from "./uapi.ts";
import type { VmFd } from "./vm_fd.ts";

/** A live slot. */
export interface Slot {
  /** The slot's name in scripts and messages. */
  name: string;
  /** KVM's slot id (0: the system region). */
  id: number;
  /** Guest-physical base (changes on move). */
  gpa: bigint;
  /** Bytes. */
  size: bigint;
  /** First guest frame (the index key; changes on move). */
  baseGfn: number;
  /** Size in pages. */
  npages: number;
  /** The DSL flags in force. */
  flags: MemslotFlag[];
  /** The host memory behind the slot. */
  mapping: HostMapping;
  /** vmalloc growth measured around this slot's ioctls, in bytes. */
  metadataBytes: bigint;
}

/** Translate DSL flags to KVM memslot flags; proposal-only flags are refused here. */
function kvmFlags(name: string, flags: readonly MemslotFlag[]): number {
  let f = 0;
  for (const flag of flags) {
    if (flag === "dirty_log") f |= MEM.LOG_DIRTY_PAGES;
    else if (flag === "readonly") f |= MEM.READONLY;
    else if (flag === "absent_fault") {
      throw new UnsupportedError(
        `slot "${name}": flag absent_fault (KVM_MEM_ABSENT_MAPPING_FAULT) is not in mainline KVM; use \`demand uffd\``,
      );
    } else {
      throw new UnsupportedError(
        `slot "${name}": flag noncoherent_dma is not in mainline KVM (ChromeOS-only flag 8); the mainline mechanism is quirk ignore_guest_pat`,
      );
    }
  }
  return f;
}

/**
 * The public view of a slot.
 *
 * @param s the slot
 * @returns a copy of what `memslots()` reports for it
 */
export function slotInfo(s: Slot): MemslotInfo {
  return {
    name: s.name,
    id: s.id,
    gpa: s.gpa,
    size: s.size,
    flags: [...s.flags],
    backing: s.mapping.backing,
    hugepage: s.mapping.hugepage,
  };
}

/**
 * The memslot table of one VM, over the shared {@linkcode SlotIndex}.
 */
export class SlotTable {
  #vm: VmFd;
  #index = new SlotIndex<Slot>();
  /** Running totals over the user slots (O(1) stats). */
  #userBytes = 0n;
  #userMetadata = 0n;

  /**
   * An empty table.
   *
   * @param vm the VM fd
   */
  constructor(vm: VmFd) {
    this.#vm = vm;
  }

  /** Every slot (system included), in GPA order. */
  all(): readonly Slot[] {
    return this.#index.ordered();
  }

  /** The slot containing guest frame `gfn`, or null (O(log n)). */
  find(gfn: number): Slot | null {
    return this.#index.find(gfn);
  }

  /** The system region's slot. */
  get system(): Slot {
    return this.#index.byName(SYSTEM_SLOT_NAME)!;
  }

  /**
   * A user slot by name: EINVAL (as `op`) for an unknown name or the system
   * region, as KVM answers a change of a slot it does not have.
   */
  get(name: string, op = MEMSLOT_OP): Slot {
    return userSlot(this.#index, name, op);
  }

  /**
   * Total measured kernel metadata of the live user slots. The VMM's own
   * system region is left out on both backends, so a script's figure is
   * about the slots it declared.
   */
  metadataBytes(): bigint {
    return this.#userMetadata;
  }

  /** Bytes of guest memory in the live user slots. */
  userBytes(): bigint {
    return this.#userBytes;
  }

  /** The public view of the user slots, sorted by GPA. */
  infos(): MemslotInfo[] {
    return this.all().filter((s) => s.id !== 0).map(slotInfo);
  }

  /**
   * Create the system region at slot 0 (anonymous memory).
   *
   * @param gpa its base
   * @param size its size
   */
  addSystem(gpa: bigint, size: bigint): Slot {
    return this.#create({ name: SYSTEM_SLOT_NAME, gpa, size });
  }

  /**
   * Create a user slot.
   *
   * @param spec what the caller asked for
   * @returns the new slot
   */
  add(spec: MemslotSpec): Slot {
    return this.#create(spec);
  }

  /** Run a memslot ioctl and return the vmalloc growth it caused. */
  #measured(fn: () => void): bigint {
    const before = vmallocUsedBytes();
    fn();
    const after = vmallocUsedBytes();
    return before === undefined || after === undefined ? 0n : after - before;
  }

  #create(spec: MemslotSpec): Slot {
    // The shared rules first: nothing is mapped for a request KVM refuses.
    const r = checkCreate(this.#index, spec, MEMSLOT_FLAGS);
    const flags = [...(spec.flags ?? [])];
    const kflags = kvmFlags(spec.name, flags);
    const mapping = mapBacking(spec.name, spec.size, spec.backing ?? "anon", spec.hugepage);
    const slot: Slot = {
      name: spec.name,
      id: r.id,
      gpa: spec.gpa,
      size: spec.size,
      baseGfn: r.baseGfn,
      npages: r.npages,
      flags,
      mapping,
      metadataBytes: 0n,
    };
    try {
      slot.metadataBytes = this.#measured(() =>
        this.#vm.setUserMemoryRegion({
          slot: r.id,
          flags: kflags,
          guestPhysAddr: spec.gpa,
          memorySize: spec.size,
          userspaceAddr: mapping.hva,
        })
      );
    } catch (e) {
      unmapBacking(mapping);
      throw e;
    }
    this.#index.insert(slot);
    if (slot.id !== 0) {
      this.#userBytes += slot.size;
      this.#userMetadata += slot.metadataBytes;
    }
    return slot;
  }

  /**
   * Delete a user slot (KVM: size 0), then unmap its memory.
   *
   * @param name the slot
   */
  delete(name: string): void {
    const s = this.get(name);
    this.#vm.setUserMemoryRegion({
      slot: s.id,
      flags: 0,
      guestPhysAddr: s.gpa,
      memorySize: 0n,
      userspaceAddr: s.mapping.hva,
    });
    this.#index.remove(s);
    this.#userBytes -= s.size;
    this.#userMetadata -= s.metadataBytes;
    unmapBacking(s.mapping);
  }

  /**
   * Move a user slot to a new GPA (same slot id).
   *
   * @param name the slot
   * @param gpa the new base
   */
  move(name: string, gpa: bigint): void {
    const s = this.get(name);
    const r = checkMove(this.#index, s, gpa);
    this.#vm.setUserMemoryRegion({
      slot: s.id,
      flags: kvmFlags(name, s.flags),
      guestPhysAddr: gpa,
      memorySize: s.size,
      userspaceAddr: s.mapping.hva,
    });
    s.gpa = gpa;
    s.baseGfn = r.baseGfn;
    this.#index.moved(s);
  }

  /**
   * Change a user slot's flags (only `dirty_log` may change: the shared rule).
   *
   * @param name the slot
   * @param add flags to set
   * @param remove flags to clear
   */
  setFlags(name: string, add: readonly MemslotFlag[], remove: readonly MemslotFlag[]): void {
    const s = this.get(name);
    const next = checkFlagsChange(s, s.flags, add, remove, MEMSLOT_FLAGS);
    const kflags = kvmFlags(name, next);
    const grew = this.#measured(() =>
      this.#vm.setUserMemoryRegion({
        slot: s.id,
        flags: kflags,
        guestPhysAddr: s.gpa,
        memorySize: s.size,
        userspaceAddr: s.mapping.hva,
      })
    );
    s.metadataBytes += grew;
    this.#userMetadata += grew;
    s.flags = next;
  }

  /**
   * Unmap every slot's memory (the VM fd is being closed). Idempotent.
   *
   * @param keepMappings leave the mappings in place (another thread may still read them)
   */
  releaseAll(keepMappings = false): void {
    if (!keepMappings) { for (const s of this.#index.ordered()) unmapBacking(s.mapping); }
    this.#index.clear();
    this.#userBytes = 0n;
    this.#userMetadata = 0n;
  }
}
