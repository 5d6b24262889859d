/**
 * The emulated VM: {@linkcode EmuVm} implements the backend-neutral
 * {@linkcode Vm} over the emulator's memory model ({@linkcode Mmu}) and
 * CPUs ({@linkcode EmuCpu}). Memslot ioctls, caps and tracking keep KVM's
 * errno rules; the run loop lives in `scheduler.ts`, counters in
 * `stats.ts` / `vm_stats.ts`.
 *
 * @module
 */
import { ERRNO_NUMBERS, ErrnoError, VmmError } from "../errors.ts";
import type {
  CapName,
  GuestSpec,
  MemslotFlag,
  MemslotInfo,
  MemslotSpec,
  MmuMode,
  QuirkName,
  RunOptions,
  VcpuExit,
  Vm,
  VmConfig,
} from "../types.ts";
import type { BootImage, VcpuBootState } from "../../guest/image.ts";
import type { EmuCpu, MmuPort } from "./port.ts";
import { EmuStats } from "./stats.ts";
import { MAX_GFN, MEMSLOT_OP } from "./memory/memslots.ts";
import { Mmu } from "./mmu/mmu.ts";
import { ENTRY_PAGES } from "./mmu/spte.ts";
import { ShadowMmu } from "./mmu/shadow_mmu.ts";
import { createSlot, deleteSlot, moveSlot, setSlotFlags } from "./mmu/slot_ops.ts";
import { getDirtyLog } from "./mmu/dirty_log.ts";
import { flagNames, type Memslot, SLOT_NONCOHERENT } from "./memory/memslot.ts";
import { enableCap, setQuirk } from "./caps.ts";
import { runVcpus } from "./scheduler.ts";
import { copyFromGuest, copyToGuest, guestByte, noteHostRead } from "./guest_memory.ts";
import { readStat, statNames } from "./vm_stats.ts";

const { EINVAL, EFAULT } = ERRNO_NUMBERS;

/** Builds a vCPU (`createCpu` of `vmm/emu/cpu/mod.ts`). */
export type CpuFactory = (index: number, port: MmuPort, state: VcpuBootState) => EmuCpu;

/** Builds the boot image (`buildBootImage` of `guest/boot.ts`). */
export type BootImageBuilder = (options: {
  guest: GuestSpec;
  slots: readonly MemslotInfo[];
  vcpus: number;
  system: { gpa: bigint; size: bigint };
  allow1G: boolean;
}) => BootImage;

/** What {@linkcode EmuVm} needs from the CPU and guest modules. */
export interface EmuDeps {
  /** Builds each vCPU (required by `loadGuest`). */
  createCpu?: CpuFactory;
  /** Builds the boot image (required by `loadGuest`). */
  buildBootImage?: BootImageBuilder;
}

/** Name of the VMM's system region memslot (slot id 0). */
export const SYSTEM_SLOT = "system";

/** A VM on the built-in emulator. */
export class EmuVm implements Vm {
  /** Always `emu`. */
  readonly backend = "emu" as const;
  /** The VM's name. */
  readonly name: string;
  /** Number of vCPUs. */
  readonly vcpuCount: number;
  /** The modelled MMU. */
  readonly mmu: MmuMode;
  /** The VMM's reserved region. */
  readonly system: { gpa: bigint; size: bigint };
  /** The memory model (exposed for tests and the bench). */
  readonly memory: Mmu;
  /** Counters. */
  readonly stats: EmuStats;
  /** The vCPUs once a guest is loaded. */
  cpus: EmuCpu[] = [];
  /** Per vCPU: reported `done`. */
  readonly done: boolean[];
  readonly #deps: EmuDeps;
  #closed = false;

  /**
   * Creates the instance.
   * @param config the VM's configuration
   * @param deps CPU and boot-image builders
   */
  constructor(config: VmConfig, deps: EmuDeps = {}) {
    this.name = config.name;
    this.vcpuCount = config.vcpus ?? 1;
    if (!Number.isInteger(this.vcpuCount) || this.vcpuCount < 1 || this.vcpuCount > 1024) {
      throw new ErrnoError("KVM_CREATE_VCPU", EINVAL, `vcpus must be 1..1024`);
    }
    this.mmu = config.mmu ?? "tdp";
    this.system = config.system ?? { gpa: 0n, size: 0x100000n };
    this.stats = new EmuStats(this.vcpuCount);
    this.memory = new Mmu(this.stats);
    if (this.mmu === "shadow") this.memory.shadow = new ShadowMmu(this.memory);
    this.done = new Array(this.vcpuCount).fill(false);
    this.#deps = deps;
    createSlot(this.memory, { name: SYSTEM_SLOT, ...this.system }, 0);
  }

  #live(): Mmu {
    if (this.#closed) throw new VmmError(`VM ${this.name} is closed`);
    return this.memory;
  }

