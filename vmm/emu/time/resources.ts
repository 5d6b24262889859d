/**
 * Shared things as resources in modelled time: a reader-writer lock
 * (`mmu_lock`, the mm's lock), a mutex (a userfaultfd's wait-queue lock) and
 * a pool of servers (handler threads, host CPUs). Each acquisition says when
 * the caller may start (never before it asks) and remembers when it lets go;
 * the wait is the difference, which the caller counts. Nothing here reads
 * wall time, so the same sequence of requests gives the same waits.
 *
 * @module
 */

/** A reader-writer lock in modelled time (readers share it, a writer excludes all). */
export class RwLock {
  /** When the last writer lets go. */
  writeFreeAt = 0;
  /** When the last reader lets go. */
  readFreeAt = 0;

  /**
   * Take it for read at `t` for `hold` ns.
   * @returns when the hold starts (`t` plus the wait)
   */
  read(t: number, hold: number): number {
    const start = t > this.writeFreeAt ? t : this.writeFreeAt;
    const end = start + hold;
    if (end > this.readFreeAt) this.readFreeAt = end;
    return start;
  }

  /**
   * Take it for write at `t` for `hold` ns (after every reader and writer).
   * @returns when the hold starts
   */
  write(t: number, hold: number): number {
    let start = t > this.writeFreeAt ? t : this.writeFreeAt;
    if (this.readFreeAt > start) start = this.readFreeAt;
    this.writeFreeAt = start + hold;
    return start;
  }
}

/**
 * How far back (ns of modelled time) a {@linkcode Mutex} keeps busy
 * intervals. Requests arrive in roughly clock order (the scheduler runs the
 * lowest clock next), so an interval that ended this long before a request
 * can no longer matter.
 */
export const HORIZON_NS = 10_000_000;

/**
 * A mutex in modelled time. Requests may arrive out of clock order (a
 * handler's wake-up is computed when the fault is), so the mutex keeps its
 * busy intervals and grants the earliest gap long enough, not merely the
 * time after the last holder.
 */
export class Mutex {
  // Busy intervals, sorted and disjoint: [start0, end0, start1, end1, …] from #first.
  #iv: number[] = [];
  #first = 0;

  /** When the last granted hold ends (0 when never taken). */
  get freeAt(): number {
    return this.#iv.length > this.#first ? this.#iv[this.#iv.length - 1] : 0;
  }

  /**
   * Take it at `t` for `hold` ns, in the earliest gap at or after `t`.
   * @returns when the hold starts
   */
  take(t: number, hold: number): number {
    const start = this.peek(t, hold);
    this.hold(start, start + hold);
    return start;
  }

  /** When a hold of `hold` ns asked for at `t` would start, without taking it. */
  peek(t: number, hold: number): number {
    const iv = this.#iv;
    let start = t;
    for (let k = this.#after(t); k < iv.length / 2; k++) {
      if (start + hold <= iv[2 * k] && start < iv[2 * k]) break;
      if (iv[2 * k + 1] > start) start = iv[2 * k + 1];
    }
    return start;
  }

  /** Mark `[start, end)` busy (a holder whose length was known only afterwards). */
  hold(start: number, end: number): void {
    if (end <= start) return;
    const iv = this.#iv;
    let k = this.#after(start);
    while (k < iv.length / 2 && iv[2 * k] < start) k++;
    iv.splice(2 * k, 0, start, end);
    this.#prune(start);
  }

  /** Index (in pairs) of the first interval ending after `t`. */
  #after(t: number): number {
    const iv = this.#iv;
    let lo = this.#first / 2, hi = iv.length / 2;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (iv[2 * mid + 1] <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #prune(t: number): void {
    const iv = this.#iv;
    while (this.#first < iv.length && iv[this.#first + 1] < t - HORIZON_NS) this.#first += 2;
    if (this.#first > 4096) {
      iv.splice(0, this.#first);
      this.#first = 0;
    }
  }
}

/** A pool of identical servers (threads or CPUs) in modelled time, each a {@linkcode Mutex}. */
export class Pool {
  /** The servers. */
  readonly servers: Mutex[] = [];

  /**
   * Creates the instance.
   * @param size number of servers (at least 1)
   */
  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`pool size ${size}`);
    for (let i = 0; i < size; i++) this.servers.push(new Mutex());
  }

  /**
   * Occupy the server that can start soonest from `t` for `hold` ns (the
   * lowest index on ties, so the choice is deterministic).
   * @returns when the service starts
   */
  take(t: number, hold: number): number {
    return this.servers[this.pick(t, hold)].take(t, hold);
  }

  /** The server that can start a `hold` ns job soonest from `t`, without taking it. */
  pick(t: number, hold: number): number {
    let k = 0, best = Infinity;
    for (let i = 0; i < this.servers.length; i++) {
      const s = this.servers[i].peek(t, hold);
      if (s < best) {
        best = s;
        k = i;
      }
    }
    return k;
  }
}
