/**
 * The backend-neutral contract: what a VM is, what a vCPU exit is, and what
 * both backends (real KVM in `vmm/kvm/`, the emulator in `vmm/emu/`) must
 * provide. The DSL interpreter, the library API and the tests only ever see
 * these types.
 *
 * Guest addresses and sizes are `bigint` at this boundary: 64-bit values must
 * not lose bits. Backends may use numbers internally where they can prove the
 * range (the emulator does, for speed).
 *
 * @module
 */
import type { BootImage } from "../guest/image.ts";
import type { MigrationPass } from "./migrate.ts";

export type { MigrationPass } from "./migrate.ts";

/** Which implementation runs the VM. */
export type BackendKind = "kvm" | "emu";

/** Which x86 MMU is modelled (emu) or expected of the host (kvm). */
export type MmuMode = "tdp" | "shadow";

/** Memslot flags as the DSL names them. */
export type MemslotFlag = "dirty_log" | "readonly" | "absent_fault" | "noncoherent_dma";

/** Host backing of a memslot. */
export type Backing = "anon" | "memfd" | "hugetlb" | "absent";

/** Options of {@linkcode Vm.demandUffd}. */
export interface DemandUffdOptions {
  /**
   * MINOR mode (`demand uffd NAME minor`): pages are in the memfd's page
   * cache already; a first touch waits for a handler's UFFDIO_CONTINUE.
   */
  minor?: boolean;
}

/** A user memory region as declared by a script or a library caller. */
export interface MemslotSpec {
  /** The script's name for the slot; unique within a VM. */
  name: string;
  /** Guest-physical base, page aligned. */
  gpa: bigint;
  /** Size in bytes, page aligned, non-zero. */
  size: bigint;
  /** Flags set at creation. */
  flags?: readonly MemslotFlag[];
  /** Host backing (default `anon`). */
  backing?: Backing;
  /** Largest host page size of the backing, in bytes (4K, 2M or 1G). */
  hugepage?: bigint;
}

/** A memslot as the VM currently has it (after moves and flag changes). */
export interface MemslotInfo {
  /** The script's name for the slot. */
  name: string;
  /** KVM slot id (0 is the VMM's system region; user slots start at 1). */
  id: number;
  /** Guest-physical base. */
  gpa: bigint;
  /** Size in bytes. */
  size: bigint;
  /** Flags in force. */
  flags: readonly MemslotFlag[];
  /** Host backing. */
  backing: Backing;
  /** Largest host page size of the backing, in bytes. */
  hugepage: bigint;
}

// Capabilities and quirks: one module each in `caps/` (the registry is `caps/mod.ts`).
export { CAPS, QUIRKS } from "./caps/mod.ts";
export type {
  CapDef,
  CapDoc,
  CapName,
  CapValue,
  DirtyLogRecovery,
  EmuCapState,
  EmuCapTarget,
  KvmCapHost,
  QuirkDef,
  QuirkName,
} from "./caps/mod.ts";
import type { CapName, CapValue, QuirkName } from "./caps/mod.ts";

/** The guest payload to boot: a built-in payload or a flat binary. */
export type GuestSpec =
  | {
    kind: "payload";
    /** Built-in payload name, e.g. `write_sweep`. */
    name: string;
    /** Parameters as the DSL gives them: integers, words (slot names, enums), strings. */
    params: Readonly<Record<string, bigint | string>>;
  }
  | {
    kind: "file";
    /** The binary's bytes. */
    bytes: Uint8Array;
    /** Guest-physical load address. */
    load: bigint;
    /** Entry point (guest-physical; identity mapped in long mode). */
    entry: bigint;
    mode: "long" | "real";
  };

/** A virtio-GPU device whose host-visible shm region is a memslot. */
export interface VirtioGpuSpec {
  /** The device's name; its shm slot is `NAME.shm`. */
  name: string;
  /** Base of its virtio-mmio registers. */
  mmio: bigint;
  /** Guest-physical base of the shared-memory region. */
  shmGpa: bigint;
  /** Size of the shared-memory region. */
  shmSize: bigint;
  /** Whether DMA to the region is non-coherent. */
  noncoherent: boolean;
  /** Which proposal declares the non-coherence. */
  via: "memslot_flag" | "kvm_device";
}

/** Everything needed to build a VM. */
export interface VmConfig {
  /** The VM's name (for messages). */
  name: string;
  /** Number of vCPUs (default 1). */
  vcpus?: number;
  /** MMU to model (emu) or to require of the host (kvm). Default `tdp` on emu, the host's on kvm. */
  mmu?: MmuMode;
  /** The VMM's reserved system region (default GPA 0, 1 MiB). */
  system?: { gpa: bigint; size: bigint };
  /**
   * Host CPUs for the vCPUs and handler threads (`host_cpus N`; emu: a
   * resource in modelled time; default one per thread). kvm runs on the real host's.
   */
  hostCpus?: number;
}

