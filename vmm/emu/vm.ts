/**
 * The emulated VM: {@linkcode EmuVm} implements the backend-neutral
 * {@linkcode Vm} over the emulator's memory model ({@linkcode Mmu}) and
 * CPUs ({@linkcode EmuCpu}). Memslot ioctls, caps and tracking keep KVM's
 * errno rules; the run loop lives in `scheduler.ts`, counters in
 * `stats.ts` / `vm_stats.ts`.
 *
 * @module
 */
import { VmmError } from "../errors.ts";
import type {
  CapName,
  CapValue,
  DemandUffdOptions,
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
import { EmuStats, M } from "./stats.ts";
import { Mmu } from "./mmu/mmu.ts";
import { ENTRY_PAGES } from "./mmu/spte.ts";
import { createSlot, deleteSlot, moveSlot, setSlotFlags } from "./mmu/slot_ops.ts";
import { getDirtyLog } from "./mmu/dirty_log.ts";
import { flagNames, type Memslot, SLOT_NONCOHERENT } from "./memory/memslot.ts";
import { enableCap, setQuirk } from "./caps.ts";
import { isCapName } from "../caps/mod.ts";
import { runVcpus } from "./scheduler.ts";
import {
  copyFromGuest,
  copyToGuest,
  guestByte,
  guestMapsNonWb,
  noteHostAccess,
} from "./guest_memory.ts";
import { type MigrationPass, migrationPass } from "../migrate.ts";
import { readStat, statNames } from "./vm_stats.ts";
import { labelFrom } from "../ucall.ts";
import { checkVcpuCount, KVM_MAX_VCPUS } from "../limits.ts";
import { PAGE_BYTES, PAGE_SIZE } from "../memory/layout.ts";
import {
  checkDemandMinor,
  checkDemandUffd,
  checkHostAccess,
  checkPopulate,
  MEMSLOT_OP,
  SYSTEM_SLOT_NAME,
  userSlot,
} from "../memory/slot_rules.ts";

/** Builds a vCPU (`createCpu` of `vmm/emu/cpu/mod.ts`). */
export type CpuFactory = (index: number, port: MmuPort, state: VcpuBootState) => EmuCpu;

/** What {@linkcode EmuVm} needs from the CPU module. */
export interface EmuDeps {
  /** Builds each vCPU (required by `loadImage`). */
  createCpu?: CpuFactory;
}

/** Name of the VMM's system region memslot (slot id 0). */
export const SYSTEM_SLOT = SYSTEM_SLOT_NAME;

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
  /** The modelled CPUID offers no 1 GiB pages: guest page tables use 2 MiB and 4 KiB. */
  readonly allow1G = false;
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
   * @param deps the CPU factory
   */
  constructor(config: VmConfig, deps: EmuDeps = {}) {
    this.name = config.name;
    this.vcpuCount = config.vcpus ?? 1;
    checkVcpuCount(this.vcpuCount, KVM_MAX_VCPUS, "KVM_MAX_VCPUS on x86");
    this.mmu = config.mmu ?? "tdp";
    this.system = config.system ?? { gpa: 0n, size: 0x100000n };
    this.stats = new EmuStats(this.vcpuCount);
    this.memory = new Mmu(this.stats, this.mmu);
    if (config.hostCpus !== undefined) this.memory.time.setHostCpus(config.hostCpus);
    this.done = new Array(this.vcpuCount).fill(false);
    this.#deps = deps;
    createSlot(this.memory, { name: SYSTEM_SLOT, ...this.system });
  }

  #live(): Mmu {
    if (this.#closed) throw new VmmError(`VM ${this.name} is closed`);
    return this.memory;
  }

  #slot(name: string, op: string): Memslot {
    return userSlot(this.#live().slots.index, name, op);
  }

  /** {@inheritDoc Vm.enableCap} */
  enableCap(name: CapName, value: CapValue): void {
    enableCap(this.#live(), name, value);
  }

  /** {@inheritDoc Vm.hasCap} */
  hasCap(name: CapName): boolean {
    this.#live();
    return isCapName(name);
  }

  /** {@inheritDoc Vm.setQuirk} */
  setQuirk(name: QuirkName, on: boolean): void {
    setQuirk(this.#live(), name, on);
  }

  /** {@inheritDoc Vm.addMemslot} */
  addMemslot(spec: MemslotSpec): MemslotInfo {
    return info(createSlot(this.#live(), spec));
  }

  /** {@inheritDoc Vm.deleteMemslot} */
  deleteMemslot(name: string): void {
    const s = this.#slot(name, MEMSLOT_OP);
    deleteSlot(this.memory, s);
    this.memory.time.uffds.delete(s.id);
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
    const len = checkPopulate(name, BigInt(s.npages) * PAGE_BYTES, offset, size);
    const pages = Number(len / PAGE_BYTES);
    s.host.populate(Number(offset / PAGE_BYTES), pages);
    // Whoever acts pays: the VMM, or a vCPU serving its own memory-fault exit.
    if (s.hostLevel > 1) this.memory.time.populate(Math.ceil(pages / 512), true);
    else this.memory.time.populate(pages, false);
  }

  /**
   * `demand uffd NAME`: serve missing pages of the slot through the modelled
   * userfaultfd queue: a faulting vCPU stops (`uffd_wait`), the page is
   * copied in at once, and the vCPU's clock moves to when `handlers`
   * modelled handler threads, the queue's lock and its wake-up scan would
   * have let it run again (`vmm/emu/time/uffd.ts`); it retries the access
   * at its next turn (`uffd_faults` counts the events). Emulator extension.
   *
   * With `options.minor` (a `memfd` slot) the pages keep their bytes (the
   * page cache) but lose their host mapping, as KVM's VMM does before
   * registering MINOR mode; the handler's work is a UFFDIO_CONTINUE.
   */
  demandUffd(name: string, handlers = 1, options: DemandUffdOptions = {}): void {
    const s = this.#slot(name, "UFFDIO_REGISTER");
    checkDemandUffd(name, handlers, this.memory.uffdSlots.has(s));
    if (options.minor) {
      checkDemandMinor(name, s.backing);
      // MADV_DONTNEED of the mapping: the MMU notifier zaps the slot's SPTEs.
      if (this.memory.paging.zapRange(s.baseGfn, s.baseGfn + s.npages) > 0) {
        this.memory.flushAll();
      }
      s.host.unmapAll();
      this.#minorSlots.add(s);
    }
    this.memory.uffdSlots.add(s);
    this.memory.time.registerUffd(s.id, handlers, options.minor === true);
  }

  /** Slots served in MINOR mode: a served page is mapped, not written by the host. */
  readonly #minorSlots = new Set<Memslot>();

  /** {@inheritDoc Vm.memslots} */
  memslots(): readonly MemslotInfo[] {
    // User slots only, as on kvm: the system region is the VMM's own.
    return this.#live().slots.slots.filter((s) => s.id !== 0).map(info);
  }

  #hostRange(name: string, offset: bigint, len: number, op: string): [Memslot, number] {
    const s = this.#slot(name, op);
    checkHostAccess(name, BigInt(s.npages) * PAGE_BYTES, offset, BigInt(len), op);
    return [s, Number(offset)];
  }

  readonly #noncoherentDevices = new Set<string>();

  /**
   * {@inheritDoc Vm.registerNoncoherentDma}
   * (`device virtio_gpu … noncoherent via kvm_device`): a device registers
   * once (the RFC's `kv->noncoherent`); KVM zaps every SPTE when the count
   * goes from 0 to 1.
   */
  registerNoncoherentDma(device: string): void {
    const mt = this.#live().memtype;
    if (this.#noncoherentDevices.has(device)) return;
    this.#noncoherentDevices.add(device);
    if (mt.noncoherentDevices++ === 0) this.#zapForMemtype();
  }

  /** {@inheritDoc Vm.unregisterNoncoherentDma} */
  unregisterNoncoherentDma(device: string): void {
    const mt = this.#live().memtype;
    if (!this.#noncoherentDevices.delete(device)) return;
    if (--mt.noncoherentDevices === 0) this.#zapForMemtype();
  }

  /**
   * {@inheritDoc Vm.migrate}
   * Reads of pages the guest maps non-WB are `hazards` (and
   * `aliasing_hazards`); with `clflush` each is flushed first
   * (`clflush_pages`) and is no hazard.
   */
  migrate(slots: readonly string[], options: { clflush?: boolean } = {}): MigrationPass {
    const mmu = this.#live();
    const vmStats = mmu.stats.vm;
    return migrationPass(
      {
        slot: (name) => info(this.#slot(name, "migrate")),
        readPage: (gpa) => copyFromGuest(mmu, gpa, PAGE_SIZE),
        dirtyLog: (name) => this.getDirtyLog(name, true),
        beforeRead: (gpa, clflush) => {
          if (!guestMapsNonWb(mmu, Number(gpa / PAGE_BYTES))) return "ok";
          vmStats[clflush ? M.clflush_pages : M.aliasing_hazards]++;
          return clflush ? "flushed" : "hazard";
        },
      },
      slots,
      options.clflush ?? false,
    );
  }

  #zapForMemtype(): void {
    const n = this.memory.paging.zapAllGfns();
    this.memory.time.zapped(n);
    if (n > 0) this.memory.flushAll();
  }

  /** {@inheritDoc Vm.readSlot} */
  readSlot(name: string, offset: bigint): bigint {
    const [s, o] = this.#hostRange(name, offset, 8, "pread");
    noteHostAccess(this.memory, s.baseGfn * PAGE_SIZE + o, 8);
    const b = s.host.read(o, 8);
    return new DataView(b.buffer).getBigUint64(0, true);
  }

  /** {@inheritDoc Vm.writeSlot} */
  writeSlot(name: string, offset: bigint, value: bigint): void {
    const [s, o] = this.#hostRange(name, offset, 8, "pwrite");
    noteHostAccess(this.memory, s.baseGfn * PAGE_SIZE + o, 8);
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
    noteHostAccess(this.#live(), Number(gpa), length);
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
    const gfn = Number(gpa / PAGE_BYTES);
    const s = this.#live().slots.find(gfn);
    return this.memory.memtype.effective(
      gfn,
      s !== null,
      s !== null && (s.flags & SLOT_NONCOHERENT) !== 0,
    );
  }

  /** {@inheritDoc Vm.loadImage} */
  loadImage(image: BootImage): void {
    const mmu = this.#live();
    const { createCpu } = this.#deps;
    if (createCpu === undefined) throw new VmmError("the emulated CPU is not available");
    if (image.vcpus.length !== this.vcpuCount) {
      throw new VmmError(
        `boot image has ${image.vcpus.length} vCPU states; the VM has ${this.vcpuCount}`,
      );
    }
    for (const w of image.writes) this.writeGuest(w.gpa, w.bytes);
    this.cpus = image.vcpus.map((st, i) => createCpu(i, mmu, st));
    mmu.cpus = this.cpus;
    // Guest instructions reach the modelled clocks from the new CPUs' counters.
    const cpus = this.cpus;
    mmu.time.clock.insns = (v) => cpus[v].instructions;
    mmu.time.clock.resetInsns();
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
      u64: (gpa) => this.#readU64(gpa),
      label: (gpa) => labelFrom(gpa, (b) => guestByte(this.memory, b)),
      time: this.memory.time,
      serveUffd: (v, gpa) => this.#serveUffd(v, gpa),
      closed: () => this.#closed,
    }, options);
  }

  #serveUffd(v: number, gpa: bigint): void {
    const gfn = Number(gpa / PAGE_BYTES);
    const s = this.memory.slots.find(gfn);
    if (s === null) return;
    // Post-copy: the page arrives while the guest runs and may map it non-WB
    // (UFFDIO_CONTINUE writes nothing: it maps the page cache's page).
    if (!this.#minorSlots.has(s)) noteHostAccess(this.memory, gfn * PAGE_SIZE, PAGE_SIZE);
    s.host.populate(gfn - s.baseGfn, 1);
    this.memory.time.uffdFault(v, s.id);
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

  /** {@inheritDoc Vm.modelledSeconds} */
  modelledSeconds(): number {
    return this.memory.time.clock.latest() / 1e9;
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
    this.memory.paging.zapAll();
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
    gpa: BigInt(s.baseGfn) * PAGE_BYTES,
    size: BigInt(s.npages) * PAGE_BYTES,
    flags: flagNames(s.flags),
    backing: s.backing,
    hugepage: BigInt(ENTRY_PAGES[s.hostLevel] * PAGE_SIZE),
  };
}
