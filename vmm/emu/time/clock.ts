/**
 * The modelled clocks: one per vCPU and one for the VMM thread, in ns, each
 * with its breakdown (guest instructions, faults, zaps, TLB flushes, waits
 * for locks and for userfaultfd, userspace exits). Whoever acts is the
 * clock's `actor` (the run loop sets it to the vCPU it runs, and back to the
 * VMM), so the MMU charges an operation without knowing who performs it.
 * Charging is an add to a Float64Array slot.
 *
 * @module
 */
import { COSTS } from "./costs.ts";

/** Index of each part of a clock's breakdown; `modelled` is the clock itself. */
export const T = {
  modelled: 0,
  guest: 1,
  fault: 2,
  zap: 3,
  tlb_flush: 4,
  lock_wait: 5,
  uffd_wait: 6,
  userspace: 7,
} as const;

/** Number of parts per clock. */
export const T_PARTS: number = Object.keys(T).length;

/** The stat name of each part (`modelled_ns`, `guest_ns`, …), by index. */
export const T_STATS: readonly string[] = Object.keys(T).map((k) => `${k}_ns`);

/** Guest instructions: the bare-metal constant, since the model stands for KVM on the proposals' hosts. */
const INSN_NS = COSTS.guestInsnNative.ns;

/** The clocks of one emulated VM. */
export class ModelClock {
  /** Number of vCPUs; the VMM is actor `vcpus`. */
  readonly vcpus: number;
  /** The VMM's actor index. */
  readonly vmm: number;
  /** `[actor * T_PARTS + part]`: each actor's clock and its breakdown, ns. */
  readonly t: Float64Array;
  /** Who acts now (a vCPU index or {@linkcode ModelClock.vmm}). */
  actor: number;
  /** Retired instructions of vCPU `v` (set once the CPUs exist). */
  insns: (v: number) => number = () => 0;
  readonly #counted: Float64Array;

  /**
   * Creates the instance.
   * @param vcpus number of vCPUs
   */
  constructor(vcpus: number) {
    this.vcpus = vcpus;
    this.vmm = vcpus;
    this.actor = vcpus;
    this.t = new Float64Array((vcpus + 1) * T_PARTS);
    this.#counted = new Float64Array(vcpus);
  }

  /** Actor `a`'s clock, with its guest instructions so far charged. */
  now(a: number = this.actor): number {
    if (a < this.vcpus) this.settle(a);
    return this.t[a * T_PARTS];
  }

  /** Charge vCPU `v`'s retired instructions not yet on its clock. */
  settle(v: number): void {
    const n = this.insns(v) - this.#counted[v];
    if (n > 0) {
      this.#counted[v] += n;
      const ns = n * INSN_NS;
      const b = v * T_PARTS;
      this.t[b] += ns;
      this.t[b + T.guest] += ns;
    }
  }

  /** Forget instructions counted so far (a new guest was loaded: its counters start at 0). */
  resetInsns(): void {
    this.#counted.fill(0);
  }

  /** Advance actor `a`'s clock by `ns` of part `part` (`T.modelled`: of no part). */
  charge(part: number, ns: number, a: number = this.actor): void {
    const b = a * T_PARTS;
    this.t[b] += ns;
    if (part !== T.modelled) this.t[b + part] += ns;
  }

  /** Move actor `a`'s clock to `to` if later, counting the gap as part `part` (a wait). */
  waitUntil(to: number, part: number, a: number = this.actor): void {
    const gap = to - this.now(a);
    if (gap > 0) this.charge(part, gap, a);
  }

  /** Move actor `a`'s clock to `to` if later, without counting it in any part (idle). */
  idleUntil(to: number, a: number): void {
    const b = a * T_PARTS;
    if (to > this.t[b]) this.t[b] = to;
  }

  /** The latest of every clock (the VMM's and each vCPU's). */
  latest(): number {
    let m = 0;
    for (let a = 0; a <= this.vcpus; a++) {
      const x = a < this.vcpus ? this.now(a) : this.t[a * T_PARTS];
      if (x > m) m = x;
    }
    return m;
  }

  /** Part `part` of vCPU `v`'s clock (or summed over vCPUs when `v` is undefined). */
  read(part: number, v?: number): number {
    if (v !== undefined) {
      this.now(v);
      return this.t[v * T_PARTS + part];
    }
    let s = 0;
    for (let i = 0; i < this.vcpus; i++) {
      this.now(i);
      s += this.t[i * T_PARTS + part];
    }
    return s;
  }
}
