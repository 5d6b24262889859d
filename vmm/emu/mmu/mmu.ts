/**
 * The emulator's memory model as the CPU sees it: {@linkcode Mmu}
 * implements {@linkcode MmuPort}. A TLB miss comes here; the guest page
 * walk runs (its PTE reads go through the SPTEs, like the hardware
 * walker's EPT accesses), then the GPA is resolved through the SPTE tree,
 * taking an "EPT violation" (`pf_taken`) when the SPTE is missing or lacks
 * the permission, which the fault handler fixes, emulates, or turns into an
 * exit, as KVM's `kvm_mmu_do_page_fault` does.
 *
 * @module
 */
import {
  type Access,
  ACCESS_WRITE,
  type CpuTlb,
  type MmuExit,
  type MmuPort,
  type PagingState,
  type TranslateResult,
} from "../port.ts";
import { type EmuStats, M, V } from "../stats.ts";
import { MemslotTable } from "../memory/memslots.ts";
import { PageTranslation } from "../memory/host_memory.ts";
import {
  type Memslot,
  SLOT_ABSENT_FAULT,
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
import { MemtypePolicy, patEntry } from "./memtype.ts";
import type { ShadowMmu } from "./shadow_mmu.ts";
import { WriteTracking } from "./write_track.ts";
import { EmuCapState } from "../../caps/cap.ts";

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

const WB_IPAT = (6 << SPTE_MT_SHIFT) | SPTE_IPAT;
const WB = 6 << SPTE_MT_SHIFT;

/** The memory model of one emulated VM. */
export class Mmu implements MmuPort {
  /** Memslots. */
  readonly slots: MemslotTable = new MemslotTable();
  /** The EPT tree (unused under the shadow MMU). */
  readonly tdp: TdpMmu;
  /** Counters. */
  readonly stats: EmuStats;
  /** Capability state (set by the capability modules of `vmm/caps/`). */
  readonly caps: EmuCapState = new EmuCapState();
  /** Memory-type policy. */
  readonly memtype: MemtypePolicy = new MemtypePolicy();
  /** Page write tracking (policy, external trackers). */
  readonly tracking: WriteTracking;
  /** The shadow MMU when `mmu shadow`, else null. */
  shadow: ShadowMmu | null = null;
  /** Slots served by the modelled userfaultfd (`demand uffd`). */
  readonly uffdSlots: Set<Memslot> = new Set();
  /** The vCPUs' TLBs, kept coherent with every SPTE change. */
  cpus: CpuTlb[] = [];

  readonly #walker: GuestWalker;
  #vs: Float64Array;
  /** Outputs of {@linkcode Mmu.resolve}: the page's index in {@linkcode Mmu.slot}'s host memory. */
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
   * @param stats the VM's counters
   */
  constructor(stats: EmuStats) {
    this.stats = stats;
    this.tdp = new TdpMmu(stats.vm);
    this.tracking = new WriteTracking(this);
    this.#vs = stats.vcpu[0];
    this.#walker = new GuestWalker((gfn, write) => this.#ptPage(gfn, write), this.tdp);
  }

  /** Count one remote TLB flush request (every flush below is one). */
  #countFlush(): void {
    this.stats.vm[M.remote_tlb_flush]++;
    this.stats.vm[M.remote_tlb_flush_requests]++;
  }

  /** Ask every vCPU to drop its TLB (one remote flush request). */
  flushAll(): void {
    this.#countFlush();
    for (const c of this.cpus) c.flushTlb();
  }

  /** Ask every vCPU to drop cached translations of `gfn`. */
  flushGfn(gfn: number): void {
    this.#countFlush();
    for (const c of this.cpus) c.flushGfn(gfn);
  }

  /** {@inheritDoc MmuPort.translate} */
  translate(vcpu: number, paging: PagingState, gva: number, access: Access): TranslateResult {
    const vs = this.#vs = this.stats.vcpu[vcpu];
    if (vcpu === 0) this.memtype.cr0 = paging.cr0;
    if (this.shadow !== null) return this.shadow.translate(vcpu, paging, gva, access);
    const w = this.#walker;
    const r = w.walk(paging, gva, access);
    if (r !== WALK_OK) {
      if (r === WALK_FAULT) return { exit: "guest_fault", vector: 14, gva: w.gva };
      return this.exitFor(this.#ptExit, this.#ptGpa, true);
    }
    const gpa = w.gpa;
    const gfn = Math.floor(gpa / 4096);
    const res = this.resolve(vs, gfn, access);
    if (res !== RES_OK) return this.exitFor(res, gpa, false);
    this.noteGuestMemtype(this.slot!, gfn, w, paging);
    // A refill of a mapped page reuses a cached Translation (no allocation);
    // a fault returns a fresh one, which dies young.
    if (this.hit) return this.slot!.host.translation(this.rel, gfn);
    return new PageTranslation(this.slot!.host, this.rel, gfn, this.direct);
  }

  /**
   * Remember the guest PAT type the walk `w` produced for `gfn`, where guest
   * PAT matters (a `noncoherent_dma` slot, or all memory): the type depends
   * on the guest mapping, so the last one seen wins.
   */
  noteGuestMemtype(slot: Memslot, gfn: number, w: GuestWalker, paging: PagingState): void {
    if ((slot.flags & SLOT_NONCOHERENT) !== 0 || this.memtype.honorAll) {
      this.memtype.record(gfn, w.level === 0 ? 6 : patEntry(paging.pat, w.patIndex));
    }
  }

  /** The exit object for a resolution code. */
  exitFor(res: number, gpa: number, pageTable: boolean): MmuExit {
    if (res === RES_MMIO && !pageTable) return { exit: "mmio", gpa };
    if (res === RES_MEMORY_FAULT) {
      return {
        exit: "memory_fault",
        gpa: Math.floor(gpa / 4096) * 4096,
        size: 4096,
        flags: ["absent_mapping"],
      };
    }
    if (res === RES_UFFD) return { exit: "uffd_wait", gpa: Math.floor(gpa / 4096) * 4096 };
    return { exit: "errno", errno: "EFAULT", gpa };
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
    if (write && !this.direct) this.notifyWrite(this.#vs, this.slot!, gfn * 4096, 8);
    if (!write && this.#ptEpoch === this.tdp.epoch) {
      this.#ptGfn[slotIdx] = gfn;
      this.#ptPages[slotIdx] = page;
    }
    return page;
  }

  /**
   * Resolve guest frame `gfn` for `access` through the SPTEs; on success
   * {@linkcode Mmu.rel}, {@linkcode Mmu.direct} and {@linkcode Mmu.slot}
   * hold the result. Hot path: no allocation on a hit.
   */
  resolve(vs: Float64Array, gfn: number, access: number): number {
    const tdp = this.tdp;
    const e = tdp.lookup(gfn);
    if ((e & SPTE_R) !== 0) {
      if (access !== ACCESS_WRITE || (e & SPTE_W) !== 0) {
        const slot = this.slot = this.slots.find(gfn)!;
        this.rel = gfn - slot.baseGfn;
        this.direct = true;
        this.hit = true;
        return RES_OK;
      }
    } else if (
      (e & SPTE_MMIO) !== 0 &&
      ((e >>> SPTE_GEN_SHIFT) & SPTE_GEN_MASK) === (this.slots.generation & SPTE_GEN_MASK)
    ) {
      return RES_MMIO; // handle_mmio_page_fault: an EPT misconfig, not counted as pf_taken
    }
    this.hit = false;
    return this.#fault(vs, gfn, access, e);
  }

  /** The EPT-violation handler (kvm_tdp_page_fault). */
  #fault(vs: Float64Array, gfn: number, access: number, e: number): number {
    vs[V.pf_taken]++;
    const slot = this.slots.find(gfn);
    if (slot === null || slot.invalid) {
      this.tdp.map(gfn, 1, SPTE_MMIO | ((this.slots.generation & SPTE_GEN_MASK) << SPTE_GEN_SHIFT));
      this.stats.vm[M.pages_4k]--; // an MMIO SPTE is not a mapping
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
      const max = this.maxLevel(slot, gfn);
      if (tdp.hitLevel > max) tdp.splitTo(gfn, max);
      else tdp.lookup(gfn);
      const t = tdp.hitTable.spte;
      const i = tdp.hitIndex;
      if ((t[i] & SPTE_MMU_WRITABLE) !== 0) vs[V.pf_fast]++;
      t[i] |= SPTE_W | SPTE_MMU_WRITABLE | SPTE_D;
      if ((flags & SLOT_DIRTY_LOG) !== 0) markDirty(slot, rel);
      vs[V.pf_fixed]++;
      this.slot = slot;
      this.rel = rel;
      this.direct = true;
      return RES_OK;
    }
    const host = slot.host;
    if (host.absent && !host.isPresent(rel)) {
      const r = this.faultInHost(vs, slot, rel);
      if (r !== RES_OK) return r;
    }
    let f = SPTE_R | SPTE_X | SPTE_A |
      ((flags & SLOT_NONCOHERENT) !== 0 || this.memtype.honorAll ? WB : WB_IPAT);
    if ((flags & SLOT_READONLY) === 0 && !tracked) {
      f |= SPTE_MMU_WRITABLE;
      // Dirty logging maps a read fault read-only so that the bitmap only
      // shows written pages (see docs: KVM marks it dirty when the host
      // page is already writable).
      if (write || (flags & SLOT_DIRTY_LOG) === 0) f |= SPTE_W;
    }
    if (write) f |= SPTE_D;
    tdp.mapAfterLookup(gfn, this.maxLevel(slot, gfn), f);
    if (write && (flags & SLOT_DIRTY_LOG) !== 0) markDirty(slot, rel);
    vs[V.pf_fixed]++;
    this.slot = slot;
    this.rel = rel;
    this.direct = true;
    return RES_OK;
  }

  /**
   * The host mapping of slot page `rel` is absent: exit (memory_fault_nowait),
   * wait for the modelled userfaultfd handler, or let the host kernel supply it.
   */
  faultInHost(vs: Float64Array, slot: Memslot, rel: number): number {
    if ((slot.flags & SLOT_ABSENT_FAULT) !== 0 && this.caps.memoryFaultNowait) {
      if (!this.caps.memoryFaultExit) return RES_EFAULT;
      vs[V.memory_fault_exits]++;
      return RES_MEMORY_FAULT;
    }
    if (this.uffdSlots.has(slot)) {
      // A missing-page event on the shared queue: the vCPU stops until a
      // handler (the run loop, at the vCPU's next turn) copies the page in.
      vs[V.uffd_faults]++;
      // In KVM this one EPT violation blocks in the kernel until the page
      // arrives; the retry counts it, so this attempt does not.
      vs[V.pf_taken]--;
      return RES_UFFD;
    }
    slot.host.populate(rel, 1); // the host kernel faults the page in
    return RES_OK;
  }

  /** Drop cached translations of several frames with one remote flush request. */
  flushGfns(gfns: readonly number[]): void {
    if (gfns.length === 0) return;
    this.#countFlush();
    for (const c of this.cpus) for (const g of gfns) c.flushGfn(g);
  }

  /** kvm_mmu_max_mapping_level for `gfn` in `slot`: host page size, lpage_info, dirty logging. */
  maxLevel(slot: Memslot, gfn: number): number {
    if ((slot.flags & SLOT_DIRTY_LOG) !== 0 || slot.host.absent) return 1;
    let l = slot.hostLevel;
    if (l === 3) {
      if (slot.lpage1g[Math.floor(gfn / 262144) - Math.floor(slot.baseGfn / 262144)] === 0) {
        return 3;
      }
      l = 2;
    }
    if (l === 2) {
      if (slot.lpage2m[Math.floor(gfn / 512) - Math.floor(slot.baseGfn / 512)] === 0) return 2;
    }
    return 1;
  }

  /** {@inheritDoc MmuPort.trackedWrite} */
  trackedWrite(vcpu: number, gpa: number, len: number): void {
    const gfn = Math.floor(gpa / 4096);
    const slot = this.slots.find(gfn);
    if (slot !== null) this.notifyWrite(this.stats.vcpu[vcpu], slot, gpa, len);
  }

  /** An emulated write landed in `slot` at `gfn`: dirty log and page-track notifiers. */
  notifyWrite(vs: Float64Array, slot: Memslot, gpa: number, len: number): void {
    const gfn = Math.floor(gpa / 4096);
    if ((slot.flags & SLOT_DIRTY_LOG) !== 0) markDirty(slot, gfn - slot.baseGfn);
    if (this.tracking.isExternal(gfn)) this.stats.vm[M.track_notifications]++;
    if (this.shadow !== null) this.shadow.ptWrite(vs, gpa, len);
  }

  /** {@inheritDoc MmuPort.invlpg} */
  invlpg(vcpu: number, gva: number): void {
    this.stats.vcpu[vcpu][V.invlpg]++;
    if (this.shadow !== null) this.shadow.invlpg(vcpu, gva);
  }

  /** {@inheritDoc MmuPort.newCr3} */
  newCr3(vcpu: number, cr3: number): void {
    if (this.shadow !== null) this.shadow.newCr3(vcpu, cr3);
  }
}

/** Set the dirty bit of slot page `rel` (mark_page_dirty_in_slot). */
export function markDirty(slot: Memslot, rel: number): void {
  const d = slot.dirty;
  if (d !== null) d[rel >>> 5] |= 1 << (rel & 31);
}
