/**
 * Page write tracking: the `gfn_write_track` counters, the allocation
 * policy of proposal 1 (`on` / `off` / `on_demand`), and external trackers
 * (the KVMGT-style user that write-protects chosen GFNs and is notified of
 * every guest write to them).
 *
 * Policy changes: the errno rules of `on` and `off` are the capability's
 * (`vmm/caps/page_write_tracking.ts`, the seed's order), which reads
 * {@linkcode WriteTracking.mmuNeedsTracking} and
 * {@linkcode WriteTracking.hasExternalUser}; `on_demand` may be set at any
 * time and never frees what was allocated, as KVM never frees the array.
 *
 * @module
 */
import type { Charger } from "../time/model.ts";
import { COSTS } from "../time/costs.ts";
import { T } from "../time/clock.ts";
import { ERRNO_NUMBERS, ErrnoError } from "../../errors.ts";
import type { Memslot } from "../memory/memslot.ts";
import type { MemslotTable } from "../memory/memslots.ts";
import type { PagingModel } from "./paging_model.ts";

/** What write tracking uses of the VM's memory model (`Mmu` implements it). */
export interface TrackingHost {
  /** Memslots. */
  readonly slots: MemslotTable;
  /** The paging model (write-protects frames; may track guest page tables itself). */
  readonly paging: PagingModel;
  /** Ask every vCPU to drop its TLB (one remote flush request). */
  flushAll(): void;
  /** Ask every vCPU to drop cached translations of `gfn`. */
  flushGfn(gfn: number): void;
  /** Drop cached translations of several frames with one remote flush request. */
  flushGfns(gfns: readonly number[]): void;
  /** Modelled time (write-protecting is charged to whoever does it). */
  readonly time: Charger;
}

/** Write-protecting `n` SPTEs, under mmu_lock for write. */
function chargeProtect(time: Charger, n: number): void {
  if (n > 0) time.underWriteLock(n * COSTS.writeProtectSpte.ns, T.zap);
}

/** The write-tracking allocation policy. */
export type TrackingPolicy = "on" | "off" | "on_demand";

const { EINVAL, EEXIST } = ERRNO_NUMBERS;

interface Tracker {
  gfn: number;
  npages: number;
}

/** Write tracking of one VM. */
export class WriteTracking {
  /** Current policy (default `on`, the proposal's default). */
  policy: TrackingPolicy = "on";
  readonly #mmu: TrackingHost;
  readonly #trackers = new Map<string, Tracker>();

  /**
   * Creates the instance.
   * @param mmu the owning memory model
   */
  constructor(mmu: TrackingHost) {
    this.#mmu = mmu;
  }