/** Why a vCPU stopped, decoded once (in the backend) into this union. */
export type VcpuExit =
  | { reason: "done"; vcpu: number }
  | { reason: "sync"; vcpu: number; label: string; value: bigint }
  | { reason: "fail"; vcpu: number; message: string; value: bigint }
  | { reason: "hlt"; vcpu: number }
  | {
    reason: "io";
    vcpu: number;
    port: number;
    size: number;
    isWrite: boolean;
    /** Data written (out) or 0 (in). */
    data: bigint;
  }
  | {
    reason: "mmio";
    vcpu: number;
    gpa: bigint;
    len: number;
    isWrite: boolean;
    data: bigint;
  }
  | {
    reason: "memory_fault";
    vcpu: number;
    gpa: bigint;
    len: bigint;
    /** Decoded KVM_MEMORY_EXIT_FLAG_* names, e.g. `absent_mapping`, `private`. */
    flags: readonly string[];
  }
  | { reason: "shutdown"; vcpu: number; rip: bigint }
  | { reason: "timeout"; vcpu: number; rip: bigint }
  | { reason: "internal_error"; vcpu: number; suberror: number; rip: bigint }
  | { reason: "fail_entry"; vcpu: number; hardwareReason: bigint; cpu: number }
  | { reason: "system_event"; vcpu: number; type: number };

/** The exit reasons a script can name (`$exit.reason == …`). */
export type ExitReason = VcpuExit["reason"];

/** When `run` returns. */
export type RunUntil =
  | { kind: "done" }
  /**
   * A barrier: every vCPU running stops at `sync "label"` (one that reports
   * `done` is not waited for); with `first`, the first arrival stops the run.
   */
  | { kind: "sync"; label: string; first?: boolean }
  | { kind: "exit" };

/** Options of {@linkcode Vm.run}. */
export interface RunOptions {
  /** Run only this vCPU (default: all). */
  vcpu?: number;
  /** Stop condition (default `done`: every vCPU that runs has reported `done`). */
  until?: RunUntil;
  /**
   * An explicit time bound in milliseconds. When it elapses the vCPUs are
   * stopped and `run` resolves with a `timeout` exit: not an error.
   */
  timeoutMs?: number;
  /**
   * The safety net when no `timeoutMs` is given (default 10 000 ms). When it
   * elapses `run` rejects with a {@linkcode WatchdogError} naming vCPU and RIP.
   */
  watchdogMs?: number;
  /**
   * Labels of `sync` ucalls that have a handler: such an exit calls
   * `onExit` and the vCPU resumes after it, or, at the run's own label,
   * then waits at the barrier.
   */
  handledSyncLabels?: ReadonlySet<string>;
  /** Whether `memory_fault` exits have a handler (`on memory_fault`). */
  handleMemoryFault?: boolean;
  /** The handler for handled exits; the vCPU stays paused until it settles. */
  onExit?: (exit: VcpuExit) => void | Promise<void>;
}

/**
 * A VM on either backend. Every method that changes KVM state throws an
 * {@linkcode ErrnoError} (from `./errors.ts`) carrying the errno name when
 * the (real or modelled) ioctl fails. The memslot rules and their errno are
 * one model for both backends: `vmm/memory/slot_rules.ts`.
 */
export interface Vm {
  /** Which implementation runs this VM. */
  readonly backend: BackendKind;
  /** The VM's name (the script's `vm NAME`). */
  readonly name: string;
  /** How many vCPUs it has. */
  readonly vcpuCount: number;
  /** The MMU in force (emu: the modelled one; kvm: the host's). */
  readonly mmu: MmuMode;
  /** The VMM's system region (memslot 0): GDT, ucall slots, stacks, code, page tables. */
  readonly system: { gpa: bigint; size: bigint };
  /** Whether guest page tables may use 1 GiB pages (kvm: the host's CPUID has pdpe1gb). */
  readonly allow1G: boolean;

  /** Enable or set a capability: one of its words, or its raw `args[0]`. */
  enableCap(name: CapName, value: CapValue): void;
  /** Turn a mainline quirk on or off (KVM_CAP_DISABLE_QUIRKS2). */
  setQuirk(name: QuirkName, on: boolean): void;
  /**
   * Whether this backend offers a capability (probed, never enabled): kvm asks
   * KVM_CHECK_EXTENSION for the mainline mechanism (false for a proposal
   * mainline never merged); the emulator offers every capability it models.
   */
  hasCap(name: CapName): boolean;

