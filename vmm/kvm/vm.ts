/**
 * `KvmVm`: the {@linkcode Vm} contract on a real `/dev/kvm`.
 *
 * Construction of the fds (step 1 of the boot order of `vmm/builder.ts`,
 * which applies caps, quirks, memslots and the guest afterwards): open
 * /dev/kvm → KVM_CREATE_VM → TSS (Intel) → system region at slot 0 → vCPUs
 * (CPUID from KVM_GET_SUPPORTED_CPUID) → stats fds. Every resource goes on
 * a release list as soon as it exists, so a failure halfway releases what
 * was made.
 *
 * @module
 */
import type { BootImage } from "../../guest/image.ts";
import { UnsupportedError, VmmError } from "../errors.ts";
import { nothingToRun, RunControl, runnableVcpus } from "../run_control.ts";
import type {
  BackendKind,
  CapName,
  CapValue,
  DemandUffdOptions,
  MemslotFlag,
  MemslotInfo,
  MemslotSpec,
  MigrationPass,
  MmuMode,
  QuirkName,
  RunOptions,
  VcpuExit,
  Vm,
  VmConfig,
} from "../types.ts";
import { CapState, writeTrackBytes } from "./caps.ts";
import { GuestMemory } from "./guest_memory.ts";
import { hostMmu, isIntelHost } from "./host.ts";
import type { IoctlLogEntry } from "./ioctl.ts";
import { gettid, installKickHandler, ThreadTimer } from "./kick.ts";
import { populateBacking } from "./memory.ts";
import { encodeRegs, encodeSregs } from "./regs.ts";
import { WorkerPool } from "./run_workers.ts";
import { type RunCounters, runSync } from "./run_sync.ts";
import { PagerSet } from "./pagers.ts";
import { slotInfo, SlotTable } from "./slots.ts";
import { StatsReader } from "./stats.ts";
import { KvmSystem } from "./system.ts";
import { CAP, CPUID_EXT_FEATURES, CPUID_PDPE1GB_BIT, MSR_IA32_PAT } from "./uapi.ts";
import type { VcpuFd } from "./vcpu_fd.ts";
import type { VmFd } from "./vm_fd.ts";
import { VmmStats } from "./vmm_stats.ts";
import { checkVcpuCount } from "../limits.ts";
import { bitsSet } from "../memory/bitmap.ts";
import { PAGE_BYTES } from "../memory/layout.ts";
import { migrationPass } from "../migrate.ts";
import {
  checkDemandMinor,
  checkDemandUffd,
  checkHostAccess,
  checkPopulate,
} from "../memory/slot_rules.ts";

/** Where KVM_SET_TSS_ADDR puts its three pages on Intel (as QEMU does). */
const TSS_ADDR = 0xfffb_d000n;
const MIB = 1024n * 1024n;

/** Options of {@linkcode KvmVm.demandUffd}. */
export interface DemandPagingOptions extends DemandUffdOptions {
  /**
   * Bytes the handlers serve for the first pages of the slot (copied when
   * the call is made); pages past them are served as zeros.
   */
  source?: Uint8Array;
}

/**
 * A VM on real KVM.
 *
 * @example Boot a guest that reports `done`
 * ```ts ignore
 * using vm = new KvmVm({ name: "demo" });
 * vm.loadImage(image); // a BootImage whose code does `out 0x1000, eax` with eax = 1
 * const exit = await vm.run({ until: { kind: "done" } });
 * console.assert(exit.reason === "done");
 * ```
 */
export class KvmVm implements Vm {
  /** Always `kvm`. */
  readonly backend: BackendKind = "kvm";
  /** The VM's name (messages). */
  readonly name: string;
  /** vCPUs, 1..the host's KVM_CAP_MAX_VCPUS. */
  readonly vcpuCount: number;
  /** How the host's KVM maps guest memory (checked against the config's `mmu`). */
  readonly mmu: MmuMode;
  /** Every ioctl issued for this VM except KVM_RUN and register access (names, cap numbers, slots). */
  readonly ioctlLog: IoctlLogEntry[] = [];
  /** Whether the host's CPUID offers 1 GiB pages (leaf 0x80000001 EDX.pdpe1gb). */
  readonly allow1G: boolean;
  /** The system region. */
  readonly system: { gpa: bigint; size: bigint };

