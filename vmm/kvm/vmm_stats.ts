/**
 * The stats of one VM by name: the VMM's own counters first, then KVM's
 * binary stats (the VM fd's and each vCPU's). The counters are the rows of
 * `vmm/stats.ts` with scope `vmm` that say kvm provides them.
 *
 * @module
 */
import { UnsupportedError } from "../errors.ts";
import { type StatName, statUnsupported } from "../stats.ts";
import type { StatsReader } from "./stats.ts";

/** The VMM's own counters, by stat name: each reads its current value. */
export type VmmCounters = Readonly<Partial<Record<StatName, () => bigint>>>;

/**
 * The stats of one VM.
 */
export class VmmStats {
  #vm: StatsReader;
  #vcpus: StatsReader[];
  #counters: VmmCounters;

  /**
   * The stats of one VM from its readers and counters.
   *
   * @param vm the VM fd's stats
   * @param vcpus each vCPU's stats
   * @param counters the VMM's own counters (they win over a KVM stat of the same name)
   */
  constructor(vm: StatsReader, vcpus: StatsReader[], counters: VmmCounters) {
    this.#vm = vm;
    this.#vcpus = vcpus;
    this.#counters = counters;
  }

  /** The names of every KVM stat (VM and vCPU), then of the VMM's counters. */
  names(): string[] {
    return [
      ...new Set([...this.#vm.names(), ...(this.#vcpus[0]?.names() ?? [])]),
      ...Object.keys(this.#counters),
    ];
  }

  /**
   * Read a stat: a VMM counter, else a KVM stat (vCPU stats summed over
   * vCPUs unless `vcpu` is given).
   *
   * @param name a VMM counter or Linux binary-stats name
   * @param vcpu one vCPU
   * @returns the value
   * @throws {UnsupportedError} when neither the VMM, the VM nor the vCPUs have it
   */
  read(name: string, vcpu?: number): bigint {
    const counter = Object.hasOwn(this.#counters, name)
      ? this.#counters[name as StatName]
      : undefined;
    if (counter) return counter();
    const v = this.#vm.read(name);
    if (v !== undefined) return v;
    if (this.#vcpus[0]?.has(name)) {
      if (vcpu !== undefined) return this.#vcpus[vcpu].read(name)!;
      let sum = 0n;
      for (const s of this.#vcpus) sum += s.read(name)!;
      return sum;
    }
    // The registry's row says why (`vmm/stats.ts`).
    throw new UnsupportedError(statUnsupported(name, "kvm"));
  }
}