  /** Create a user memslot. */
  addMemslot(spec: MemslotSpec): MemslotInfo;
  /** Delete a memslot (the zap policy applies). */
  deleteMemslot(name: string): void;
  /** Move a memslot to a new GPA (the zap policy applies). */
  moveMemslot(name: string, gpa: bigint): void;
  /** Add and remove flags (`dirty_log` starts/stops dirty logging). */
  setMemslotFlags(name: string, add: readonly MemslotFlag[], remove: readonly MemslotFlag[]): void;
  /**
   * Make the host mapping present for a range of the slot (default: from
   * `offset` to the end). A negative, misaligned or out-of-slot range is
   * `MADV_POPULATE_WRITE` EINVAL on both backends.
   */
  populate(name: string, offset?: bigint, size?: bigint): void;
  /** The slots, sorted by GPA. */
  memslots(): readonly MemslotInfo[];

  /**
   * Serve missing pages of a slot through userfaultfd with `handlers`
   * handler threads (kvm), or through the modelled shared fault queue (emu):
   * the path the memory-fault-exit proposal wants to bypass. Counted in the
   * `uffd_faults` stat. `handlers` outside 1..64 is a RangeError and a
   * second call for the same slot `UFFDIO_REGISTER` EBUSY, on both backends.
   * With `minor`, the slot's shared memory (backing `memfd`, else an
   * UnsupportedError on both backends) is registered in MINOR mode and served
   * with UFFDIO_CONTINUE.
   */
  demandUffd(name: string, handlers?: number, options?: DemandUffdOptions): void;

  /** Host-side 8-byte read at `offset` inside a slot (`pread` EFAULT outside it). */
  readSlot(name: string, offset: bigint): bigint;
  /** Host-side 8-byte write at `offset` inside a slot (`pwrite` EFAULT outside it). */
  writeSlot(name: string, offset: bigint, value: bigint): void;
  /**
   * Host-side read of guest-physical memory; the range may span adjacent
   * slots. A byte in no slot is `readGuest` EFAULT, on both backends.
   */
  readGuest(gpa: bigint, length: number): Uint8Array;

  /**
   * KVM_GET_DIRTY_LOG (and KVM_CLEAR_DIRTY_LOG of the same bits with
   * `clear`). Returns the bitmap, one bit per 4 KiB page, little-endian
   * 64-bit words as KVM lays them out.
   */
  getDirtyLog(name: string, clear: boolean): Uint8Array;

  /** Register an external write tracker on a GPA range. */
  track(trackerName: string, gpa: bigint, size: bigint): void;
  /** Unregister an external write tracker. */
  untrack(trackerName: string): void;

  /** Effective memory type of a guest-physical page (emu only). */
  memtype(gpa: bigint): { type: string; ipat: boolean };

  /**
   * Register non-coherent DMA VM-wide for `device`, as the RFC's KVM virtio
   * device does (`kvm_arch_register_noncoherent_dma`): ref-counted by
   * device, once per device; the first registration zaps every SPTE and
   * guest MTRRs and PAT then apply to all memory. Emu only: mainline KVM has
   * no userspace uAPI for it (kvm throws {@linkcode UnsupportedError}).
   */
  registerNoncoherentDma(device: string): void;
  /** Undo {@linkcode Vm.registerNoncoherentDma} for `device`; the last one zaps again. */
  unregisterNoncoherentDma(device: string): void;

  /**
   * One pass of a live migration's copy phase (`migrate SLOT… [clflush]`):
   * the VMM reads every page of the slots and syncs their dirty logs. A
   * name in no slot is the backend's unknown-slot error.
   */
  migrate(slots: readonly string[], options?: { clflush?: boolean }): MigrationPass;

  /**
   * Copy a boot image into guest memory and set every vCPU's entry state
   * from it; every vCPU becomes runnable. Images come from `guest/boot.ts`
   * through `loadGuest` of `vmm/builder.ts` (or are hand-made by tests).
   */
  loadImage(image: BootImage): void;

  /** Run the vCPUs; see {@linkcode RunOptions}. */
  run(options?: RunOptions): Promise<VcpuExit>;

  /**
   * Read a counter by its Linux binary-stats name (or the VMM's own names).
   * Sum over vCPUs unless `vcpu` is given. Throws {@linkcode UnsupportedError}
   * when this backend cannot provide it — never a silent 0.
   */
  stat(name: string, vcpu?: number): bigint;
  /** The stat names this backend can provide. */
  statNames(): readonly string[];
  /**
   * The backend's own clock in seconds, when it has one (emu: the latest of
   * the modelled clocks, `emulator.md` "Modelled time"); absent on kvm,
   * whose clock is the wall.
   */
  modelledSeconds?(): number;

  /** Release every fd, mapping, worker and buffer. Idempotent. */
  close(): void;
  /** `close()`, for `using`. */
  [Symbol.dispose](): void;
}

// Stats: one row each in `stats.ts` (name, scope, unit, backends, description).
export * from "./stats.ts";
