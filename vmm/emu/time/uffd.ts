/**
 * One userfaultfd in modelled time: its wait queue (`fault_wqh`) and the
 * queue's lock, and its handler threads. A vCPU's missing-page fault adds
 * it to the queue under the lock, the message wakes a free handler, the
 * handler copies the page in (under the mm's lock, for read) and wakes the
 * range: under the queue's lock it visits every waiter, so the wake-up of one
 * page costs more the more vCPUs wait, and every fault and wake-up of the
 * queue takes turns on that one lock. Neither effect is a constant: they come
 * from the waiters present at each wake-up. In MINOR mode the handler maps
 * the page already in the page cache (UFFDIO_CONTINUE) instead of copying one.
 *
 * @module
 */
import { COSTS } from "./costs.ts";
import { Mutex, Pool, type RwLock } from "./resources.ts";

/** When each step of one served fault happened (ns on the modelled clocks). */
export interface UffdService {
  /** The vCPU's entry in the queue was added (after waiting for the queue's lock). */
  queued: number;
  /** The handler started on the message (after waiting for a free handler and CPU). */
  handled: number;
  /** The wake-up scan started (after the copy or CONTINUE and waiting for the queue's lock). */
  wakeScan: number;
  /** Waiters the wake-up visited. */
  waiters: number;
  /** The vCPU runs again. */
  resumed: number;
}

/** A modelled userfaultfd with its handler threads. */
export class UffdQueue {
  /** The wait queue's lock. */
  readonly lock: Mutex = new Mutex();
  /** The handler threads. */
  readonly handlers: Pool;
  // Per vCPU: when it joined the queue and when the wake-up took it off (-1: never).
  readonly #from: Float64Array;
  readonly #until: Float64Array;
  /** The handler's work per page: UFFDIO_COPY, or UFFDIO_CONTINUE in MINOR mode. */
  readonly resolveNs: number;

  /**
   * Creates the instance.
   * @param handlers number of handler threads
   * @param vcpus number of vCPUs that may wait on it
   * @param minor MINOR mode: faults are answered with UFFDIO_CONTINUE
   */
  constructor(handlers: number, vcpus: number, minor = false) {
    this.handlers = new Pool(handlers);
    this.resolveNs = minor ? COSTS.uffdioContinue4k.ns : COSTS.uffdioCopy4k.ns;
    this.#from = new Float64Array(vcpus).fill(-1);
    this.#until = new Float64Array(vcpus).fill(-1);
  }

  /** vCPUs waiting in the queue at time `t`. */
  waitersAt(t: number): number {
    let n = 0;
    for (let u = 0; u < this.#from.length; u++) {
      if (this.#from[u] >= 0 && this.#from[u] <= t && t < this.#until[u]) n++;
    }
    return n;
  }

  /**
   * Serve vCPU `v`'s fault at `t`: queue, handler, copy, wake-up scan, resume.
   * `mm` is the mm's lock (the copy takes it for read); `cpus`, when host
   * CPUs are fewer than threads, the host CPUs the handler must get.
   */
  serve(v: number, t: number, mm: RwLock, cpus: Pool | null): UffdService {
    const scanOne = COSTS.waitQueueScanPerWaiter.ns;
    const queued = this.lock.take(t, scanOne) + scanOne;
    this.#from[v] = t;
    this.#until[v] = Infinity;
    const arrival = queued + COSTS.uffdFaultToHandlerWake.ns;
    const copy = this.resolveNs;
    // The handler (and, when they are scarce, a host CPU) free soonest for at least the copy.
    const k = this.handlers.pick(arrival, copy);
    let handled = this.handlers.servers[k].peek(arrival, copy);
    let c = -1;
    if (cpus !== null) {
      c = cpus.pick(handled, copy);
      handled = cpus.servers[c].peek(handled, copy);
    }
    const copied = mm.read(handled, copy) + copy;
    const waiters = this.waitersAt(copied);
    const hold = scanOne * waiters + COSTS.waiterWake.ns;
    const wakeScan = this.lock.take(copied, hold);
    const done = wakeScan + hold;
    this.handlers.servers[k].hold(handled, done);
    if (cpus !== null) cpus.servers[c].hold(handled, done);
    this.#until[v] = done;
    return { queued, handled, wakeScan, waiters, resumed: done + COSTS.uffdVcpuWake.ns };
  }
}
