/**
 * The VM's memslots: the system region at slot 0 and user slots from id 1,
 * their host mappings, and the kernel metadata each costs (measured as
 * vmalloc growth around the ioctl).
 *
 * KVM semantics are kept: delete is a region of size 0, move is the same
 * slot id at a new GPA, overlaps are the kernel's EEXIST, and a change the
 * kernel forbids (readonly on an existing slot) is the kernel's EINVAL.
 *
 * @module
 */
import { hexRange } from "../../guest/page_tables.ts";
import { ERRNO_NUMBERS, ErrnoError, UnsupportedError } from "../errors.ts";
import type { MemslotFlag, MemslotInfo, MemslotSpec } from "../types.ts";
import { vmallocUsedBytes } from "./host.ts";
import { type HostMapping, mapBacking, unmapBacking } from "./memory.ts";
import { MEM } from "./uapi.ts";
import type { VmFd } from "./vm_fd.ts";

/** The operation named in refusals made before the ioctl, as the ioctl would make them. */
const OP = "KVM_SET_USER_MEMORY_REGION";
const { EINVAL, EEXIST } = ERRNO_NUMBERS;
const HUGEPAGE_SIZES: readonly bigint[] = [4096n, 2n << 20n, 1n << 30n];

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
  /** The DSL flags in force. */
  flags: MemslotFlag[];
  /** The host memory behind the slot. */
  mapping: HostMapping;
  /** vmalloc growth measured around this slot's ioctls, in bytes. */
  metadataBytes: bigint;
}

/** The name the system region has in messages and `memslots()`. */
const SYSTEM_SLOT_NAME = "system";

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
 * The memslot table of one VM.
 */
export class SlotTable {
  #vm: VmFd;
  #slots = new Map<string, Slot>();
  #onChange: () => void;

  /**
   * An empty table.
   *
   * @param vm the VM fd
   * @param onChange called after every change (to refresh guest-memory views)
   */
  constructor(vm: VmFd, onChange: () => void) {
    this.#vm = vm;
    this.#onChange = onChange;
  }

