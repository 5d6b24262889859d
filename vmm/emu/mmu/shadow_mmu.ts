/**
 * A shadow MMU (`mmu shadow`), modelled at the granularity the spec needs:
 * shadow entries keyed by guest-virtual page, per guest CR3 (KVM's roots),
 * each caching GVA → GFN with the permissions KVM would give the shadow
 * SPTE. Every guest page-table page a walk used is write-tracked while an
 * entry depends on it; a guest write to it is emulated (`pf_emulate`),
 * counted (`mmu_pte_write`) and drops the entries built from the written
 * PTE. `pf_taken` counts shadow faults: the first access to a GVA page
 * after each invalidation, and write faults on write-protected entries.
 *
 * Differences from KVM's shadow MMU (documented in docs/emulator.md): one
 * entry per 4 KiB GVA page (KVM maps huge guest pages huge when the host
 * allows), no unsync pages (`mmu_unsync` stays 0), no prefetch of
 * neighbouring PTEs, every root kept (KVM caches 3 previous roots).
 * `mmu_shadow_zapped` counts shadowed guest page-table pages zapped (by
 * write flooding, memslot zaps, or memtype changes); `mmu_pde_zapped`
 * counts entries dropped because a non-leaf guest PTE was written.
 *
 * @module
 */
import {
  type Access,
  ACCESS_WRITE,
  CR0_PG,
  type PagingState,
  type TranslateResult,
} from "../port.ts";
import { M, V } from "../stats.ts";
import { SLOT_DIRTY_LOG, SLOT_READONLY } from "../memory/memslot.ts";
import { PageTranslation } from "../memory/host_memory.ts";
import { GuestWalker, WALK_FAULT, WALK_OK } from "./page_walk.ts";
import type { MmuMode } from "../../types.ts";
import type { DirtyLogRecovery } from "../../caps/cap.ts";
import { SHADOW_GPA_BITS } from "../memory/memslots.ts";
import {
  markDirty,
  type MmuContext,
  type PagingModel,
  RES_MMIO,
  RES_OK,
  RES_UFFD,
} from "./paging_model.ts";

/** One shadow entry (a shadow leaf SPTE for one GVA page). */
class ShadowEntry {
  writable = false;
  /** Page-table frames and entry indices the walk used, levels 1..4 (0: unused). */
  readonly ptGfn: Float64Array = new Float64Array(5);
  readonly ptIndex: Int32Array = new Int32Array(5);
  constructor(
    readonly root: Map<number, ShadowEntry>,
    readonly vpn: number,
    readonly gfn: number,
    readonly guestWritable: boolean,
    readonly leafLevel: number,
  ) {}
}

/** A shadowed guest page-table page: the entries built through it and KVM's flood counter. */
interface ShadowedPt {
  readonly entries: Set<ShadowEntry>;
  /** Emulated writes since a walk last used the page (sp->write_flooding_count). */
  flood: number;
}

/** Writes without an intervening use after which a shadowed page is zapped (as KVM). */
const FLOOD_LIMIT = 3;

/** The shadow MMU of one VM, as a {@linkcode PagingModel}. */
export class ShadowMmu implements PagingModel {
  /** Always `shadow`. */
  readonly mode: MmuMode = "shadow";
  /** Shadow pages map host frames directly: the CPU's 52 bits. */
  readonly gpaBits: number = SHADOW_GPA_BITS;
  /** rmaps are allocated whole at slot creation. */
  readonly needsRmap = true;
  /** Every shadowed guest page table is write-tracked. */
  readonly tracksGuestTables = true;
  readonly #mmu: MmuContext;
  readonly #roots = new Map<number, Map<number, ShadowEntry>>();
  #vcpuRoot: (Map<number, ShadowEntry> | undefined)[] = [];
  #vcpuRootKey: number[] = [];
  readonly #ptRefs = new Map<number, ShadowedPt>();
  readonly #gfnRefs = new Map<number, Set<ShadowEntry>>();
  readonly #walker: GuestWalker;

