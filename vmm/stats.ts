/**
 * The stats registry: every stat a script can name, once, with where it
 * lives, its unit, which backend provides it (or why not) and what it
 * counts. The DSL checker, both backends' `statNames()` and the docs' table
 * derive from it. A new stat is one row here plus the code that counts it.
 *
 * @module
 */
import type { BackendKind } from "./types.ts";

/**
 * Where a stat lives: `vcpu` or `vm`, a Linux binary stat of the vCPU or VM
 * stats fd (its key is the Linux binary-stats name; vCPU stats read as the
 * sum over vCPUs unless one is named); `vmm`, the VMM's own counter.
 */
export type StatScope = "vcpu" | "vm" | "vmm";

/** What a stat's value counts (Linux's KVM_STATS_UNIT_* plus pages). */
export type StatUnit = "count" | "pages" | "bytes" | "ns" | "boolean";

/** One stat. */
export interface StatDef {
  /** Where it lives. */
  readonly scope: StatScope;
  /** Its unit. */
  readonly unit: StatUnit;
  /** `true` when the kvm backend provides it, else why not (its UnsupportedError says so). */
  readonly kvm: true | string;
  /** `true` when the emulator provides it, else why not. */
  readonly emu: true | string;
  /** What it counts. */
  readonly description: string;
  /** How the two backends' values compare (parity suite, this host), for the docs. */
  readonly parity?: string;
}

const NOT_MODELLED = "not modelled by the emulator";
/** The emulator's reason for Linux stats about host scheduling, interrupts and nesting. */
const HOST_ONLY = "host scheduling/interrupt state the emulator does not model";

function linux(
  scope: "vcpu" | "vm",
  description: string,
  rest: Partial<Pick<StatDef, "unit" | "emu" | "parity">> = {},
): StatDef {
  return { scope, unit: "count", kvm: true, emu: NOT_MODELLED, description, ...rest };
}

/** A vCPU stat of host scheduling, interrupts or nesting, which the emulator has no model of. */
function hostOnly(description: string, unit: StatUnit = "count"): StatDef {
  return linux("vcpu", description, { unit, emu: HOST_ONLY });
}

/** A Linux stat the emulator models too, with how the parity suite compares them. */
function both(scope: "vcpu" | "vm", description: string, parity?: string): StatDef {
  return linux(scope, description, { emu: true, parity });
}

/** Why the kvm backend has no modelled-time stats. */
const WALL_CLOCK = "real KVM has no modelled clock; its time is the wall's";

/** A part of the emulator's modelled clock, per vCPU, in ns. */
function modelled(description: string): StatDef {
  return {
    scope: "vmm",
    unit: "ns",
    kvm: WALL_CLOCK,
    emu: true,
    description,
  };
}

/** The parity note of the stats kvm_pvm does not maintain. */
const PVM_ZERO = "differs: 0 on kvm_pvm (not maintained)";

function vmm(description: string, kvm: true | string, rest: Partial<StatDef> = {}): StatDef {
  return { scope: "vmm", unit: "count", kvm, emu: true, description, ...rest };
}

/** A stat's name: the keys of the rows below, spelt out so the public API has explicit types. */
export type StatName =
  | "exits"
  | "io_exits"
  | "mmio_exits"
  | "halt_exits"
  | "pf_taken"
  | "pf_fixed"
  | "pf_emulate"
  | "pf_spurious"
  | "pf_mmio_spte_created"
  | "tlb_flush"
  | "remote_tlb_flush"
  | "mmu_shadow_zapped"
  | "mmu_pte_write"
  | "mmu_pde_zapped"
  | "mmu_flooded"
  | "mmu_unsync"
  | "pages_4k"
  | "pages_2m"
  | "pages_1g"
  | "nx_lpage_splits"
  | "memory_fault_exits"
  | "uffd_faults"
  | "ucalls"
  | "dirty_pages"
  | "write_track_bytes"
  | "track_notifications"
  | "memslot_metadata_bytes"
  | "sptes_zapped"
  | "huge_pages_recovered"
  | "instructions"
  | "aliasing_hazards"
  | "clflush_pages"
  | "pf_fast"
  | "pf_guest"
  | "invlpg"
  | "remote_tlb_flush_requests"
  | "mmu_recycled"
  | "mmu_cache_miss"
  | "max_mmu_rmap_size"
  | "max_mmu_page_hash_collisions"
  | "halt_successful_poll"
  | "halt_attempted_poll"
  | "halt_poll_invalid"
  | "halt_wakeup"
  | "halt_poll_success_ns"
  | "halt_poll_fail_ns"
  | "halt_wait_ns"
  | "blocking"
  | "signal_exits"
  | "irq_window_exits"
  | "nmi_window_exits"
  | "l1d_flush"
  | "request_irq_exits"
  | "irq_exits"
  | "host_state_reload"
  | "fpu_reload"
  | "insn_emulation"
  | "insn_emulation_fail"
  | "hypercalls"
  | "irq_injections"
  | "nmi_injections"
  | "req_event"
  | "nested_run"
  | "directed_yield_attempted"
  | "directed_yield_successful"
  | "preemption_reported"
  | "preemption_other"
  | "guest_mode"
  | "notify_window_exits"
  | "modelled_ns"
  | "guest_ns"
  | "fault_ns"
  | "zap_ns"
  | "tlb_flush_ns"
  | "lock_wait_ns"
  | "uffd_wait_ns"
  | "userspace_ns";

