/**
 * The seam inside the emulator between the CPU (`vmm/emu/cpu/`: decode,
 * execute, registers, the software TLB) and the memory model
 * (`vmm/emu/mmu/`: guest page walk, SPTEs, memslots, faults, tracking).
 *
 * The CPU caches translations in its software TLB (QEMU softmmu style) and
 * asks the {@linkcode MmuPort} only on a miss or when an entry forces the
 * slow path. The MMU keeps the CPU coherent by calling {@linkcode CpuTlb}
 * methods whenever a mapping loses permissions or disappears.
 *
 * Addresses here are JS numbers: guest-virtual addresses are the low 48 bits
 * (the CPU checks canonical form itself), guest-physical ones are below 2^52.
 *
 * @module
 */
import type { MtrrState } from "./mtrr.ts";

/** Access kinds. */
export const ACCESS_READ = 0;
/** A data write. */
export const ACCESS_WRITE = 1;
/** An instruction fetch. */
export const ACCESS_EXEC = 2;
/** One of {@linkcode ACCESS_READ}, {@linkcode ACCESS_WRITE}, {@linkcode ACCESS_EXEC}. */
export type Access = 0 | 1 | 2;

/** CR0.WP: supervisor writes to read-only pages fault. */
export const CR0_WP = 1 << 16;
/** CR0.CD: caching disabled (forces a memory type, see `mmu/memtype.ts`). */
export const CR0_CD = 1 << 30;
/** CR0.PG: paging on. As a JS number, so `cr0 & CR0_PG` is negative when set. */
export const CR0_PG = 2 ** 31;
/** EFER.NXE: the XD bit (63) of page-table entries is honoured. */
export const EFER_NXE = 1 << 11;

/** The architectural reset value of IA32_PAT (WB, WT, UC-, UC, twice); one definition, in guest/. */
export { PAT_RESET } from "../../guest/payloads/gpu_fill.ts";

/** The paging-related CPU state the MMU needs for a guest page walk. */
export interface PagingState {
  cr0: number;
  cr3: number;
  cr4: number;
  efer: number;
  /** IA32_PAT (64 bits). */
  pat: bigint;
  /** The vCPU's MTRRs (absent: a CPU without MTRRs, e.g. the flat test MMU's). */
  mtrr?: MtrrState;
}

/**
 * The DataView accessors the CPU's slow path uses on a page (a DataView
 * is one; so is a page without a host frame, see {@linkcode Translation.sparse}).
 */
export interface PageAccess {
  /** As `DataView.getInt32`. */
  getInt32(off: number, littleEndian?: boolean): number;
  /** As `DataView.getUint16`. */
  getUint16(off: number, littleEndian?: boolean): number;
  /** As `DataView.getUint8`. */
  getUint8(off: number): number;
  /** As `DataView.setInt32`. */
  setInt32(off: number, value: number, littleEndian?: boolean): void;
  /** As `DataView.setUint16`. */
  setUint16(off: number, value: number, littleEndian?: boolean): void;
  /** As `DataView.setUint8`. */
  setUint8(off: number, value: number): void;
}

/** A successful translation of one 4 KiB guest-virtual page. */
export interface Translation {
  /** Host storage of the 4 KiB guest page (shared: writes land in guest memory). */
  page: Uint8Array;
  /**
   * A DataView over the same 4 KiB (`page.buffer`, `page.byteOffset`, 4096),
   * created once per host page, so the CPU's TLB refills allocate nothing.
   */
  view: DataView;
  /** Guest-physical page number. */
  gfn: number;
  /**
   * Writes may go straight to `page` and be cached in the TLB. When false on
   * a write translation, the CPU performs the write into `page` and then
   * calls {@linkcode MmuPort.trackedWrite} (write tracking, dirty logging's
   * first write, shadowed page tables): the slow path, never cached.
   */
  direct: boolean;
  /**
   * Set while the host page has no 4 KiB frame (never written, or a few
   * words kept small, see `memory/host_memory.ts`): the CPU then reads and
   * writes through this and caches nothing in its TLB. Reading `page` or
   * `view` instead gives the page a frame. Absent or null: use `view`.
   */
  readonly sparse?: PageAccess | null;
}