  #release: (() => void)[] = [];
  #closed = false;
  #sys!: KvmSystem;
  #vm!: VmFd;
  #vcpus: VcpuFd[] = [];
  #caps!: CapState;
  #slots!: SlotTable;
  #mem!: GuestMemory;
  #stats!: VmmStats;
  #timer: ThreadTimer | undefined;
  #pool = new WorkerPool();
  #ucallSlots: bigint[] = [];
  #parked = new Set<number>();
  #loaded = false;
  #running = false;
  #counters: RunCounters = { ucalls: 0, memoryFaultExits: 0 };
  #dirtyPages = 0n;
  #pagers = new PagerSet();

  /**
   * Create the VM with its system region and vCPUs.
   *
   * @param config name, vCPU count, MMU expectation, system region
   * @param devicePath the KVM device (default `/dev/kvm`)
   * @throws {BackendUnavailableError} when /dev/kvm cannot be used
   */
  constructor(config: VmConfig, devicePath = "/dev/kvm") {
    this.name = config.name;
    this.vcpuCount = config.vcpus ?? 1;
    this.system = config.system ?? { gpa: 0n, size: MIB };
    const host = hostMmu();
    this.mmu = host.mode;
    if (config.mmu !== undefined && config.mmu !== host.mode) {
      throw new UnsupportedError(
        `mmu ${config.mmu}: this host's KVM uses ${host.mode} paging (${host.source})`,
      );
    }
    try {
      this.#sys = KvmSystem.open(devicePath, this.ioctlLog);
      this.#release.push(() => this.#sys.close());
      checkVcpuCount(
        this.vcpuCount,
        this.#sys.checkExtension(CAP.MAX_VCPUS),
        "this host's KVM_CAP_MAX_VCPUS",
      );
      this.#vm = this.#sys.createVm();
      this.#release.push(() => this.#vm.close());
      this.#caps = new CapState(this.#vm);
      if (isIntelHost()) this.#vm.setTssAddr(TSS_ADDR);
      this.#slots = new SlotTable(this.#vm);
      // Closing from a handler while workers run: a worker may still read
      // guest memory or kvm_run once before it stops, so keep the mappings
      // (a leak in that rare case, never a crash).
      this.#release.push(() => this.#slots.releaseAll(this.#pool.running));
      const sysSlot = this.#slots.addSystem(this.system.gpa, this.system.size);
      this.#mem = new GuestMemory(
        { gpa: sysSlot.gpa, size: sysSlot.size, ptr: sysSlot.mapping.ptr },
        (gfn) => this.#slots.find(gfn),
      );
      const cpuid = this.#sys.supportedCpuid();
      const ext = cpuid.entries.find((e) => e.function === CPUID_EXT_FEATURES);
      this.allow1G = ext !== undefined && ((ext.edx >>> CPUID_PDPE1GB_BIT) & 1) === 1;
      const mmapSize = this.#sys.vcpuMmapSize();
      const vcpuStats: StatsReader[] = [];
      for (let i = 0; i < this.vcpuCount; i++) {
        const v = this.#vm.createVcpu(i, mmapSize);
        this.#vcpus.push(v);
        this.#release.push(() => this.#pool.running ? v.closeKeepingRunPage() : v.close());
        v.setCpuid2(cpuid.raw);
        const s = new StatsReader(v.statsFd());
        this.#release.push(() => s.close());
        vcpuStats.push(s);
      }
      const vmStats = new StatsReader(this.#vm.statsFd());
      this.#release.push(() => vmStats.close());
      this.#stats = new VmmStats(vmStats, vcpuStats, {
        ucalls: () => BigInt(this.#counters.ucalls + this.#pool.workerUcalls()),
        memory_fault_exits: () => BigInt(this.#counters.memoryFaultExits),
        dirty_pages: () => this.#dirtyPages,
        memslot_metadata_bytes: () => this.#slots.metadataBytes(),
        // User slots only, as for memslot_metadata_bytes.
        write_track_bytes: () => writeTrackBytes(this.#slots.userBytes() / PAGE_BYTES),
        uffd_faults: () => this.#pagers.faults(),
      });
      this.#release.push(() => this.#pool.close());
      installKickHandler();
      if (this.vcpuCount === 1) {
        const t = new ThreadTimer(gettid());
        this.#timer = t;
        this.#release.push(() => t.close());
      }
      // Last, so close() stops the `demand uffd` handlers and closes their
      // userfaultfds before vCPUs and mappings go.
      this.#release.push(() => this.#pagers.close());
    } catch (e) {
      this.close();
      throw e;
    }
  }

  #open(): void {
    if (this.#closed) throw new VmmError(`VM "${this.name}" is closed`);
  }

  #checkVcpu(index: number): void {
    if (index < 0 || index >= this.vcpuCount) {
      throw new RangeError(`vCPU ${index} does not exist (the VM has ${this.vcpuCount})`);
    }
  }

