/**
 * The time model of one emulated VM: the clocks ({@linkcode ModelClock}) and
 * the shared resources (`mmu_lock`, the mm's lock, each userfaultfd, the host
 * CPUs), behind the one small interface the MMU charges through
 * ({@linkcode Charger}). Every charge goes to the clock's current actor;
 * waiting for a busy resource moves that clock forward and counts the wait.
 *
 * @module
 */
import { COSTS } from "./costs.ts";
import { ModelClock, T } from "./clock.ts";
import { Pool, RwLock } from "./resources.ts";
import { UffdQueue } from "./uffd.ts";

/** What the MMU charges through (one call per modelled kernel operation). */
export interface Charger {
  /** An EPT violation (or, `shadow`, a shadow #PF) taken and fixed: exit, handler, re-entry. */
  fault(shadow: boolean): void;
  /** Undo {@linkcode Charger.fault}: the fault blocks in the kernel and its retry is the one counted. */
  faultRefund(shadow: boolean): void;
  /**
   * Install (or make writable) one SPTE on the fault slow path, under
   * mmu_lock for read (the TDP MMU), or for write when `exclusive` (the
   * shadow MMU).
   */
  install(exclusive?: boolean): void;
  /** Split `n` huge SPTEs on a fault, under mmu_lock for read. */
  split(n: number): void;
  /** The host kernel populates `pages` 4 KiB pages (`huge`: 2 MiB pages), under the mm's lock for read. */
  populate(pages: number, huge: boolean): void;
  /** One remote TLB flush request: the requester waits for every other vCPU, each flushes. */
  flush(): void;
  /** Host-side work of `ns` under mmu_lock for write, counted as part `part` (zap, flush, fault). */
  underWriteLock(ns: number, part: number): void;
  /** `n` SPTEs zapped, under mmu_lock for write. */
  zapped(n: number): void;
  /** Host-side work of `ns` without mmu_lock (an ioctl's own cost). */
  host(ns: number): void;
}

/** The clocks and resources of one emulated VM. */
export class TimeModel implements Charger {
  /** The clocks. */
  readonly clock: ModelClock;
  /** mmu_lock (read/write, as the TDP MMU takes it). */
  readonly mmuLock: RwLock = new RwLock();
  /** The mm's lock for populating pages. */
  readonly mmLock: RwLock = new RwLock();
  /** Host CPUs when fewer than the threads (`host_cpus N`); null: one per thread. */
  hostCpus: Pool | null = null;
  /** The userfaultfd of each slot served by `demand uffd`, by slot id. */
  readonly uffds: Map<number, UffdQueue> = new Map();
  // The host CPU each vCPU holds during its quantum (-1: none).
  readonly #cpuOf: Int32Array;
  readonly #cpuFrom: Float64Array;

  /**
   * Creates the instance.
   * @param vcpus number of vCPUs
   */
  constructor(vcpus: number) {
    this.clock = new ModelClock(vcpus);
    this.#cpuOf = new Int32Array(vcpus).fill(-1);
    this.#cpuFrom = new Float64Array(vcpus);
  }

  /** `host_cpus N`: the host has `n` CPUs for the vCPUs and handler threads. */
  setHostCpus(n: number): void {
    this.hostCpus = new Pool(n);
  }

