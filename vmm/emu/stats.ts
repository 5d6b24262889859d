/**
 * Counters of the emulated VM, kept in typed arrays so the fault path bumps
 * them without allocating. vCPU counters are per vCPU (summed on read), VM
 * counters are VM-wide; both keep the Linux binary-stats names.
 *
 * @module
 */

/** Index of each per-vCPU counter in {@linkcode EmuStats.vcpu}'s arrays. */
export const V = {
  exits: 0,
  io_exits: 1,
  mmio_exits: 2,
  halt_exits: 3,
  pf_taken: 4,
  pf_fixed: 5,
  pf_emulate: 6,
  pf_spurious: 7,
  pf_mmio_spte_created: 8,
  pf_fast: 9,
  pf_guest: 10,
  memory_fault_exits: 11,
  uffd_faults: 12,
  ucalls: 13,
  invlpg: 14,
} as const;

/** Number of per-vCPU counters. */
export const VCPU_COUNTERS: number = Object.keys(V).length;

/** Index of each VM-wide counter in {@linkcode EmuStats.vm}. */
export const M = {
  remote_tlb_flush: 0,
  mmu_shadow_zapped: 1,
  mmu_pte_write: 2,
  mmu_pde_zapped: 3,
  mmu_flooded: 4,
  mmu_unsync: 5,
  pages_4k: 6,
  pages_2m: 7,
  pages_1g: 8,
  nx_lpage_splits: 9,
  dirty_pages: 10,
  track_notifications: 11,
  sptes_zapped: 12,
  huge_pages_recovered: 13,
  remote_tlb_flush_requests: 14,
  aliasing_hazards: 15,
  clflush_pages: 16,
} as const;

/** Number of VM-wide counters. */
export const VM_COUNTERS: number = Object.keys(M).length;

/** Index of `pages_4k`, `pages_2m`, `pages_1g` by mapping level (1, 2, 3). */
export const PAGES_BY_LEVEL: readonly number[] = [-1, M.pages_4k, M.pages_2m, M.pages_1g];

/** The counter storage of one emulated VM. */
export class EmuStats {
  /** Per-vCPU counters, indexed by {@linkcode V}. */
  readonly vcpu: Float64Array[];
  /** VM-wide counters, indexed by {@linkcode M}. */
  readonly vm: Float64Array = new Float64Array(VM_COUNTERS);

  /**
   * Creates the instance.
   * @param vcpus number of vCPUs
   */
  constructor(vcpus: number) {
    this.vcpu = [];
    for (let i = 0; i < vcpus; i++) this.vcpu.push(new Float64Array(VCPU_COUNTERS));
  }
}