  /** Enable or set a DSL capability (see `caps.ts` for what each maps to). */
  enableCap(name: CapName, value: CapValue): void {
    this.#open();
    this.#caps.enable(name, value);
  }

  /** Whether the host offers a DSL capability (KVM_CHECK_EXTENSION; never enables). */
  hasCap(name: CapName): boolean {
    this.#open();
    return this.#caps.offered(name);
  }

  /** Turn a quirk on or off (KVM_CAP_DISABLE_QUIRKS2; `on` after `off` is an error). */
  setQuirk(name: QuirkName, on: boolean): void {
    this.#open();
    this.#caps.setQuirk(name, on);
  }

  /** Create a user memslot (ids from 1; slot 0 is the system region). */
  addMemslot(spec: MemslotSpec): MemslotInfo {
    this.#open();
    return slotInfo(this.#slots.add(spec));
  }

  /**
   * Delete a memslot (KVM_SET_USER_MEMORY_REGION with size 0), then unmap it
   * and stop its `demand uffd` handlers (their count stays in `uffd_faults`).
   */
  deleteMemslot(name: string): void {
    this.#open();
    this.#slots.delete(name);
    this.#pagers.retire(name);
  }

  /** Move a memslot to `gpa` (same slot id). */
  moveMemslot(name: string, gpa: bigint): void {
    this.#open();
    this.#slots.move(name, gpa);
  }

  /** Change flags; the kernel decides what may change (readonly may not). */
  setMemslotFlags(name: string, add: readonly MemslotFlag[], remove: readonly MemslotFlag[]): void {
    this.#open();
    this.#slots.setFlags(name, add, remove);
  }

  /**
   * Prefault the host mapping: UFFDIO_COPY of zeros (or the source bytes) on a
   * `demand uffd` slot, so those pages never reach the handlers (pages
   * already present are skipped); MADV_POPULATE_WRITE on any other slot.
   */
  populate(name: string, offset = 0n, size?: bigint): void {
    this.#open();
    const s = this.#slots.get(name, "MADV_POPULATE_WRITE");
    const len = checkPopulate(name, s.size, offset, size);
    const pager = this.#pagers.get(name);
    if (pager) pager.populate(offset, len);
    else populateBacking(s.mapping, offset, len);
  }

  /**
   * `demand uffd NAME handlers N`: register the slot's whole host mapping
   * with a userfaultfd (MISSING mode) and serve every missing page from N
   * handler threads (Workers) by UFFDIO_COPY of a zero page, or of
   * `options.source`. Every first touch of a page not yet present (by a
   * vCPU, or by the host through `readSlot`/`writeSlot`) then waits for a
   * handler and counts in `stat uffd_faults`. Meant for `absent` slots,
   * whose mapping starts empty; on `anon`/`memfd` only untouched pages
   * fault. The handlers stop on `close()` or when the slot is deleted.
   *
   * With `options.minor` (a `memfd` slot), the memfd's page cache is filled
   * first, the slot is registered in MINOR mode and every first touch waits
   * for a handler's UFFDIO_CONTINUE (`demand_paging_test -u MINOR -s shmem`).
   *
   * @param name the slot
   * @param handlers handler threads, 1..`MAX_UFFD_HANDLERS` (default 1)
   * @param options MINOR mode; source bytes for the first pages (MISSING mode)
   * @throws {UnsupportedError} for a hugetlb slot (copies would have to be huge pages)
   * @throws {ErrnoError} when userfaultfd cannot be opened or registered
   */
  demandUffd(name: string, handlers = 1, options: DemandPagingOptions = {}): void {
    this.#open();
    const s = this.#slots.get(name, "UFFDIO_REGISTER");
    checkDemandUffd(name, handlers, this.#pagers.get(name) !== undefined);
    if (options.minor) checkDemandMinor(name, s.mapping.backing);
    if (s.mapping.backing === "hugetlb") {
      throw new UnsupportedError(
        `demand uffd ${name}: hugetlb slots are not supported on kvm (UFFDIO_COPY would need whole huge pages)`,
      );
    }
    this.#pagers.start({
      slot: name,
      hva: s.mapping.hva,
      size: s.size,
      handlers,
      source: options.source,
      minorMemfd: options.minor ? s.mapping.memfd : undefined,
    });
  }

