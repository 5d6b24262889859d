/**
 * The closed vocabularies of the language, in one place: what the checker
 * accepts and what the interpreter hands to a backend.
 *
 * @module
 */
import type { BackendChoice } from "../vmm/create.ts";
import { type Backing, type ExitReason, type MmuMode, type QuirkName } from "../vmm/types.ts";
import { STATS } from "../vmm/stats.ts";
import { CAPS, QUIRKS as QUIRK_TABLE } from "../vmm/caps/mod.ts";

/** What a vm block's `backend` may say. */
export const BACKEND_CHOICES: readonly BackendChoice[] = ["auto", "kvm", "emu"];

/** What a vm block's `mmu` may say. */
export const MMU_MODES: readonly MmuMode[] = ["tdp", "shadow"];

/** Each capability with the words it takes (from the registry, `vmm/caps/mod.ts`). */
export const CAP_VALUES: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  Object.entries(CAPS).map(([name, def]) => [name, Object.keys(def.values)]),
);

/** The quirks `quirk NAME on|off` knows (from the registry, `vmm/caps/quirks.ts`). */
export const QUIRKS: readonly QuirkName[] = Object.keys(QUIRK_TABLE) as QuirkName[];

/** Memslot flags (one list, shared with the backends' memslot rules). */
export { MEMSLOT_FLAGS } from "../vmm/memory/slot_rules.ts";

/** Memslot backings. */
export const BACKINGS: readonly Backing[] = ["anon", "memfd", "hugetlb", "absent"];

/** Host page sizes `hugepage` accepts. */
export { HUGEPAGE_SIZES } from "../vmm/memory/layout.ts";

/** Every stat name any backend may provide (the registry, `vmm/stats.ts`). */
export const STAT_NAMES: ReadonlySet<string> = new Set(Object.keys(STATS));

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
