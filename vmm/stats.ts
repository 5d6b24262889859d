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

function vmm(description: string, kvm: true | string, rest: Partial<StatDef> = {}): StatDef {
  return { scope: "vmm", unit: "count", kvm, emu: true, description, ...rest };
}

/** Every stat by name. */
export const STATS = {
  // vCPU stats the spec names.
  exits: linux("vcpu", "VM exits (emu: every modelled exit, EPT violations included)", {
    emu: true,
    parity: "differs: kvm_pvm counts a few per userspace exit; not compared (both > 0 asserted)",
  }),
  io_exits: linux("vcpu", "port I/O exits", {
    emu: true,
    parity: "differs: 0 on kvm_pvm (not maintained); recorded only",
  }),
  mmio_exits: linux("vcpu", "MMIO exits to userspace", { emu: true, parity: "same" }),
  halt_exits: linux("vcpu", "HLT exits", { emu: true, parity: "same" }),
  pf_taken: linux("vcpu", "page faults (EPT violations or shadow faults) handled by KVM", {
    emu: true,
    parity: "differs: 0 on kvm_pvm; emu > 0 and kvm == 0 asserted",
  }),
  pf_fixed: linux("vcpu", "faults that installed an SPTE", { emu: true, parity: "0 on kvm_pvm" }),
  pf_emulate: linux("vcpu", "faults resolved by emulating the instruction", {
    emu: true,
    parity: "0 on kvm_pvm",
  }),
  pf_spurious: linux("vcpu", "faults whose SPTE was already fixed", {
    emu: true,
    parity: "0 on kvm_pvm",
  }),
  pf_mmio_spte_created: linux("vcpu", "MMIO SPTEs installed", {
    emu: true,
    parity: "0 on kvm_pvm",
  }),
  tlb_flush: linux("vcpu", "guest TLB flushes", { emu: true, parity: "differs: not compared" }),
  // VM stats the spec names.
  remote_tlb_flush: linux("vm", "TLB flushes of every vCPU", {
    emu: true,
    parity: "differs: 0 on kvm_pvm (`remote_tlb_flush_requests` counts)",
  }),
  mmu_shadow_zapped: linux("vm", "shadow pages zapped", {
    emu: true,
    parity: "differs: direction only (zap_control example)",
  }),
  mmu_pte_write: linux("vm", "guest writes to shadowed page tables", {
    emu: true,
    parity: "differs: kvm_pvm counts every emulated guest write",
  }),
  mmu_pde_zapped: linux("vm", "non-leaf shadow entries zapped by guest writes", {
    emu: true,
    parity: "not compared",
  }),
  mmu_flooded: linux("vm", "shadow pages zapped for write flooding", {
    emu: true,
    parity: "not compared",
  }),
  mmu_unsync: linux("vm", "unsync shadow pages (emu: 0, unsync is not modelled)", {
    emu: true,
    parity: "not compared",
  }),
  pages_4k: linux("vm", "present 4K leaf mappings", {
    emu: true,
    parity: "differs: 0 on kvm_pvm",
  }),
  pages_2m: linux("vm", "present 2M leaf mappings", {
    emu: true,
    parity: "differs: 0 on kvm_pvm",
  }),
  pages_1g: linux("vm", "present 1G leaf mappings", {
    emu: true,
    parity: "differs: 0 on kvm_pvm",
  }),
  nx_lpage_splits: linux("vm", "huge pages split for NX (emu: 0, not modelled)", {
    emu: true,
    parity: "not compared",
  }),
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
    "host reads of pages whose guest memory type is not WB",
    "the host cannot see the guest's effective memory type",
  ),
  // Other Linux x86 stats (arch/x86/kvm/x86.c), readable where the backend has them.
  pf_fast: linux("vcpu", "faults fixed without taking mmu_lock", {
    emu: true,
    parity: "0 on kvm_pvm",
  }),
  pf_guest: linux("vcpu", "faults reflected to the guest", { emu: true, parity: "0 on kvm_pvm" }),
  invlpg: linux("vcpu", "INVLPG executed by the guest", { emu: true }),
  remote_tlb_flush_requests: linux("vm", "requests to flush every vCPU's TLB", { emu: true }),
  mmu_recycled: linux("vm", "shadow pages recycled to stay under the limit"),
  mmu_cache_miss: linux("vm", "shadow page lookups that allocated a page"),
  max_mmu_rmap_size: linux("vm", "largest rmap list seen"),
  max_mmu_page_hash_collisions: linux("vm", "longest shadow-page hash chain seen"),
  halt_successful_poll: linux("vcpu", "halt polls that found work", { emu: HOST_ONLY }),
  halt_attempted_poll: linux("vcpu", "halt polls attempted", { emu: HOST_ONLY }),
  halt_poll_invalid: linux("vcpu", "halt polls ended by an invalid wakeup", { emu: HOST_ONLY }),
  halt_wakeup: linux("vcpu", "wakeups from halt", { emu: HOST_ONLY }),
  halt_poll_success_ns: linux("vcpu", "time in successful halt polls", {
    unit: "ns",
    emu: HOST_ONLY,
  }),
  halt_poll_fail_ns: linux("vcpu", "time in failed halt polls", { unit: "ns", emu: HOST_ONLY }),
  halt_wait_ns: linux("vcpu", "time halted", { unit: "ns", emu: HOST_ONLY }),
  blocking: linux("vcpu", "whether the vCPU is blocked now", { unit: "boolean", emu: HOST_ONLY }),
  signal_exits: linux("vcpu", "exits for a pending signal", { emu: HOST_ONLY }),
  irq_window_exits: linux("vcpu", "interrupt-window exits", { emu: HOST_ONLY }),
  nmi_window_exits: linux("vcpu", "NMI-window exits", { emu: HOST_ONLY }),
  l1d_flush: linux("vcpu", "L1D flushes on VM entry"),
  request_irq_exits: linux("vcpu", "exits to let userspace inject an interrupt", {
    emu: HOST_ONLY,
  }),
  irq_exits: linux("vcpu", "exits for host interrupts", { emu: HOST_ONLY }),
  host_state_reload: linux("vcpu", "host state reloads"),
  fpu_reload: linux("vcpu", "guest FPU reloads"),
  insn_emulation: linux("vcpu", "instructions emulated by KVM", {
    parity: "equals emu `instructions` on kvm_pvm",
  }),
  insn_emulation_fail: linux("vcpu", "instructions KVM failed to emulate"),
  hypercalls: linux("vcpu", "hypercalls"),
  irq_injections: linux("vcpu", "interrupts injected", { emu: HOST_ONLY }),
  nmi_injections: linux("vcpu", "NMIs injected", { emu: HOST_ONLY }),
  req_event: linux("vcpu", "KVM_REQ_EVENT requests processed", { emu: HOST_ONLY }),
  nested_run: linux("vcpu", "nested VM entries", { emu: HOST_ONLY }),
  directed_yield_attempted: linux("vcpu", "directed yields attempted", { emu: HOST_ONLY }),
  directed_yield_successful: linux("vcpu", "directed yields that succeeded", { emu: HOST_ONLY }),
  preemption_reported: linux("vcpu", "preemptions reported to the guest", { emu: HOST_ONLY }),
  preemption_other: linux("vcpu", "preemptions not reported to the guest", { emu: HOST_ONLY }),
  guest_mode: linux("vcpu", "whether the vCPU runs a nested guest now", {
    unit: "boolean",
    emu: HOST_ONLY,
  }),
  notify_window_exits: linux("vcpu", "notify-window exits", { emu: HOST_ONLY }),
} as const satisfies Readonly<Record<string, StatDef>>;

/** A stat's name. */
export type StatName = keyof typeof STATS;

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