/** Why a translation did not produce a page. The CPU commits nothing of the instruction. */
export type MmuExit =
  /** No memslot at `gpa` (or a write to a readonly slot): complete as MMIO. */
  | { exit: "mmio"; gpa: number }
  /** KVM_EXIT_MEMORY_FAULT (e.g. an absent mapping in an `absent_fault` slot). */
  | { exit: "memory_fault"; gpa: number; size: number; flags: readonly string[] }
  /** KVM_RUN fails with this errno and no exit information (e.g. EFAULT). */
  | { exit: "errno"; errno: string; gpa: number }
  /** The guest page walk faulted (#PF): with no IDT this is a triple fault. */
  | { exit: "guest_fault"; vector: number; gva: number }
  /** The vCPU waits for a modelled userfaultfd handler to serve `gpa`. */
  | { exit: "uffd_wait"; gpa: number };

/** What {@linkcode MmuPort.translate} returns. */
export type TranslateResult = Translation | MmuExit;

/** Implemented by the memory model; called by the CPU. */
export interface MmuPort {
  /**
   * Translate `gva` for `access` on vCPU `vcpu`: walk the guest page tables
   * (setting A/D bits), then resolve the guest-physical page through the
   * SPTEs, taking and fixing EPT violations (stats) as needed.
   */
  translate(vcpu: number, paging: PagingState, gva: number, access: Access): TranslateResult;
  /** Called after a slow-path write of `len` bytes at `gpa` into a non-direct page. */
  trackedWrite(vcpu: number, gpa: number, len: number): void;
  /** The guest executed `invlpg gva` (shadow MMU drops its entry). */
  invlpg(vcpu: number, gva: number): void;
  /** The guest loaded CR3 (shadow MMU switches roots). */
  newCr3(vcpu: number, cr3: number): void;
}

/** Implemented by the CPU; called by the memory model to keep TLBs coherent. */
export interface CpuTlb {
  /** Drop every cached translation (and count it). */
  flushTlb(): void;
  /** Drop cached translations of one guest-physical page, wherever mapped. */
  flushGfn(gfn: number): void;
}

/** Why {@linkcode EmuCpu.run} returned. */
export type CpuStop =
  /** The instruction budget ran out; RIP is at the next instruction. */
  | { kind: "quantum" }
  /**
   * `in`/`out` retired (RIP is past it). For `in`, call `completeIn(value)`
   * before running again.
   */
  | { kind: "io"; port: number; size: number; isWrite: boolean; value: bigint }
  /** `hlt` retired. */
  | { kind: "hlt" }
  /**
   * MMIO access. A write retired (RIP past it, value given). A read did not:
   * call `completeMmioRead(value)` and the next run re-executes it with that value.
   */
  | { kind: "mmio"; gpa: number; len: number; isWrite: boolean; value: bigint }
  /** A translation exit other than MMIO; nothing of the instruction was committed. */
  | { kind: "mmu"; exit: MmuExit }
  /** Triple fault (any exception: there is no IDT). */
  | { kind: "shutdown"; rip: bigint; reason: string }
  /** An instruction outside the subset of `guest/ISA.md`. */
  | { kind: "unsupported"; rip: bigint; bytes: Uint8Array };

/** The CPU as the emulated VM drives it. */
export interface EmuCpu extends CpuTlb {
  readonly index: number;
  /** Guest instructions retired so far. */
  readonly instructions: number;
  /** Run at most `budget` instructions. */
  run(budget: number): CpuStop;
  /** Provide the value of a pending `in`. */
  completeIn(value: bigint): void;
  /** Provide the value of a pending MMIO read. */
  completeMmioRead(value: bigint): void;
  /** Current RIP. */
  rip(): bigint;
  /** Read a general-purpose register by number (0 = rax … 15 = r15). */
  gpr(n: number): bigint;
  /** Count of TLB flushes (the vCPU `tlb_flush` stat). */
  readonly tlbFlushes: number;
  /**
   * Drop decoded code of guest-physical pages `gfn .. gfn+count-1`: the VMM
   * wrote them from the host side, which the CPU's write path cannot see.
   */
  invalidateCode(range: { gfn: number; count: number }): void;
}
