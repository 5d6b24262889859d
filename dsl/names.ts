/**
 * The closed vocabularies of the language, in one place: what the checker
 * accepts and what the interpreter hands to a backend.
 *
 * @module
 */
import type { BackendChoice } from "../vmm/create.ts";
import {
  type Backing,
  type CapName,
  EMU_ONLY_STATS,
  type ExitReason,
  LINUX_X86_EXTRA_STATS,
  type MmuMode,
  type QuirkName,
  VCPU_STATS,
  VM_STATS,
  VMM_STATS,
} from "../vmm/types.ts";

/** What a vm block's `backend` may say. */
export const BACKEND_CHOICES: readonly BackendChoice[] = ["auto", "kvm", "emu"];

/** What a vm block's `mmu` may say. */
export const MMU_MODES: readonly MmuMode[] = ["tdp", "shadow"];

/** Each capability with the values it takes (the first is what `cap NAME` alone means where allowed). */
export const CAP_VALUES: Readonly<Record<CapName, readonly string[]>> = {
  page_write_tracking: ["on", "off", "on_demand"],
  memslot_zap_control: ["zap_only_memslot", "zap_all"],
  memory_fault_nowait: ["on", "off"],
  x86_memory_fault_exit: ["absent_mapping"],
  dirty_log_recovery: ["zap", "in_place"],
  manual_dirty_log_protect: ["on", "off"],
};

/** The quirks `quirk NAME on|off` knows. */
export const QUIRKS: readonly QuirkName[] = ["slot_zap_all", "ignore_guest_pat", "cd_nw_cleared"];

/** Memslot flags (one list, shared with the backends' memslot rules). */
export { MEMSLOT_FLAGS } from "../vmm/memory/slot_rules.ts";

/** Memslot backings. */
export const BACKINGS: readonly Backing[] = ["anon", "memfd", "hugetlb", "absent"];

/** Host page sizes `hugepage` accepts. */
export { HUGEPAGE_SIZES } from "../vmm/memory/layout.ts";

/** Every stat name any backend may provide. */
export const STAT_NAMES: ReadonlySet<string> = new Set([
  ...VCPU_STATS,
  ...VM_STATS,
  ...VMM_STATS,
  ...EMU_ONLY_STATS,
  ...LINUX_X86_EXTRA_STATS,
]);

/** Every `ExitReason` of `vmm/types.ts` (a record, so the compiler sees when one is missing). */
const EXIT_REASON_SET: Readonly<Record<ExitReason, true>> = {
  done: true,
  sync: true,
  fail: true,
  hlt: true,
  io: true,
  mmio: true,
  memory_fault: true,
  shutdown: true,
  timeout: true,
  internal_error: true,
  fail_entry: true,
  system_event: true,
};

/** `$exit.reason` values. */
export const EXIT_REASONS: readonly string[] = Object.keys(EXIT_REASON_SET);

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/**
 * The tail of an "unknown NAME" message: a close match when there is one
 * (`did you mean 'pf_taken'?`), else the list of known names.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { knownOrSuggestion } from "./names.ts";
 * assertEquals(knownOrSuggestion("pf_takn", ["pf_taken", "exits"]), "did you mean 'pf_taken'?");
 * assertEquals(knownOrSuggestion("zzz", ["a", "b"]), "known: a, b");
 * ```
 */
export function knownOrSuggestion(name: string, known: Iterable<string>): string {
  const candidates = [...known];
  let best: string | undefined;
  let bestDistance = Math.min(3, Math.floor(name.length / 2) + 1);
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined ? `did you mean '${best}'?` : `known: ${candidates.join(", ")}`;
}