  /** The user slots, sorted by GPA. */
  memslots(): readonly MemslotInfo[] {
    this.#open();
    return this.#slots.infos();
  }

  #slotOffset(name: string, offset: bigint, len: bigint, op: string): bigint {
    const s = this.#slots.get(name, op);
    checkHostAccess(name, s.size, offset, len, op);
    return s.gpa + offset;
  }

  /** Host-side 8-byte read inside a slot. */
  readSlot(name: string, offset: bigint): bigint {
    this.#open();
    const b = this.#mem.read(this.#slotOffset(name, offset, 8n, "pread"), 8);
    return new DataView(b.buffer).getBigUint64(0, true);
  }

  /** Host-side 8-byte write inside a slot. */
  writeSlot(name: string, offset: bigint, value: bigint): void {
    this.#open();
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, value), true);
    this.#mem.write(this.#slotOffset(name, offset, 8n, "pwrite"), b);
  }

  /** Host-side read of guest-physical memory (may span adjacent slots; EFAULT outside). */
  readGuest(gpa: bigint, length: number): Uint8Array {
    this.#open();
    return this.#mem.read(gpa, length);
  }

  /**
   * KVM_GET_DIRTY_LOG, and with `clear`, KVM_CLEAR_DIRTY_LOG of the returned
   * bits when manual protection is on (without it, GET already re-protects and
   * resets, so `clear` has nothing left to do). Adds the set bits to the
   * `dirty_pages` stat.
   */
  getDirtyLog(name: string, clear: boolean): Uint8Array {
    this.#open();
    const s = this.#slots.get(name, "KVM_GET_DIRTY_LOG");
    const pages = s.size / PAGE_BYTES;
    const bitmap = new Uint8Array(Number((pages + 63n) / 64n) * 8);
    this.#vm.getDirtyLog(s.id, bitmap);
    this.#dirtyPages += BigInt(bitsSet(bitmap));
    if (clear && this.#caps.manualProtect) {
      this.#vm.clearDirtyLog(s.id, 0n, Number(pages), bitmap);
    }
    return bitmap;
  }

  /** External write trackers have no userspace uAPI in KVM. */
  track(trackerName: string, _gpa: bigint, _size: bigint): void {
    throw new UnsupportedError(
      `track ${trackerName}: KVM has no userspace uAPI for external write trackers (only in-kernel users such as KVMGT)`,
    );
  }

  /** See {@linkcode KvmVm.track}. */
  untrack(trackerName: string): void {
    throw new UnsupportedError(
      `untrack ${trackerName}: KVM has no userspace uAPI for external write trackers`,
    );
  }

  /**
   * Mainline KVM has no userspace uAPI for a VM-wide non-coherent DMA
   * registration: the RFC's KVM_DEV_TYPE_VIRTIO device was not merged, and
   * `kvm_arch_register_noncoherent_dma()` is reached only from the KVM-VFIO
   * device for a VFIO group whose IOMMU does not enforce snooping (real
   * assigned hardware, which this VMM does not have).
   */
  registerNoncoherentDma(device: string): void {
    throw new UnsupportedError(
      `device ${device}: 'noncoherent via kvm_device' needs the RFC's KVM virtio device ` +
        "(KVM_DEV_TYPE_VIRTIO), which mainline KVM does not have; mainline registers " +
        "non-coherent DMA only for VFIO devices without snoop control",
    );
  }

  /** See {@linkcode KvmVm.registerNoncoherentDma}. */
  unregisterNoncoherentDma(device: string): void {
    this.registerNoncoherentDma(device);
  }

  /**
   * {@inheritDoc Vm.migrate}
   * Pages are read through the VMM's mapping and dirty pages come from the
   * dirty log; the guest's memory types are invisible to the host, so there
   * are no `hazards` (and `clflush` has nothing to select pages by).
   */
  migrate(slots: readonly string[], options: { clflush?: boolean } = {}): MigrationPass {
    this.#open();
    return migrationPass(
      {
        slot: (name) => slotInfo(this.#slots.get(name, "migrate")),
        readPage: (gpa) => this.#mem.read(gpa, Number(PAGE_BYTES)),
        dirtyLog: (name) => this.getDirtyLog(name, true),
      },
      slots,
      options.clflush ?? false,
    );
  }

  /** Effective memory types are only modelled by the emulator. */
  memtype(_gpa: bigint): { type: string; ipat: boolean } {
    throw new UnsupportedError("memtype is provided by the emu backend only, not by kvm");
  }

  /**
   * Copy a boot image into guest memory and set every vCPU's registers,
   * system registers and IA32_PAT from it. Every vCPU becomes runnable.
   *
   * @param image the image (one state per vCPU)
   */
  loadImage(image: BootImage): void {
    this.#open();
    if (image.vcpus.length !== this.vcpuCount) {
      throw new VmmError(
        `boot image has ${image.vcpus.length} vCPU states; the VM has ${this.vcpuCount}`,
      );
    }
    for (const w of image.writes) this.#mem.write(w.gpa, w.bytes);
    image.vcpus.forEach((st, i) => {
      const v = this.#vcpus[i];
      v.setSregs(encodeSregs(v.getSregs(), st));
      v.setRegs(encodeRegs(st));
      v.setMsrs([[MSR_IA32_PAT, st.pat]]);
    });
    this.#ucallSlots = image.ucallSlots.slice();
    this.#parked.clear();
    this.#pool.dropHeld();
    this.#loaded = true;
  }

  /** Run the vCPUs (see {@linkcode RunOptions}). */
  async run(options: RunOptions = {}): Promise<VcpuExit> {
    this.#open();
    if (!this.#loaded) throw new VmmError(`VM "${this.name}": no guest loaded`);
    if (this.#running) throw new VmmError(`VM "${this.name}" is already running`);
    this.#running = true;
    try {
      return await this.#run(options);
    } finally {
      this.#running = false;
    }
  }

  async #run(options: RunOptions): Promise<VcpuExit> {
    const vcpus = runnableVcpus(options, this.vcpuCount, (i) => this.#parked.has(i));
    if (vcpus.length === 0) return nothingToRun(options);
    const rc = new RunControl(options, vcpus);
    if (this.#timer) {
      const exit = await runSync(
        {
          index: 0,
          fd: this.#vcpus[0],
          ucallSlot: this.#ucallSlots[0] ?? 0n,
          timer: this.#timer,
          closed: () => this.#closed,
        },
        this.#mem,
        options,
        rc,
        this.#counters,
      );
      if (exit.reason === "done") this.#parked.add(0);
      return exit;
    }
    const sys = this.#slots.system;
    await this.#pool.start(this.#vcpus, {
      gpa: sys.gpa,
      size: Number(sys.size),
      addr: sys.mapping.hva,
    });
    return await this.#pool.run(
      vcpus,
      this.#ucallSlots,
      this.#mem,
      options,
      rc,
      this.#counters,
      this.#parked,
    );
  }

  /**
   * The vCPU's fd wrapper, for library users who drive KVM_RUN themselves
   * (benchmarks, experiments). Do not use it while `run` is in progress.
   *
   * @param index the vCPU
   * @returns its {@linkcode VcpuFd}
   */
  vcpuFd(index: number): VcpuFd {
    this.#open();
    this.#checkVcpu(index);
    return this.#vcpus[index];
  }

  /** Read a stat: the VMM's own counters, or KVM's binary stats by name. */
  stat(name: string, vcpu?: number): bigint {
    this.#open();
    if (vcpu !== undefined) this.#checkVcpu(vcpu);
    return this.#stats.read(name, vcpu);
  }

  /** The stat names this VM provides. */
  statNames(): readonly string[] {
    return this.#stats.names();
  }

  /** Release every fd, mapping, worker and timer. Idempotent; safe after a failed construction. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const errors: unknown[] = [];
    for (const r of this.#release.reverse()) {
      try {
        r();
      } catch (e) {
        errors.push(e);
      }
    }
    this.#release = [];
    if (errors.length) throw errors[0];
  }

  /** Same as {@linkcode KvmVm.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