  /** Every slot (system included), unordered. */
  all(): Slot[] {
    return [...this.#slots.values()];
  }

  /** The system region's slot. */
  get system(): Slot {
    return this.#slots.get(SYSTEM_SLOT_NAME)!;
  }

  /** A user slot by name, or a clear error. */
  get(name: string): Slot {
    const s = this.#slots.get(name);
    // KVM answers a delete/move/flag change of a slot it does not have with EINVAL.
    if (!s || s.id === 0) {
      throw new ErrnoError(
        OP,
        EINVAL,
        s ? `"${name}" is the VMM's system region` : `no memslot named "${name}"`,
      );
    }
    return s;
  }

  /**
   * Total measured kernel metadata of the live user slots. The VMM's own
   * system region is left out on both backends, so a script's figure is
   * about the slots it declared.
   */
  metadataBytes(): bigint {
    let t = 0n;
    for (const s of this.#slots.values()) if (s.id !== 0) t += s.metadataBytes;
    return t;
  }

  /** Bytes of guest memory in the live user slots. */
  userBytes(): bigint {
    let t = 0n;
    for (const s of this.#slots.values()) if (s.id !== 0) t += s.size;
    return t;
  }

  /** The public view of the user slots, sorted by GPA. */
  infos(): MemslotInfo[] {
    return this.all().filter((s) => s.id !== 0).sort((a, b) => (a.gpa < b.gpa ? -1 : 1)).map(
      slotInfo,
    );
  }

  /**
   * Create the system region at slot 0 (anonymous memory).
   *
   * @param gpa its base
   * @param size its size
   */
  addSystem(gpa: bigint, size: bigint): Slot {
    return this.#create({ name: SYSTEM_SLOT_NAME, gpa, size }, 0);
  }

  /**
   * Create a user slot.
   *
   * @param spec what the caller asked for
   * @returns the new slot
   */
  add(spec: MemslotSpec): Slot {
    if (this.#slots.has(spec.name)) {
      throw new ErrnoError(OP, EEXIST, `memslot "${spec.name}" already exists`);
    }
    if (spec.hugepage !== undefined && !HUGEPAGE_SIZES.includes(spec.hugepage)) {
      throw new ErrnoError(OP, EINVAL, `hugepage of "${spec.name}" must be 4K, 2M or 1G`);
    }
    this.#checkSystemOverlap(spec.name, spec.gpa, spec.size);
    return this.#create(spec, this.#freeId());
  }

  #freeId(): number {
    const used = new Set([...this.#slots.values()].map((s) => s.id));
    let id = 1;
    while (used.has(id)) id++;
    return id;
  }

  #checkSystemOverlap(name: string, gpa: bigint, size: bigint): void {
    const sys = this.#slots.get(SYSTEM_SLOT_NAME);
    if (!sys) return;
    if (gpa < sys.gpa + sys.size && sys.gpa < gpa + size) {
      throw new ErrnoError(
        OP,
        EEXIST,
        `memslot "${name}" ${hexRange(gpa, size)} overlaps the VMM's system region ${
          hexRange(sys.gpa, sys.size)
        } (move the slot, or the region with \`system gpa A size S\`)`,
      );
    }
  }

  /** Rewrite an EEXIST so that its hint names the slot the range overlaps. */
  #overlapError(e: unknown, name: string, gpa: bigint, size: bigint): unknown {
    if (!(e instanceof ErrnoError) || e.errno !== "EEXIST") return e;
    const other = this.all().find((s) =>
      s.name !== name && gpa < s.gpa + s.size && s.gpa < gpa + size
    );
    if (!other) return e;
    return new ErrnoError(
      e.operation,
      e.errnoValue,
      `slot "${name}" ${hexRange(gpa, size)} overlaps slot "${other.name}" ${
        hexRange(other.gpa, other.size)
      }`,
    );
  }

  /** Run a memslot ioctl and return the vmalloc growth it caused. */
  #measured(fn: () => void): bigint {
    const before = vmallocUsedBytes();
    fn();
    const after = vmallocUsedBytes();
    return before === undefined || after === undefined ? 0n : after - before;
  }

  #create(spec: MemslotSpec, id: number): Slot {
    const flags = [...(spec.flags ?? [])];
    const kflags = kvmFlags(spec.name, flags);
    const mapping = mapBacking(spec.name, spec.size, spec.backing ?? "anon", spec.hugepage);
    const slot: Slot = {
      name: spec.name,
      id,
      gpa: spec.gpa,
      size: spec.size,
      flags,
      mapping,
      metadataBytes: 0n,
    };
    try {
      slot.metadataBytes = this.#measured(() =>
        this.#vm.setUserMemoryRegion({
          slot: id,
          flags: kflags,
          guestPhysAddr: spec.gpa,
          memorySize: spec.size,
          userspaceAddr: mapping.hva,
        })
      );
    } catch (e) {
      unmapBacking(mapping);
      throw this.#overlapError(e, spec.name, spec.gpa, spec.size);
    }
    this.#slots.set(spec.name, slot);
    this.#onChange();
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
    this.#slots.delete(name);
    this.#onChange();
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
    this.#checkSystemOverlap(name, gpa, s.size);
    try {
      this.#vm.setUserMemoryRegion({
        slot: s.id,
        flags: kvmFlags(name, s.flags),
        guestPhysAddr: gpa,
        memorySize: s.size,
        userspaceAddr: s.mapping.hva,
      });
    } catch (e) {
      throw this.#overlapError(e, name, gpa, s.size);
    }
    s.gpa = gpa;
    this.#onChange();
  }

  /**
   * Change a user slot's flags (the kernel refuses a readonly change with EINVAL).
   *
   * @param name the slot
   * @param add flags to set
   * @param remove flags to clear
   */
  setFlags(name: string, add: readonly MemslotFlag[], remove: readonly MemslotFlag[]): void {
    const s = this.get(name);
    const next = [...new Set([...s.flags.filter((f) => !remove.includes(f)), ...add])];
    const kflags = kvmFlags(name, next);
    s.metadataBytes += this.#measured(() =>
      this.#vm.setUserMemoryRegion({
        slot: s.id,
        flags: kflags,
        guestPhysAddr: s.gpa,
        memorySize: s.size,
        userspaceAddr: s.mapping.hva,
      })
    );
    s.flags = next;
  }

  /**
   * Unmap every slot's memory (the VM fd is being closed). Idempotent.
   *
   * @param keepMappings leave the mappings in place (another thread may still read them)
   */
  releaseAll(keepMappings = false): void {
    if (!keepMappings) { for (const s of this.#slots.values()) unmapBacking(s.mapping); }
    this.#slots.clear();
  }
}
