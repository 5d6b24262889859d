/**
 * The TDP paging model (EPT, the default `mmu tdp`): a TLB miss runs the
 * guest page walk (its PTE reads go through the SPTEs, like the hardware
 * walker's EPT accesses), then resolves the GPA through the SPTE tree,
 * taking an "EPT violation" (`pf_taken`) when the SPTE is missing or lacks
 * the permission, which the fault handler fixes, emulates, or turns into an
 * exit, as KVM's `kvm_tdp_page_fault` does.
 *
 * @module
 */
import type { MmuMode } from "../../types.ts";
import { type Access, ACCESS_WRITE, type PagingState, type TranslateResult } from "../port.ts";
import { M, V } from "../stats.ts";
import { GPA_BITS, MAX_GFN } from "../memory/memslots.ts";
import { PageTranslation } from "../memory/host_memory.ts";
import {
  type Memslot,
  SLOT_DIRTY_LOG,
  SLOT_NONCOHERENT,
  SLOT_READONLY,
} from "../memory/memslot.ts";
import { GuestWalker, WALK_FAULT, WALK_OK } from "./page_walk.ts";
import {
  SPTE_A,
  SPTE_D,
  SPTE_GEN_MASK,
  SPTE_GEN_SHIFT,
  SPTE_IPAT,
  SPTE_MMIO,
  SPTE_MMU_WRITABLE,
  SPTE_MT_SHIFT,
  SPTE_R,
  SPTE_W,
  SPTE_X,
} from "./spte.ts";
import { TdpMmu } from "./tdp_mmu.ts";
import type { DirtyLogRecovery } from "../../caps/cap.ts";
import {
  markDirty,
  type MmuContext,
  type PagingModel,
  RES_MMIO,
  RES_OK,
  RES_UFFD,
} from "./paging_model.ts";

const WB_IPAT = (6 << SPTE_MT_SHIFT) | SPTE_IPAT;
const WB = 6 << SPTE_MT_SHIFT;

/** The TDP MMU as a {@linkcode PagingModel}. */
export class TdpPaging implements PagingModel {
  /** Always `tdp`. */
  readonly mode: MmuMode = "tdp";
  /** 4-level EPT: 48 bits. */
  readonly gpaBits: number = GPA_BITS;
  /** KVM allocates rmaps lazily for TDP; the model never needs them. */
  readonly needsRmap = false;
  /** Guest page tables are ordinary memory under TDP. */
  readonly tracksGuestTables = false;
  /** The EPT tree. */
  readonly tdp: TdpMmu;

  readonly #mmu: MmuContext;
  readonly #walker: GuestWalker;
  #vs: Float64Array;
  /** Outputs of {@linkcode TdpPaging.resolve}: the page's index in {@linkcode TdpPaging.slot}'s host memory. */
  rel = 0;
  /** Whether the page may be written directly. */
  direct = true;
  /** Slot of the last successful resolve. */
  slot: Memslot | null = null;
  /** Whether the last resolve hit a present SPTE (no fault). */
  hit = false;
  #ptExit = 0;
  #ptGpa = 0;
  // Read cache of page-table pages per walk level, valid for one TDP epoch.
  readonly #ptGfn: Float64Array = new Float64Array(8).fill(-1);
  readonly #ptPages: Uint8Array[] = new Array(8).fill(new Uint8Array(0));
  #ptEpoch = -1;

  /**
   * Creates the instance.
   * @param mmu the VM's memory model
   */
  constructor(mmu: MmuContext) {
    this.#mmu = mmu;
    this.tdp = new TdpMmu(mmu.stats.vm);
    this.#vs = mmu.stats.vcpu[0];
    this.#walker = new GuestWalker((gfn, write) => this.#ptPage(gfn, write), this.tdp);
  }