  /** Take mmu_lock for read now for `ns` of part `part`; the wait is counted. */
  #read(lock: RwLock, ns: number, part: number): void {
    const c = this.clock;
    const t = c.now();
    const hold = ns + COSTS.mmuLockUncontended.ns;
    const start = lock.read(t, hold);
    if (start > t) c.charge(T.lock_wait, start - t);
    c.charge(part, hold);
  }

  /** {@inheritDoc Charger.fault} */
  fault(shadow: boolean): void {
    this.clock.charge(T.fault, shadow ? COSTS.shadowFaultFixed.ns : COSTS.eptViolationFixed.ns);
  }

  /** {@inheritDoc Charger.faultRefund} */
  faultRefund(shadow: boolean): void {
    this.clock.charge(T.fault, -(shadow ? COSTS.shadowFaultFixed.ns : COSTS.eptViolationFixed.ns));
  }

  /** {@inheritDoc Charger.install} */
  install(exclusive = false): void {
    if (exclusive) this.underWriteLock(COSTS.spteInstall.ns, T.fault);
    else this.#read(this.mmuLock, COSTS.spteInstall.ns, T.fault);
  }

  /** {@inheritDoc Charger.split} */
  split(n: number): void {
    if (n > 0) this.#read(this.mmuLock, n * COSTS.hugePageSplit.ns, T.fault);
  }

  /** {@inheritDoc Charger.populate} */
  populate(pages: number, huge: boolean): void {
    if (pages <= 0) return;
    const per = huge ? COSTS.hostPopulate2m.ns : COSTS.hostPopulate4k.ns;
    this.#read(this.mmLock, pages * per, T.fault);
  }

  /** {@inheritDoc Charger.flush} */
  flush(): void {
    const c = this.clock;
    const me = c.actor;
    const others = me < c.vcpus ? c.vcpus - 1 : c.vcpus;
    c.charge(T.tlb_flush, COSTS.tlbFlushLocal.ns + others * COSTS.tlbFlushRemotePerVcpu.ns);
    for (let v = 0; v < c.vcpus; v++) {
      if (v !== me) c.charge(T.tlb_flush, COSTS.tlbFlushLocal.ns, v);
    }
  }

  /** {@inheritDoc Charger.underWriteLock} */
  underWriteLock(ns: number, part: number): void {
    const c = this.clock;
    const t = c.now();
    const hold = ns + COSTS.mmuLockUncontended.ns;
    const start = this.mmuLock.write(t, hold);
    if (start > t) c.charge(T.lock_wait, start - t);
    c.charge(part, hold);
  }

  /** {@inheritDoc Charger.zapped} */
  zapped(n: number): void {
    if (n > 0) this.underWriteLock(n * COSTS.spteZap.ns, T.zap);
  }

  /** {@inheritDoc Charger.host} */
  host(ns: number): void {
    this.clock.charge(T.modelled, ns);
  }

  /**
   * `demand uffd SLOT [minor] handlers N`: the slot's userfaultfd gets
   * `handlers` threads (that CONTINUE rather than copy, with `minor`).
   */
  registerUffd(slotId: number, handlers: number, minor = false): void {
    this.uffds.set(slotId, new UffdQueue(handlers, this.clock.vcpus, minor));
  }

  /**
   * vCPU `v` faulted on a page of slot `slotId`'s userfaultfd: it leaves its
   * host CPU and sleeps until the handler's wake-up; its clock moves to when
   * it runs again (the queue lock's wait as `lock_wait_ns`, the rest as
   * `uffd_wait_ns`).
   */
  uffdFault(v: number, slotId: number): void {
    const q = this.uffds.get(slotId);
    if (q === undefined) return;
    const c = this.clock;
    const t = c.now(v);
    this.releaseCpu(v);
    const s = q.serve(v, t, this.mmLock, this.hostCpus);
    const lockWait = s.queued - COSTS.waitQueueScanPerWaiter.ns - t;
    if (lockWait > 0) c.charge(T.lock_wait, lockWait, v);
    c.waitUntil(s.resumed, T.uffd_wait, v);
  }

  /** vCPU `v` starts a quantum: it needs a host CPU (when they are fewer than threads). */
  takeCpu(v: number): void {
    const p = this.hostCpus;
    if (p === null) return;
    const t = this.clock.now(v);
    const k = p.pick(t, 0);
    this.clock.waitUntil(p.servers[k].peek(t, 0), T.lock_wait, v);
    this.#cpuOf[v] = k;
    this.#cpuFrom[v] = this.clock.now(v);
  }

  /** vCPU `v` leaves its host CPU (end of quantum, or sleeping). */
  releaseCpu(v: number): void {
    const k = this.#cpuOf[v];
    if (k < 0 || this.hostCpus === null) return;
    this.hostCpus.servers[k].hold(this.#cpuFrom[v], this.clock.now(v));
    this.#cpuOf[v] = -1;
  }

  /** A run starts: its vCPUs were resumed after the VMM's steps, so none starts before its clock. */
  startRun(ids: readonly number[]): void {
    const c = this.clock;
    const vmm = c.now(c.vmm);
    for (const v of ids) c.idleUntil(vmm, v);
  }

  /** A run ended: the VMM goes on once the last of its vCPUs stopped. */
  endRun(ids: readonly number[]): void {
    const c = this.clock;
    c.actor = c.vmm;
    for (const v of ids) c.idleUntil(c.now(v), c.vmm);
  }

  /** vCPU `v` runs a quantum (it acts, on a host CPU). */
  beginQuantum(v: number): void {
    this.clock.actor = v;
    this.takeCpu(v);
  }

  /** vCPU `v`'s quantum ended. */
  endQuantum(v: number): void {
    this.releaseCpu(v);
    this.clock.actor = this.clock.vmm;
  }

  /** vCPU `v` exits to userspace (`ns`: the round trip), counted as `userspace_ns`. */
  userspaceExit(v: number, ns: number): void {
    this.clock.charge(T.userspace, ns, v);
  }

  /**
   * A handler for vCPU `v`'s exit runs: on the vCPU's own thread when `own`
   * (a memory-fault exit, served where it arose), else on the VMM thread,
   * which starts on it no earlier than the exit.
   */
  enterHandler(v: number, own: boolean): void {
    const c = this.clock;
    if (own) {
      c.actor = v;
      return;
    }
    c.idleUntil(c.now(v), c.vmm);
    c.actor = c.vmm;
  }

  /** The handler of vCPU `v`'s exit is done: the vCPU waited for the VMM's reply (`userspace_ns`). */
  leaveHandler(v: number, own: boolean): void {
    const c = this.clock;
    if (!own) c.waitUntil(c.now(c.vmm), T.userspace, v);
    c.actor = c.vmm;
  }
}
