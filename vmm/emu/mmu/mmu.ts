/**
 * The emulator's memory model as the CPU sees it: {@linkcode Mmu}
 * implements {@linkcode MmuPort}. It owns what both paging models share
 * (memslots, counters, caps, memory types, write tracking, the vCPUs' TLBs,
 * host-page faults and exits) and delegates a TLB miss, `invlpg`, CR3 loads
 * and tracked writes to its {@linkcode PagingModel}, chosen once at creation:
 * {@linkcode TdpPaging} (EPT) or {@linkcode ShadowMmu} (`mmu shadow`).
 *
 * @module
 */
import type { MmuMode } from "../../types.ts";
import type { Access, CpuTlb, MmuExit, MmuPort, PagingState, TranslateResult } from "../port.ts";
import { type EmuStats, M, V } from "../stats.ts";
import { MemslotTable } from "../memory/memslots.ts";
import {
  type Memslot,
  SLOT_ABSENT_FAULT,
  SLOT_DIRTY_LOG,
  SLOT_NONCOHERENT,
} from "../memory/memslot.ts";
import type { GuestWalker } from "./page_walk.ts";
import { MemtypePolicy, patEntry } from "./memtype.ts";
import {
  markDirty,
  type MmuContext,
  type PagingModel,
  RES_EFAULT,
  RES_MEMORY_FAULT,
  RES_MMIO,
  RES_OK,
  RES_UFFD,
} from "./paging_model.ts";
import { ShadowMmu } from "./shadow_mmu.ts";
import { TdpPaging } from "./tdp_paging.ts";
import { WriteTracking } from "./write_track.ts";
import { EmuCapState } from "../../caps/cap.ts";
import { TimeModel } from "../time/model.ts";

/** The memory model of one emulated VM. */
export class Mmu implements MmuPort, MmuContext {
  /** Memslots. */
  readonly slots: MemslotTable = new MemslotTable();
  /** Counters. */
  readonly stats: EmuStats;
  /** Capability state (set by the capability modules of `vmm/caps/`). */
  readonly caps: EmuCapState = new EmuCapState();
  /** Memory-type policy. */
  readonly memtype: MemtypePolicy = new MemtypePolicy();
  /** Page write tracking (policy, external trackers). */
  readonly tracking: WriteTracking;
  /** The paging model (TDP or shadow), chosen at creation. */
  readonly paging: PagingModel;
  /** Slots served by the modelled userfaultfd (`demand uffd`). */
  readonly uffdSlots: Set<Memslot> = new Set();
  /** The vCPUs' TLBs, kept coherent with every SPTE change. */
  cpus: CpuTlb[] = [];
  /** Modelled time: the clocks and shared resources. */
  readonly time: TimeModel;

  /**
   * Creates the instance.
   * @param stats the VM's counters
   * @param mode the paging model: `tdp` (EPT, the default) or `shadow`
   */
  constructor(stats: EmuStats, mode: MmuMode = "tdp") {
    this.stats = stats;
    this.time = new TimeModel(stats.vcpu.length);
    this.tracking = new WriteTracking(this);
    this.paging = mode === "shadow" ? new ShadowMmu(this) : new TdpPaging(this);
  }

  /** Count one remote TLB flush request (every flush below is one). */
  #countFlush(): void {
    this.stats.vm[M.remote_tlb_flush]++;
    this.stats.vm[M.remote_tlb_flush_requests]++;
    this.time.flush();
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
    if (vcpu === 0) {
      this.memtype.cr0 = paging.cr0;
      this.memtype.mtrr = paging.mtrr ?? null;
    }
    return this.paging.translate(vcpu, paging, gva, access);
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

  /**
   * The host mapping of slot page `rel` is absent: exit (an `absent_fault` slot),
   * wait for the modelled userfaultfd handler, or let the host kernel supply it.
   */
  faultInHost(vs: Float64Array, slot: Memslot, rel: number): number {
    if ((slot.flags & SLOT_ABSENT_FAULT) !== 0) {
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
      this.time.faultRefund(this.paging.mode === "shadow");
      return RES_UFFD;
    }
    slot.host.populate(rel, 1); // the host kernel faults the page in
    this.time.populate(1, false);
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
  trackedWrite(_vcpu: number, gpa: number, len: number): void {
    const gfn = Math.floor(gpa / 4096);
    const slot = this.slots.find(gfn);
    if (slot !== null) this.notifyWrite(slot, gpa, len);
  }

  /** An emulated write landed in `slot` at `gpa`: dirty log, page-track notifiers, the model. */
  notifyWrite(slot: Memslot, gpa: number, len: number): void {
    const gfn = Math.floor(gpa / 4096);
    if ((slot.flags & SLOT_DIRTY_LOG) !== 0) markDirty(slot, gfn - slot.baseGfn);
    if (this.tracking.isExternal(gfn)) this.stats.vm[M.track_notifications]++;
    this.paging.trackWrite(gpa, len);
  }

  /** {@inheritDoc MmuPort.invlpg} */
  invlpg(vcpu: number, gva: number): void {
    this.stats.vcpu[vcpu][V.invlpg]++;
    this.paging.invlpg(vcpu, gva);
  }

  /** {@inheritDoc MmuPort.newCr3} */
  newCr3(vcpu: number, cr3: number): void {
    this.paging.newCr3(vcpu, cr3);
  }
}