/** Every stat's row, by name (typed by {@linkcode STATS}). */
const STAT_ROWS = {
  // vCPU stats the spec names.
  exits: both(
    "vcpu",
    "VM exits (emu: every modelled exit, EPT violations included)",
    "differs: kvm_pvm counts a few per userspace exit; not compared (both > 0 asserted)",
  ),
  io_exits: both("vcpu", "port I/O exits", "differs: 0 on kvm_pvm; recorded only"),
  mmio_exits: both("vcpu", "MMIO exits to userspace", "same"),
  halt_exits: both("vcpu", "HLT exits", "same"),
  pf_taken: both(
    "vcpu",
    "page faults (EPT violations or shadow faults) handled by KVM",
    "differs: 0 on kvm_pvm; emu > 0 and kvm == 0 asserted",
  ),
  pf_fixed: both("vcpu", "faults that installed an SPTE", PVM_ZERO),
  pf_emulate: both("vcpu", "faults resolved by emulating the instruction", PVM_ZERO),
  pf_spurious: both("vcpu", "faults whose SPTE was already fixed", PVM_ZERO),
  pf_mmio_spte_created: both("vcpu", "MMIO SPTEs installed", PVM_ZERO),
  tlb_flush: both("vcpu", "guest TLB flushes", "differs: not compared"),
  // VM stats the spec names.
  remote_tlb_flush: both(
    "vm",
    "TLB flushes of every vCPU",
    "differs: 0 on kvm_pvm (`remote_tlb_flush_requests` counts)",
  ),
  mmu_shadow_zapped: both("vm", "shadow pages zapped", "differs: direction only (zap_control)"),
  mmu_pte_write: both(
    "vm",
    "guest writes to shadowed page tables",
    "differs: kvm_pvm counts every emulated guest write",
  ),
  mmu_pde_zapped: both("vm", "non-leaf shadow entries zapped by guest writes", "not compared"),
  mmu_flooded: both("vm", "shadow pages zapped for write flooding", "not compared"),
  mmu_unsync: both("vm", "unsync shadow pages (emu: 0, not modelled)", "not compared"),
  pages_4k: both("vm", "present 4K leaf mappings", PVM_ZERO),
  pages_2m: both("vm", "present 2M leaf mappings", PVM_ZERO),
  pages_1g: both("vm", "present 1G leaf mappings", PVM_ZERO),
  nx_lpage_splits: both("vm", "huge pages split for NX (emu: 0, not modelled)", "not compared"),
  // The VMM's own counters.
  memory_fault_exits: vmm("`memory_fault` exits", true, {
    parity: "not compared (never happens on kvm_pvm)",
  }),
  uffd_faults: vmm("pages served by `demand uffd` handlers", true, {
    parity: "not compared (handler timing)",
  }),
  ucalls: vmm("guest ucalls (sync, done, fail, print)", true, { parity: "same" }),
  dirty_pages: vmm("bits set in the bitmaps `dirty_log` returned", true, {
    unit: "pages",
    parity: "same",
  }),
  write_track_bytes: vmm("write-tracking metadata of user memslots (2 B per page)", true, {
    unit: "bytes",
    parity: "same vs emu with the host's MMU",
  }),
  track_notifications: vmm(
    "guest writes reported to external trackers",
    "KVM has no userspace write-tracking notifications",
  ),
  memslot_metadata_bytes: vmm(
    "memory the kernel (or model) allocates per user memslot (kvm: VmallocUsed growth)",
    true,
    { unit: "bytes", parity: "differs by design" },
  ),
  sptes_zapped: vmm("SPTEs zapped", "KVM does not count zapped SPTEs in its binary stats"),
  huge_pages_recovered: vmm(
    "huge pages restored when dirty logging stops",
    "KVM does not count recovered huge pages in its binary stats",
  ),
  instructions: vmm(
    "guest instructions executed",
    "a hardware-virtualized guest's retired instructions are not counted",
    { parity: "equals kvm `insn_emulation` on kvm_pvm" },
  ),
  aliasing_hazards: vmm(
    "host reads and writes of pages whose guest memory type is not WB",
    "the host cannot see the guest's effective memory type",
  ),
  clflush_pages: vmm(
    "pages the VMM flushed (clflush) before reading them in a migration pass",
    "the host cannot see which pages the guest maps non-WB",
  ),
  // Other Linux x86 stats (arch/x86/kvm/x86.c), readable where the backend has them.
  pf_fast: both("vcpu", "faults fixed without taking mmu_lock", PVM_ZERO),
  pf_guest: both("vcpu", "faults reflected to the guest", PVM_ZERO),
  invlpg: both("vcpu", "INVLPG executed by the guest"),
  remote_tlb_flush_requests: both("vm", "requests to flush every vCPU's TLB"),
  mmu_recycled: linux("vm", "shadow pages recycled to stay under the limit"),
  mmu_cache_miss: linux("vm", "shadow page lookups that allocated a page"),
  max_mmu_rmap_size: linux("vm", "largest rmap list seen"),
  max_mmu_page_hash_collisions: linux("vm", "longest shadow-page hash chain seen"),
  halt_successful_poll: hostOnly("halt polls that found work"),
  halt_attempted_poll: hostOnly("halt polls attempted"),
  halt_poll_invalid: hostOnly("halt polls ended by an invalid wakeup"),
  halt_wakeup: hostOnly("wakeups from halt"),
  halt_poll_success_ns: hostOnly("time in successful halt polls", "ns"),
  halt_poll_fail_ns: hostOnly("time in failed halt polls", "ns"),
  halt_wait_ns: hostOnly("time halted", "ns"),
  blocking: hostOnly("whether the vCPU is blocked now", "boolean"),
  signal_exits: hostOnly("exits for a pending signal"),
  irq_window_exits: hostOnly("interrupt-window exits"),
  nmi_window_exits: hostOnly("NMI-window exits"),
  l1d_flush: linux("vcpu", "L1D flushes on VM entry"),
  request_irq_exits: hostOnly("exits to let userspace inject an interrupt"),
  irq_exits: hostOnly("exits for host interrupts"),
  host_state_reload: linux("vcpu", "host state reloads"),
  fpu_reload: linux("vcpu", "guest FPU reloads"),
  insn_emulation: linux("vcpu", "instructions emulated by KVM", {
    parity: "equals emu `instructions` on kvm_pvm",
  }),
  insn_emulation_fail: linux("vcpu", "instructions KVM failed to emulate"),
  hypercalls: linux("vcpu", "hypercalls"),
  irq_injections: hostOnly("interrupts injected"),
  nmi_injections: hostOnly("NMIs injected"),
  req_event: hostOnly("KVM_REQ_EVENT requests processed"),
  nested_run: hostOnly("nested VM entries"),
  directed_yield_attempted: hostOnly("directed yields attempted"),
  directed_yield_successful: hostOnly("directed yields that succeeded"),
  preemption_reported: hostOnly("preemptions reported to the guest"),
  preemption_other: hostOnly("preemptions not reported to the guest"),
  guest_mode: hostOnly("whether the vCPU runs a nested guest now", "boolean"),
  notify_window_exits: hostOnly("notify-window exits"),
  // The emulator's modelled time (emulator.md "Modelled time"), per vCPU.
  modelled_ns: modelled("the vCPU's modelled clock: the other *_ns and idle time"),
  guest_ns: modelled("modelled time of guest instructions"),
  fault_ns: modelled("modelled time in faults: exits, SPTE installs and splits, population"),
  zap_ns: modelled("modelled time zapping or write-protecting SPTEs"),
  tlb_flush_ns: modelled("modelled time in TLB flushes, requested or received"),
  lock_wait_ns: modelled("modelled wait for mmu_lock, the mm lock, a uffd queue lock, a host CPU"),
  uffd_wait_ns: modelled("modelled time asleep on a userfaultfd until its wake-up"),
  userspace_ns: modelled("modelled time in exits to userspace and their handlers"),
} as const satisfies Readonly<Record<StatName, StatDef>>;