  #slot(name: string, op: string): Memslot {
    const s = this.#live().slots.byName(name);
    if (s === null) throw new ErrnoError(op, EINVAL, `no memslot named ${name}`);
    if (s.id === 0) throw new ErrnoError(op, EINVAL, `${name} is the VMM's system region`);
    return s;
  }

  /** {@inheritDoc Vm.enableCap} */
  enableCap(name: CapName, value: string): void {
    enableCap(this.#live(), name, value);
  }

  /** {@inheritDoc Vm.setQuirk} */
  setQuirk(name: QuirkName, on: boolean): void {
    setQuirk(this.#live(), name, on);
  }

  /** The lowest free user slot id, as the kvm backend (and KVM's users) assign them. */
  #freeId(): number {
    const used = new Set(this.#live().slots.slots.map((s) => s.id));
    let id = 1;
    while (used.has(id)) id++;
    return id;
  }

  /** {@inheritDoc Vm.addMemslot} */
  addMemslot(spec: MemslotSpec): MemslotInfo {
    if (spec.name === SYSTEM_SLOT) {
      throw new ErrnoError(MEMSLOT_OP, EINVAL, `"system" is reserved`);
    }
    const s = createSlot(this.#live(), spec, this.#freeId());
    return info(s);
  }

  /** {@inheritDoc Vm.deleteMemslot} */
  deleteMemslot(name: string): void {
    deleteSlot(this.memory, this.#slot(name, MEMSLOT_OP));
  }

  /** {@inheritDoc Vm.moveMemslot} */
  moveMemslot(name: string, gpa: bigint): void {
    moveSlot(this.memory, this.#slot(name, MEMSLOT_OP), gpa);
  }

  /** {@inheritDoc Vm.setMemslotFlags} */
  setMemslotFlags(name: string, add: readonly MemslotFlag[], remove: readonly MemslotFlag[]): void {
    setSlotFlags(this.memory, this.#slot(name, MEMSLOT_OP), add, remove);
  }

  /** {@inheritDoc Vm.populate} */
  populate(name: string, offset = 0n, size?: bigint): void {
    const s = this.#slot(name, "MADV_POPULATE_WRITE");
    const total = BigInt(s.npages) * 4096n;
    const len = size ?? total - offset;
    if (offset < 0n || len < 0n || offset + len > total || offset % 4096n || len % 4096n) {
      throw new ErrnoError("MADV_POPULATE_WRITE", EINVAL, `range outside memslot ${name}`);
    }
    s.host.populate(Number(offset / 4096n), Number(len / 4096n));
  }

  /**
   * `demand uffd NAME`: serve missing pages of the slot through the modelled
   * userfaultfd queue: a faulting vCPU stops (`uffd_wait`), the run loop's
   * handler copies the page in, and the vCPU retries at its next turn
   * (`uffd_faults` counts the events). `handlers` is accepted and ignored:
   * one handler serves the queue. Emulator extension.
   */
  demandUffd(name: string, _handlers = 1): void {
    this.memory.uffdSlots.add(this.#slot(name, "UFFDIO_REGISTER"));
  }

  /** {@inheritDoc Vm.memslots} */
  memslots(): readonly MemslotInfo[] {
    // User slots only, as on kvm: the system region is the VMM's own.
    return this.#live().slots.slots.filter((s) => s.id !== 0).map(info);
  }

  #hostRange(name: string, offset: bigint, len: number): [Memslot, number] {
    const s = this.#slot(name, "pread");
    if (offset < 0n || offset + BigInt(len) > BigInt(s.npages) * 4096n) {
      throw new ErrnoError("pread", EFAULT, `offset 0x${offset.toString(16)} outside ${name}`);
    }
    return [s, Number(offset)];
  }

  /**
   * Register a VM-wide non-coherent DMA device (`device virtio_gpu …
   * noncoherent via kvm_device`): guest PAT then applies to all memory.
   * KVM zaps every SPTE when the first one registers. Emulator extension.
   */
  registerNoncoherentDma(): void {
    if (this.#live().memtype.noncoherentDevices++ === 0) this.#zapForMemtype();
  }

  /** Undo {@linkcode EmuVm.registerNoncoherentDma}; the last one zaps again. */
  unregisterNoncoherentDma(): void {
    const mt = this.#live().memtype;
    if (mt.noncoherentDevices === 0) return;
    if (--mt.noncoherentDevices === 0) this.#zapForMemtype();
  }

  #zapForMemtype(): void {
    const mmu = this.memory;
    const n = mmu.shadow !== null ? mmu.shadow.zapAll() : mmu.tdp.zapRange(0, MAX_GFN);
    if (n > 0) mmu.flushAll();
  }

  /** {@inheritDoc Vm.readSlot} */
  readSlot(name: string, offset: bigint): bigint {
    const [s, o] = this.#hostRange(name, offset, 8);
    noteHostRead(this.memory, s.baseGfn * 4096 + o, 8);
    const b = s.host.read(o, 8);
    return new DataView(b.buffer).getBigUint64(0, true);
  }

  /** {@inheritDoc Vm.writeSlot} */
  writeSlot(name: string, offset: bigint, value: bigint): void {
    const [s, o] = this.#hostRange(name, offset, 8);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, value), true);
    s.host.write(o, b);
    this.#invalidateCode((BigInt(s.baseGfn) << 12n) + offset, 8);
  }

  /** Host-side writes bypass the CPU's write path, so stale decoded code must go. */
  #invalidateCode(gpa: bigint, length: number): void {
    const first = Number(gpa >> 12n);
    const count = Number((gpa + BigInt(length) - 1n) >> 12n) - first + 1;
    for (const cpu of this.cpus) cpu.invalidateCode({ gfn: first, count });
  }

  /** {@inheritDoc Vm.readGuest} */
  readGuest(gpa: bigint, length: number): Uint8Array {
    noteHostRead(this.#live(), Number(gpa), length);
    return copyFromGuest(this.memory, gpa, length);
  }

  /** {@inheritDoc Vm.getDirtyLog} */
  getDirtyLog(name: string, clear: boolean): Uint8Array {
    return getDirtyLog(this.memory, this.#slot(name, "KVM_GET_DIRTY_LOG"), clear);
  }

  /** {@inheritDoc Vm.track} */
  track(trackerName: string, gpa: bigint, size: bigint): void {
    this.#live().tracking.register(trackerName, gpa, size);
  }

  /** {@inheritDoc Vm.untrack} */
  untrack(trackerName: string): void {
    this.#live().tracking.unregister(trackerName);
  }

  /** {@inheritDoc Vm.memtype} */
  memtype(gpa: bigint): { type: string; ipat: boolean } {
    const gfn = Number(gpa / 4096n);
    const s = this.#live().slots.find(gfn);
    return this.memory.memtype.effective(
      gfn,
      s !== null,
      s !== null && (s.flags & SLOT_NONCOHERENT) !== 0,
    );
  }

  /** {@inheritDoc Vm.loadGuest} */
  loadGuest(guest: GuestSpec): void {
    const mmu = this.#live();
    const { createCpu, buildBootImage } = this.#deps;
    if (createCpu === undefined || buildBootImage === undefined) {
      throw new VmmError("the emulated CPU or the boot image builder is not available");
    }
    const image = buildBootImage({
      guest,
      slots: this.memslots(),
      vcpus: this.vcpuCount,
      system: this.system,
      allow1G: false,
    });
    for (const w of image.writes) this.writeGuest(w.gpa, w.bytes);
    this.cpus = image.vcpus.map((st, i) => createCpu(i, mmu, st));
    mmu.cpus = this.cpus;
    this.done.fill(false);
  }

  /** Host-side copy into guest-physical memory (boot image; no dirty logging, as KVM). */
  writeGuest(gpa: bigint, bytes: Uint8Array): void {
    copyToGuest(this.#live(), gpa, bytes);
    this.#invalidateCode(gpa, bytes.length);
  }

  /** {@inheritDoc Vm.run} */
  run(options: RunOptions = {}): Promise<VcpuExit> {
    this.#live();
    if (this.cpus.length === 0) {
      return Promise.reject(new VmmError(`VM ${this.name}: no guest loaded`));
    }
    return runVcpus({
      cpus: this.cpus,
      stats: this.stats,
      done: this.done,
      readU64: (gpa) => this.#readU64(gpa),
      readByte: (gpa) => guestByte(this.memory, gpa),
      serveUffd: (gpa) => this.#serveUffd(gpa),
      closed: () => this.#closed,
    }, options);
  }

  #serveUffd(gpa: bigint): void {
    const gfn = Number(gpa / 4096n);
    const s = this.memory.slots.find(gfn);
    if (s !== null) s.host.populate(gfn - s.baseGfn, 1);
  }

  #readU64(gpa: bigint): bigint {
    try {
      return new DataView(copyFromGuest(this.memory, gpa, 8).buffer).getBigUint64(0, true);
    } catch {
      return 0n;
    }
  }

  /** {@inheritDoc Vm.stat} */
  stat(name: string, vcpu?: number): bigint {
    this.#live();
    return readStat(this, name, vcpu);
  }

  /** {@inheritDoc Vm.statNames} */
  statNames(): readonly string[] {
    return statNames();
  }

  /** {@inheritDoc Vm.close} */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.memory.slots.clear();
    this.memory.tracking.clear();
    this.memory.memtype.clear();
    this.memory.cpus = [];
    this.memory.uffdSlots.clear();
    this.memory.tdp.zapAll();
    if (this.memory.shadow !== null) this.memory.shadow.zapAll();
    this.cpus = [];
  }

  /** Same as {@linkcode EmuVm.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** The public view of a slot. */
function info(s: Memslot): MemslotInfo {
  return {
    name: s.name,
    id: s.id,
    gpa: BigInt(s.baseGfn) * 4096n,
    size: BigInt(s.npages) * 4096n,
    flags: flagNames(s.flags),
    backing: s.backing,
    hugepage: BigInt(ENTRY_PAGES[s.hostLevel] * 4096),
  };
}