  /** Whether a slot created now gets `gfn_write_track` (kvm_page_track_write_tracking_enabled). */
  get enabled(): boolean {
    return this.policy === "on" || this.#mmu.paging.tracksGuestTables ||
      (this.policy === "on_demand" && this.#trackers.size > 0);
  }

  /** The MMU needs tracking itself (shadow paging; the model has no shadow root under TDP). */
  get mmuNeedsTracking(): boolean {
    return this.#mmu.paging.tracksGuestTables;
  }

  /** Whether an external tracker is registered (kvm_page_track_has_external_user). */
  get hasExternalUser(): boolean {
    return this.#trackers.size > 0;
  }

  /** Set the policy once the capability's rules passed; `on` allocates for existing slots. */
  setPolicy(value: TrackingPolicy): void {
    this.policy = value;
    this.#allocIfEnabled();
  }

  /** Give every slot its `gfn_write_track` once the policy (or a tracker) enables tracking. */
  #allocIfEnabled(): void {
    if (this.enabled) { for (const s of this.#mmu.slots.slots) s.allocWriteTrack(); }
  }

  /** Whether an external tracker covers `gfn`. */
  isExternal(gfn: number): boolean {
    for (const t of this.#trackers.values()) {
      if (gfn >= t.gfn && gfn < t.gfn + t.npages) return true;
    }
    return false;
  }

  /** kvm_page_track_register_notifier + kvm_write_track_add_gfn over a range. */
  register(name: string, gpa: bigint, size: bigint): void {
    const op = "KVM_PAGE_TRACK_ADD";
    if (this.policy === "off" && !this.#mmu.paging.tracksGuestTables) {
      throw new ErrnoError(op, EINVAL, "page_write_tracking is off");
    }
    if (this.#trackers.has(name)) throw new ErrnoError(op, EEXIST, `tracker ${name} exists`);
    if (size <= 0n || gpa % 4096n !== 0n || size % 4096n !== 0n) {
      throw new ErrnoError(op, EINVAL, "tracked range must be non-empty and 4 KiB aligned");
    }
    const gfn = Number(gpa / 4096n);
    const npages = Number(size / 4096n);
    for (let g = gfn; g < gfn + npages;) {
      const s = this.#mmu.slots.find(g);
      if (s === null) {
        throw new ErrnoError(op, EINVAL, `gpa 0x${(g * 4096).toString(16)} is in no memslot`);
      }
      g = s.baseGfn + s.npages;
    }
    this.#trackers.set(name, { gfn, npages });
    this.#allocIfEnabled();
    // One flush request for the whole range (a TLB entry per page would be
    // quadratic for a large range).
    const flush: number[] = [];
    let huge = false;
    for (let g = gfn; g < gfn + npages; g++) {
      const lvl = this.#protect(this.#mmu.slots.find(g)!, g);
      if (lvl > 0) flush.push(g);
      if (lvl > 1) huge = true;
    }
    chargeProtect(this.#mmu.time, flush.length);
    if (huge || flush.length > 64) this.#mmu.flushAll();
    else this.#mmu.flushGfns(flush);
  }

  /** Unregister a tracker and drop its counts. */
  unregister(name: string): void {
    const t = this.#trackers.get(name);
    if (t === undefined) {
      throw new ErrnoError("KVM_PAGE_TRACK_REMOVE", EINVAL, `no tracker named ${name}`);
    }
    this.#trackers.delete(name);
    for (let g = t.gfn; g < t.gfn + t.npages; g++) {
      const s = this.#mmu.slots.find(g);
      if (s !== null) this.remove(s, g);
    }
  }

  /**
   * kvm_write_track_add_gfn: count up, disallow huge pages over the frame,
   * write-protect its SPTE and flush it from every TLB.
   */
  add(slot: Memslot, gfn: number): void {
    const lvl = this.#protect(slot, gfn);
    if (lvl > 0) chargeProtect(this.#mmu.time, 1);
    // A huge leaf lost W for its whole range: flush all of it, as
    // kvm_flush_remote_tlbs_gfn does with the leaf's level.
    if (lvl > 1) this.#mmu.flushAll();
    else if (lvl === 1) this.#mmu.flushGfn(gfn);
  }

  /** Count up and write-protect; returns the level of the leaf that lost W (0: none). */
  #protect(slot: Memslot, gfn: number): number {
    const wt = slot.writeTrack!;
    const rel = gfn - slot.baseGfn;
    if (wt[rel]++ !== 0) return 0;
    slot.adjustDisallow(rel, 1);
    return this.#mmu.paging.writeProtectGfn(gfn, true);
  }

  /** kvm_write_track_remove_gfn: count down; the SPTE is re-enabled by the next write fault. */
  remove(slot: Memslot, gfn: number): void {
    const wt = slot.writeTrack;
    const rel = gfn - slot.baseGfn;
    if (wt === null || wt[rel] === 0) return;
    if (--wt[rel] === 0) slot.adjustDisallow(rel, -1);
  }

  /** Forget trackers (VM teardown). */
  clear(): void {
    this.#trackers.clear();
  }
}