  /**
   * Creates the instance.
   * @param mmu the owning memory model
   */
  constructor(mmu: MmuContext) {
    this.#mmu = mmu;
    this.#walker = new GuestWalker((gfn, write) => this.#ptPage(gfn, write));
  }

  /** Guest page tables are reached through host memory (KVM's walker uses the HVA). */
  #ptPage(gfn: number, write: boolean): Uint8Array | null {
    const slot = this.#mmu.slots.find(gfn);
    if (slot === null) return null;
    const rel = gfn - slot.baseGfn;
    if (write && (slot.flags & SLOT_DIRTY_LOG) !== 0) markDirty(slot, rel);
    return slot.host.page(rel);
  }

  /** The vCPU's root for its current CR3 (or the non-paging root), checked on every miss. */
  #root(vcpu: number, paging: PagingState): Map<number, ShadowEntry> {
    const key = (paging.cr0 & CR0_PG) === 0 ? -1 : Math.floor(paging.cr3 / 4096);
    let r = this.#vcpuRoot[vcpu];
    if (r === undefined || this.#vcpuRootKey[vcpu] !== key) {
      r = this.#roots.get(key);
      if (r === undefined) this.#roots.set(key, r = new Map());
      this.#vcpuRoot[vcpu] = r;
      this.#vcpuRootKey[vcpu] = key;
    }
    return r;
  }

  /** The shadow-paging translation (see the module doc). */
  translate(vcpu: number, paging: PagingState, gva: number, access: Access): TranslateResult {
    const mmu = this.#mmu;
    const vs = mmu.stats.vcpu[vcpu];
    const root = this.#root(vcpu, paging);
    const vpn = Math.floor(gva / 4096);
    const write = access === ACCESS_WRITE;
    let ent = root.get(vpn);
    if (ent !== undefined && (!write || ent.writable)) {
      const slot = mmu.slots.find(ent.gfn)!;
      return slot.host.translation(ent.gfn - slot.baseGfn, ent.gfn);
    }
    vs[V.pf_taken]++;
    mmu.time.fault(true);
    if (ent !== undefined && ent.guestWritable) {
      const r = this.#writeFault(vs, ent);
      if (r !== null) return r;
    }
    const w = this.#walker;
    const wr = w.walk(paging, gva, access);
    if (wr !== WALK_OK) {
      if (wr === WALK_FAULT) {
        vs[V.pf_guest]++;
        return { exit: "guest_fault", vector: 14, gva: w.gva };
      }
      return { exit: "errno", errno: "EFAULT", gpa: 0 };
    }
    const gpa = w.gpa;
    const gfn = Math.floor(gpa / 4096);
    const slot = mmu.slots.find(gfn);
    if (slot === null || slot.invalid || (write && (slot.flags & SLOT_READONLY) !== 0)) {
      vs[V.pf_emulate]++;
      if (slot === null) vs[V.pf_mmio_spte_created]++;
      return mmu.exitFor(RES_MMIO, gpa, false);
    }
    const rel = gfn - slot.baseGfn;
    if (slot.host.absent && !slot.host.isPresent(rel)) {
      const r = mmu.faultInHost(vs, slot, rel);
      // Post-copy: the guest maps the page before UFFDIO_COPY fills it.
      if (r === RES_UFFD) mmu.noteGuestMemtype(slot, gfn, w, paging);
      if (r !== RES_OK) return mmu.exitFor(r, gpa, false);
    }
    if (ent !== undefined) this.#drop(ent, []);
    // Without paging there is no guest page table: leafLevel 5 makes every per-level loop empty.
    ent = new ShadowEntry(root, vpn, gfn, w.writable, w.level === 0 ? 5 : w.level);
    for (let l = 4; l >= ent.leafLevel; l--) {
      ent.ptGfn[l] = w.ptGfn[l];
      ent.ptIndex[l] = w.ptIndex[l];
      this.#shadowPt(w.ptGfn[l], ent);
    }
    root.set(vpn, ent);
    mmu.time.install(true); // the shadow MMU takes mmu_lock for write
    let refs = this.#gfnRefs.get(gfn);
    if (refs === undefined) this.#gfnRefs.set(gfn, refs = new Set());
    refs.add(ent);
    if (slot.rmap !== null) slot.rmap[0][rel]++;
    mmu.stats.vm[M.pages_4k]++;
    mmu.noteGuestMemtype(slot, gfn, w, paging);
    const tracked = slot.writeTrack !== null && slot.writeTrack[rel] !== 0;
    const logging = (slot.flags & SLOT_DIRTY_LOG) !== 0;
    ent.writable = w.writable && (slot.flags & SLOT_READONLY) === 0 && !tracked &&
      (write || !logging);
    if (write && tracked) {
      vs[V.pf_emulate]++;
      return new PageTranslation(slot.host, rel, gfn, false);
    }
    if (write && logging) markDirty(slot, rel);
    vs[V.pf_fixed]++;
    return slot.host.translation(rel, gfn);
  }

  /** A write to a present entry that KVM write-protected. */
  #writeFault(vs: Float64Array, ent: ShadowEntry): TranslateResult | null {
    const mmu = this.#mmu;
    const slot = mmu.slots.find(ent.gfn);
    if (slot === null || (slot.flags & SLOT_READONLY) !== 0) return null;
    const rel = ent.gfn - slot.baseGfn;
    const host = slot.host;
    if (slot.writeTrack !== null && slot.writeTrack[rel] !== 0) {
      vs[V.pf_emulate]++;
      return new PageTranslation(host, rel, ent.gfn, false);
    }
    if ((slot.flags & SLOT_DIRTY_LOG) !== 0) {
      markDirty(slot, rel);
      vs[V.pf_fast]++;
    }
    ent.writable = true;
    vs[V.pf_fixed]++;
    return new PageTranslation(host, rel, ent.gfn, true);
  }

  /** Start shadowing page-table frame `ptGfn` for `ent` (write-track it on first use). */
  #shadowPt(ptGfn: number, ent: ShadowEntry): void {
    let s = this.#ptRefs.get(ptGfn);
    if (s === undefined) {
      this.#ptRefs.set(ptGfn, s = { entries: new Set(), flood: 0 });
      const slot = this.#mmu.slots.find(ptGfn);
      if (slot !== null && slot.writeTrack !== null) this.#mmu.tracking.add(slot, ptGfn);
    }
    s.flood = 0;
    s.entries.add(ent);
  }

  /** Stop shadowing `ptGfn` (zap its shadow page): drop its entries, untrack it. */
  #unshadow(ptGfn: number, flush: number[]): void {
    const s = this.#ptRefs.get(ptGfn);
    if (s === undefined) return;
    for (const e of [...s.entries]) this.#drop(e, flush);
    this.#ptRefs.delete(ptGfn);
    this.#mmu.stats.vm[M.mmu_shadow_zapped]++;
    const slot = this.#mmu.slots.find(ptGfn);
    if (slot !== null) this.#mmu.tracking.remove(slot, ptGfn);
  }

  /**
   * Remove `ent` (its shadow SPTE); frames whose TLB entries must go are
   * pushed to `flush`. The page-table pages it was built through stay
   * shadowed (and write-tracked) until zapped, as KVM's shadow pages do.
   */
  #drop(ent: ShadowEntry, flush: number[]): void {
    if (ent.root.get(ent.vpn) !== ent) return;
    const mmu = this.#mmu;
    ent.root.delete(ent.vpn);
    this.#gfnRefs.get(ent.gfn)?.delete(ent);
    const slot = mmu.slots.find(ent.gfn);
    if (slot !== null && slot.rmap !== null) slot.rmap[0][ent.gfn - slot.baseGfn]--;
    mmu.stats.vm[M.pages_4k]--;
    mmu.stats.vm[M.sptes_zapped]++;
    for (let l = 4; l >= ent.leafLevel; l--) this.#ptRefs.get(ent.ptGfn[l])?.entries.delete(ent);
    flush.push(ent.gfn);
  }

  /**
   * An emulated guest write of `len` bytes at `gpa` (kvm_mmu_track_write):
   * drop the entries built from the written PTEs; a page written
   * {@linkcode FLOOD_LIMIT} times without being walked is zapped (`mmu_flooded`).
   */
  trackWrite(gpa: number, len: number): void {
    const gfn = Math.floor(gpa / 4096);
    const s = this.#ptRefs.get(gfn);
    if (s === undefined) return;
    const mmu = this.#mmu;
    mmu.stats.vm[M.mmu_pte_write]++;
    const i0 = (gpa % 4096) >>> 3, i1 = ((gpa % 4096) + len - 1) >>> 3;
    const flush: number[] = [];
    for (const ent of [...s.entries]) {
      for (let l = 4; l >= ent.leafLevel; l--) {
        if (ent.ptGfn[l] !== gfn || ent.ptIndex[l] < i0 || ent.ptIndex[l] > i1) continue;
        if (l > ent.leafLevel) mmu.stats.vm[M.mmu_pde_zapped]++;
        this.#drop(ent, flush);
        break;
      }
    }
    if (++s.flood >= FLOOD_LIMIT) {
      mmu.stats.vm[M.mmu_flooded]++;
      this.#unshadow(gfn, flush);
    }
    mmu.flushGfns(flush);
  }

  /** The guest ran `invlpg`: drop that GVA's entry in the vCPU's root. */
  invlpg(vcpu: number, gva: number): void {
    const r = this.#vcpuRoot[vcpu];
    const ent = r?.get(Math.floor(gva / 4096));
    if (ent !== undefined) this.#drop(ent, []);
  }

  /** The guest loaded CR3: switch to (or create) that root on the next translation. */
  newCr3(vcpu: number, _cr3: number): void {
    this.#vcpuRoot[vcpu] = undefined;
  }

  /** Write-protect entries mapping `gfn`; returns 1 (a 4K entry) if any was writable, else 0. */
  writeProtectGfn(gfn: number, _tracking: boolean): number {
    let changed = 0;
    for (const e of this.#gfnRefs.get(gfn) ?? []) {
      if (e.writable) changed = 1;
      e.writable = false;
    }
    return changed;
  }

  /** Write-protect entries mapping frames in `[start, end)`; returns how many lost W. */
  startDirtyLog(start: number, end: number, _eagerSplit: boolean): number {
    let n = 0;
    for (const [gfn, set] of this.#gfnRefs) {
      if (gfn < start || gfn >= end) continue;
      for (const e of set) {
        if (e.writable) n++;
        e.writable = false;
      }
    }
    return n;
  }

  /** Zap entries that map, or were walked through, frames in `[start, end)`. */
  zapRange(start: number, end: number): number {
    const victims = new Set<ShadowEntry>();
    for (const root of this.#roots.values()) {
      for (const e of root.values()) {
        if (e.gfn >= start && e.gfn < end) victims.add(e);
        else {
          for (let l = 4; l >= e.leafLevel; l--) {
            if (e.ptGfn[l] >= start && e.ptGfn[l] < end) victims.add(e);
          }
        }
      }
    }
    for (const e of victims) this.#drop(e, []);
    for (const g of [...this.#ptRefs.keys()]) if (g >= start && g < end) this.#unshadow(g, []);
    return victims.size;
  }

  /** Drop every root and shadow page (kvm_mmu_zap_all_fast). */
  zapAll(): number {
    let n = 0;
    for (const root of this.#roots.values()) {
      for (const e of [...root.values()]) {
        this.#drop(e, []);
        n++;
      }
    }
    for (const g of [...this.#ptRefs.keys()]) this.#unshadow(g, []);
    this.#roots.clear();
    this.#vcpuRoot = [];
    return n;
  }

  /** Shadow entries stay 4K; writes re-enable them lazily: nothing to collapse. */
  collapseRange(
    _start: number,
    _end: number,
    _maxLevel: (gfn: number) => number,
    _recovery: DirtyLogRecovery,
  ): number {
    return 0;
  }

  /** As {@linkcode ShadowMmu.zapAll}. */
  zapAllGfns(): number {
    return this.zapAll();
  }

  /** Shadowed guest page-table frames (tests). */
  get shadowedPages(): number {
    return this.#ptRefs.size;
  }
}