/** A stat's name. */
/** Every stat by name. */
export const STATS: Readonly<Record<StatName, StatDef>> = STAT_ROWS;

/**
 * The stat's row, when the registry has it.
 *
 * @param name a stat name
 * @returns its row, or undefined
 */
export function statDef(name: string): StatDef | undefined {
  return Object.hasOwn(STATS, name) ? (STATS as Record<string, StatDef>)[name] : undefined;
}

/**
 * The stats a backend provides, in registry order.
 *
 * @param backend the backend
 * @returns the names whose row says that backend provides them
 *
 * @example Usage
 * ```ts
 * import { statsProvidedBy } from "./stats.ts";
 * import { assert } from "@std/assert";
 * assert(statsProvidedBy("emu").includes("instructions"));
 * assert(!statsProvidedBy("kvm").includes("instructions"));
 * ```
 */
export function statsProvidedBy(backend: BackendKind): StatName[] {
  return (Object.keys(STATS) as StatName[]).filter((n) => STATS[n][backend] === true);
}

/**
 * The message of a backend's refusal of a stat: the row's reason when it
 * has one.
 *
 * @param name the stat
 * @param backend the backend refusing it
 * @returns `stat "NAME" is not provided by the BACKEND backend[: reason]`
 */
export function statUnsupported(name: string, backend: BackendKind): string {
  const why = statDef(name)?.[backend];
  const head = `stat "${name}" is not provided by the ${backend} backend`;
  return typeof why === "string" ? `${head}: ${why}` : head;
}