  /** {@inheritDoc PagingModel.translate} */
  translate(vcpu: number, paging: PagingState, gva: number, access: Access): TranslateResult {
    const mmu = this.#mmu;
    const vs = this.#vs = mmu.stats.vcpu[vcpu];
    const w = this.#walker;
    const r = w.walk(paging, gva, access);
    if (r !== WALK_OK) {
      if (r === WALK_FAULT) return { exit: "guest_fault", vector: 14, gva: w.gva };
      return mmu.exitFor(this.#ptExit, this.#ptGpa, true);
    }
    const gpa = w.gpa;
    const gfn = Math.floor(gpa / 4096);
    const res = this.resolve(vs, gfn, access);
    // Post-copy: the guest maps the page before UFFDIO_COPY fills it.
    if (res === RES_UFFD) mmu.noteGuestMemtype(mmu.slots.find(gfn)!, gfn, w, paging);
    if (res !== RES_OK) return mmu.exitFor(res, gpa, false);
    mmu.noteGuestMemtype(this.slot!, gfn, w, paging);
    // A refill of a mapped page reuses a cached Translation (no allocation);
    // a fault returns a fresh one, which dies young.
    if (this.hit) return this.slot!.host.translation(this.rel, gfn);
    return new PageTranslation(this.slot!.host, this.rel, gfn, this.direct);
  }

  #ptPage(gfn: number, write: boolean): Uint8Array | null {
    // A page-table page that resolved for reads in this epoch still has its
    // SPTE: skip the lookup (no fault could happen, so no counter moves).
    const slotIdx = gfn & 7;
    if (!write) {
      if (this.#ptEpoch !== this.tdp.epoch) {
        this.#ptGfn.fill(-1);
        this.#ptEpoch = this.tdp.epoch;
      } else if (this.#ptGfn[slotIdx] === gfn) return this.#ptPages[slotIdx];
    }
    const res = this.resolve(this.#vs, gfn, write ? ACCESS_WRITE : 0);
    if (res !== RES_OK) {
      this.#ptExit = res;
      this.#ptGpa = gfn * 4096;
      return null;
    }
    const page = this.slot!.host.page(this.rel);
    if (write && !this.direct) this.#mmu.notifyWrite(this.slot!, gfn * 4096, 8);
    if (!write && this.#ptEpoch === this.tdp.epoch) {
      this.#ptGfn[slotIdx] = gfn;
      this.#ptPages[slotIdx] = page;
    }
    return page;
  }

  /**
   * Resolve guest frame `gfn` for `access` through the SPTEs; on success
   * {@linkcode TdpPaging.rel}, {@linkcode TdpPaging.direct} and
   * {@linkcode TdpPaging.slot} hold the result. Hot path: no allocation on a hit.
   */
  resolve(vs: Float64Array, gfn: number, access: number): number {
    const tdp = this.tdp;
    const e = tdp.lookup(gfn);
    if ((e & SPTE_R) !== 0) {
      if (access !== ACCESS_WRITE || (e & SPTE_W) !== 0) {
        const slot = this.slot = this.#mmu.slots.find(gfn)!;
        this.rel = gfn - slot.baseGfn;
        this.direct = true;
        this.hit = true;
        return RES_OK;
      }
    } else if (
      (e & SPTE_MMIO) !== 0 &&
      ((e >>> SPTE_GEN_SHIFT) & SPTE_GEN_MASK) === (this.#mmu.slots.generation & SPTE_GEN_MASK)
    ) {
      return RES_MMIO; // handle_mmio_page_fault: an EPT misconfig, not counted as pf_taken
    }
    this.hit = false;
    return this.#fault(vs, gfn, access, e);
  }

  /** A fixed fault: the result of {@linkcode TdpPaging.resolve}, and the dirty bit of a write. */
  #fixed(vs: Float64Array, slot: Memslot, rel: number, dirty: boolean): number {
    if (dirty) markDirty(slot, rel);
    vs[V.pf_fixed]++;
    this.slot = slot;
    this.rel = rel;
    this.direct = true;
    return RES_OK;
  }

  /** The EPT-violation handler (kvm_tdp_page_fault). */
  #fault(vs: Float64Array, gfn: number, access: number, e: number): number {
    vs[V.pf_taken]++;
    const mmu = this.#mmu;
    mmu.time.fault(false);
    const slot = mmu.slots.find(gfn);
    if (slot === null || slot.invalid) {
      this.tdp.map(gfn, 1, SPTE_MMIO | ((mmu.slots.generation & SPTE_GEN_MASK) << SPTE_GEN_SHIFT));
      mmu.stats.vm[M.pages_4k]--; // an MMIO SPTE is not a mapping
      vs[V.pf_mmio_spte_created]++;
      vs[V.pf_emulate]++;
      return RES_MMIO;
    }
    const rel = gfn - slot.baseGfn;
    const write = access === ACCESS_WRITE;
    const flags = slot.flags;
    const tracked = slot.writeTrack !== null && slot.writeTrack[rel] !== 0;
    if (write && (flags & SLOT_READONLY) !== 0) {
      vs[V.pf_emulate]++;
      return RES_MMIO;
    }
    if (write && tracked) {
      // page_fault_handle_page_track: emulate the write; the SPTE stays read-only.
      vs[V.pf_emulate]++;
      this.slot = slot;
      this.rel = rel;
      this.direct = false;
      return RES_OK;
    }
    const tdp = this.tdp;
    if ((e & SPTE_R) !== 0) {
      // Present but write-protected: dirty logging, a past tracker, recovery.
      const max = mmu.maxLevel(slot, gfn);
      if (tdp.hitLevel > max) {
        mmu.time.split(tdp.hitLevel - max);
        tdp.splitTo(gfn, max);
      } else tdp.lookup(gfn);
      const t = tdp.hitTable.spte;
      const i = tdp.hitIndex;
      if ((t[i] & SPTE_MMU_WRITABLE) !== 0) vs[V.pf_fast]++;
      else mmu.time.install(); // the fast path is lockless; the slow one takes mmu_lock
      t[i] |= SPTE_W | SPTE_MMU_WRITABLE | SPTE_D;
      return this.#fixed(vs, slot, rel, (flags & SLOT_DIRTY_LOG) !== 0);
    }
    const host = slot.host;
    if (host.absent && !host.isPresent(rel)) {
      const r = mmu.faultInHost(vs, slot, rel);
      if (r !== RES_OK) return r;
    }
    let f = SPTE_R | SPTE_X | SPTE_A | this.#memtype(flags);
    if ((flags & SLOT_READONLY) === 0 && !tracked) {
      f |= SPTE_MMU_WRITABLE;
      // Dirty logging maps a read fault read-only so that the bitmap only
      // shows written pages (see docs: KVM marks it dirty when the host
      // page is already writable).
      if (write || (flags & SLOT_DIRTY_LOG) === 0) f |= SPTE_W;
    }
    if (write) f |= SPTE_D;
    tdp.mapAfterLookup(gfn, mmu.maxLevel(slot, gfn), f);
    mmu.time.install();
    return this.#fixed(vs, slot, rel, write && (flags & SLOT_DIRTY_LOG) !== 0);
  }

  /** The memory-type bits of a leaf in a slot with `flags`. */
  #memtype(flags: number): number {
    return (flags & SLOT_NONCOHERENT) !== 0 || this.#mmu.memtype.honorAll ? WB : WB_IPAT;
  }

