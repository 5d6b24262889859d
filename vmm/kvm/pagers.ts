/**
 * The `demand uffd` slots of one VM: a {@linkcode UffdPager} per slot, and
 * the `uffd_faults` count, which keeps what pagers of deleted slots served.
 *
 * @module
 */
import { UffdPager, type UffdPagerOptions } from "./uffd.ts";

/** The pagers of one VM, by slot name. */
export class PagerSet {
  #pagers = new Map<string, UffdPager>();
  /** Faults served by pagers already closed (slot deleted). */
  #retiredFaults = 0n;

  /**
   * The pager serving a slot.
   *
   * @param slot the slot's name
   * @returns its pager, or undefined when the slot is not `demand uffd`
   */
  get(slot: string): UffdPager | undefined {
    return this.#pagers.get(slot);
  }

  /**
   * Start serving a slot (see {@linkcode UffdPager.start}).
   *
   * @param o the slot (not yet served: `checkDemandUffd` said so), its host
   *   range, the handler count and source bytes
   */
  start(o: UffdPagerOptions): void {
    this.#pagers.set(o.slot, UffdPager.start(o));
  }

  /**
   * Stop serving a slot (it was deleted); its count stays in {@linkcode PagerSet.faults}.
   *
   * @param slot the slot's name (nothing happens when it is not served)
   */
  retire(slot: string): void {
    const p = this.#pagers.get(slot);
    if (!p) return;
    this.#pagers.delete(slot);
    this.#retiredFaults += p.faults;
    p.close();
  }

  /**
   * Faults served by every pager of the VM, live or retired.
   *
   * @returns the count
   * @throws the first error a live pager's handler hit
   */
  faults(): bigint {
    let n = this.#retiredFaults;
    for (const p of this.#pagers.values()) {
      const e = p.error();
      if (e) throw e;
      n += p.faults;
    }
    return n;
  }

  /** Stop every pager; the first error is thrown after all are closed. Idempotent. */
  close(): void {
    const errors: unknown[] = [];
    for (const slot of [...this.#pagers.keys()]) {
      try {
        this.retire(slot);
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length) throw errors[0];
  }
}
