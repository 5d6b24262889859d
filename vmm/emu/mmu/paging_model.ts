/**
 * The paging-model seam: {@linkcode PagingModel} is what differs between
 * the TDP MMU (`tdp_paging.ts`, EPT) and the shadow MMU (`shadow_mmu.ts`,
 * `mmu shadow`): how a TLB miss is translated and faulted in, what a guest
 * write to a tracked page, `invlpg` and a CR3 load do, and how write
 * protection, dirty logging and zaps act on the model's entries. The VM
 * chooses one at creation (`Mmu`'s constructor); nothing else asks which.
 *
 * {@linkcode MmuContext} is what a model needs from the VM's memory model,
 * so the models depend on this module and not on `mmu.ts` (no import
 * cycle). The resolution codes and {@linkcode markDirty} are shared here.
 *
 * @module
 */
import type { MmuMode } from "../../types.ts";
import type { Access, MmuExit, PagingState, TranslateResult } from "../port.ts";
import type { EmuStats } from "../stats.ts";
import type { Memslot } from "../memory/memslot.ts";
import type { MemslotTable } from "../memory/memslots.ts";
import type { MemtypePolicy } from "./memtype.ts";
import type { GuestWalker } from "./page_walk.ts";
import type { DirtyLogRecovery, EmuCapState } from "../../caps/cap.ts";
import type { Charger } from "../time/model.ts";

/** Resolution outcomes of a guest-physical access (internal codes). */
export const RES_OK = 0;
/** No memslot, or a write to a readonly slot: MMIO. */
export const RES_MMIO = 1;
/** KVM_EXIT_MEMORY_FAULT with `absent_mapping`. */
export const RES_MEMORY_FAULT = 2;
/** KVM_RUN fails with EFAULT. */
export const RES_EFAULT = 3;
/** The vCPU waits for the modelled userfaultfd handler (`demand uffd`). */
export const RES_UFFD = 4;

/** Set the dirty bit of slot page `rel` (mark_page_dirty_in_slot). */
export function markDirty(slot: Memslot, rel: number): void {
  const d = slot.dirty;
  if (d !== null) d[rel >>> 5] |= 1 << (rel & 31);
}

/** What a paging model uses of the VM's memory model (`Mmu` implements it). */
export interface MmuContext {
  /** Memslots. */
  readonly slots: MemslotTable;
  /** Counters. */
  readonly stats: EmuStats;
  /** Capability state. */
  readonly caps: EmuCapState;
  /** Modelled time: every kernel operation is charged here. */
  readonly time: Charger;
  /** Memory-type policy. */
  readonly memtype: MemtypePolicy;
  /** Page write tracking: count a frame up (write-protect it) or down. */
  readonly tracking: {
    add(slot: Memslot, gfn: number): void;
    remove(slot: Memslot, gfn: number): void;
  };
  /** Drop cached translations of several frames with one remote flush request. */
  flushGfns(gfns: readonly number[]): void;
  /** The exit object for a resolution code. */
  exitFor(res: number, gpa: number, pageTable: boolean): MmuExit;
  /** The host page of slot page `rel` is absent: a resolution code (RES_OK once present). */
  faultInHost(vs: Float64Array, slot: Memslot, rel: number): number;
  /** Remember the guest PAT type the walk `w` produced for `gfn`, where it matters. */
  noteGuestMemtype(slot: Memslot, gfn: number, w: GuestWalker, paging: PagingState): void;
  /** kvm_mmu_max_mapping_level for `gfn` in `slot`. */
  maxLevel(slot: Memslot, gfn: number): number;
  /** An emulated write landed in `slot`: dirty log, page-track notifiers, the model. */
  notifyWrite(slot: Memslot, gpa: number, len: number): void;
}

/** The TDP-or-shadow part of the memory model (see the module doc). */
export interface PagingModel {
  /** Which model this is. */
  readonly mode: MmuMode;
  /** Guest-physical address bits it maps (the memslot range limit). */
  readonly gpaBits: number;
  /** Slots get their rmaps at creation (KVM allocates them lazily for TDP). */
  readonly needsRmap: boolean;
  /** Guest page tables are write-tracked, so write tracking is always allocated. */
  readonly tracksGuestTables: boolean;
  /**
   * Translates `gva` for `access` on a TLB miss, taking and handling the
   * faults the model takes (`pf_taken` and the rest).
   */
  translate(vcpu: number, paging: PagingState, gva: number, access: Access): TranslateResult;
  /** An emulated guest write of `len` bytes at `gpa` landed (kvm_mmu_track_write). */
  trackWrite(gpa: number, len: number): void;
  /** The guest ran `invlpg gva`. */
  invlpg(vcpu: number, gva: number): void;
  /** The guest loaded CR3. */
  newCr3(vcpu: number, cr3: number): void;
  /**
   * Write-protects `gfn` (`tracking`: for a write tracker, which also clears
   * MMU-writable); returns the level of the entry that lost W, 0 if none.
   */
  writeProtectGfn(gfn: number, tracking: boolean): number;
  /**
   * Dirty logging starts on frames `[start, end)`: write-protect them, and
   * with `eagerSplit` split their huge entries first; returns how many
   * entries changed.
   */
  startDirtyLog(start: number, end: number, eagerSplit: boolean): number;
  /**
   * Dirty logging stopped on `[start, end)`: restore huge mappings up to
   * `maxLevel` as `recovery` says (zap the collapsible tables, or recover
   * them in place); returns how many were recovered or zapped.
   */
  collapseRange(
    start: number,
    end: number,
    maxLevel: (gfn: number) => number,
    recovery: DirtyLogRecovery,
  ): number;
  /** Zaps what maps (or was walked through) frames `[start, end)`; returns the entries dropped. */
  zapRange(start: number, end: number): number;
  /** Makes every root obsolete (kvm_mmu_zap_all_fast); returns the entries dropped. */
  zapAll(): number;
  /** Zaps every guest frame's mappings (kvm_zap_gfn_range over all memory); returns the count. */
  zapAllGfns(): number;
}