  /**
   * Seed 004's `make_spte(…, ACC_ALL, …, map_writable)` for the huge page at
   * `gfn`: present, executable, accessed, writable unless the slot is readonly.
   */
  #freshHuge(gfn: number): number {
    const flags = this.#mmu.slots.find(gfn)!.flags;
    const w = (flags & SLOT_READONLY) === 0 ? SPTE_W | SPTE_MMU_WRITABLE : 0;
    return SPTE_R | SPTE_X | SPTE_A | w | this.#memtype(flags);
  }

  /** No shadowed guest page tables under TDP: nothing to invalidate. */
  trackWrite(_gpa: number, _len: number): void {}

  /** The EPT does not cache guest-virtual translations. */
  invlpg(_vcpu: number, _gva: number): void {}

  /** The EPT does not depend on the guest's CR3. */
  newCr3(_vcpu: number, _cr3: number): void {}

  /** {@inheritDoc PagingModel.writeProtectGfn} */
  writeProtectGfn(gfn: number, tracking: boolean): number {
    return this.tdp.writeProtectGfn(gfn, tracking) ? this.tdp.hitLevel : 0;
  }

  /** {@inheritDoc PagingModel.startDirtyLog} */
  startDirtyLog(start: number, end: number, eagerSplit: boolean): number {
    const splits = eagerSplit ? this.tdp.splitRange(start, end) : 0;
    return splits + this.tdp.writeProtectRange(start, end, false);
  }

  /** {@inheritDoc PagingModel.collapseRange} */
  collapseRange(
    start: number,
    end: number,
    maxLevel: (gfn: number) => number,
    recovery: DirtyLogRecovery,
  ): number {
    if (recovery === "zap") return this.tdp.zapCollapsible(start, end, maxLevel);
    const fresh = recovery === "in_place" ? (gfn: number) => this.#freshHuge(gfn) : undefined;
    return this.tdp.recoverRange(start, end, maxLevel, fresh);
  }

  /** Zaps the leaves over `[start, end)` (kvm_tdp_mmu_zap_leafs). */
  zapRange(start: number, end: number): number {
    return this.tdp.zapRange(start, end);
  }

  /** Replaces the root (every vCPU uses the new one at its next access). */
  zapAll(): number {
    return this.tdp.zapAll();
  }

  /** Zaps every leaf, keeping the root. */
  zapAllGfns(): number {
    return this.tdp.zapRange(0, MAX_GFN);
  }
}
