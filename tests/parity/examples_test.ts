/**
 * Parity of the two backends on every `examples/*.kvm`: each runs through
 * the CLI (`vmm.ts --json`) on emu and on kvm; both must exit 0, and the
 * JSON `expect` events and the backend-independent `print`/`stats` values
 * must be identical.
 *
 * Per-example rules (RULES below; why each value is or is not comparable is
 * in docs/backends.md):
 *
 * - Every `expect` outside a host-dependent block (`if $backend …` and the
 *   blocks listed in `hostBlocks`) must appear on both backends: same count,
 *   same line and expression, all passed. Expects inside such blocks must
 *   pass on the backend that ran them.
 * - `dirty_log`: every print (page counts, first/last page) is identical,
 *   and the `dirty_pages` stat; `pf_taken` is not (kvm_pvm keeps it 0).
 * - `dirty_log_perf`: the per-iteration dirty page prints are identical (4
 *   vCPUs meet at each `sync "iter"` barrier); the iteration times are not.
 * - No example may end a run for a reason it did not ask for (no `warning`
 *   event on either backend).
 * - `dirty_log_recovery`: kvm runs only the host's recovery policy, the
 *   emulator all three (`if $runs` is host-dependent); times, faults and
 *   page counts are host measurements or modelled, so none is compared.
 * - `memslots`: every print is identical (there is no counter in them).
 * - `memory_fault_exits`: default rule; the whole script is one
 *   `if $backend == kvm` (real uffd MISSING/MINOR rates, exits refused) or
 *   else (the modelled sweep), so no print is comparable.
 * - `noncoherent_dma`: the migration-pass prints (pages, bytes, dirty pages
 *   from the dirty log) are identical; memory types, hazards and the two
 *   non-mainline designs run on emu only (`if $backend …`).
 * - `quickstart`: the `ucalls` stat is identical; the "faults taken" print
 *   (backend, MMU, pf_taken) and `exits`/`pf_taken` are not.
 * - `write_tracking`: the `page_write_tracking on:` print (268435456 =
 *   2 B × 2^27 pages) is identical; the metadata print is backend-specific
 *   by design (emulated arrays vs VmallocUsed growth) and `off`/`on_demand`
 *   run on emu only (no uAPI on kvm).
 * - `zap_control`: no print is compared (pf_taken, exits, shadow pages
 *   zapped and boot times are host measurements); the `if $pf_all > 0`
 *   block is host-dependent: emu asserts fewer EPT violations, kvm_pvm
 *   (pf_taken not maintained) asserts fewer shadow pages zapped.
 *
 * An example without a rule gets the default: expects as above, no print
 * or stat compared.
 */
import { assert, assertEquals } from "@std/assert";
import { NO_KVM } from "../support/parity.ts";
import { CLI_WATCHDOG } from "../support/wait.ts";

const ROOT = decodeURIComponent(new URL("../..", import.meta.url).pathname);

interface Rule {
  /** Selects the print events whose text must be identical on both backends. */
  prints: (text: string) => boolean;
  /** Stats (from `stats` events) whose values must be identical. */
  stats: readonly string[];
  /** Conditions (after `if `) of host-dependent blocks, besides `$backend`. */
  hostBlocks?: readonly string[];
  /** Minimum number of prints the rule must select (guards against a renamed print). */
  minPrints?: number;
}

const RULES: Readonly<Record<string, Rule>> = {
  "dirty_log.kvm": { prints: () => true, stats: ["dirty_pages"], minPrints: 2 },
  // Barriers: the per-iteration page counts are exact on both; times are host measurements.
  "dirty_log_perf.kvm": { prints: (t) => t.includes("dirty pages"), stats: [], minPrints: 3 },
  // The host's kernel picks one recovery policy; the emulator runs all three (`if $runs`).
  "dirty_log_recovery.kvm": { prints: () => false, stats: [], hostBlocks: ["$runs"] },
  "memslots.kvm": { prints: () => true, stats: [], minPrints: 1 },
  "noncoherent_dma.kvm": { prints: (t) => t.startsWith("pass "), stats: [], minPrints: 2 },
  "quickstart.kvm": { prints: () => false, stats: ["ucalls"] },
  "write_tracking.kvm": {
    prints: (t) => t.startsWith("page_write_tracking on:"),
    stats: [],
    minPrints: 1,
  },
  "zap_control.kvm": { prints: () => false, stats: [], hostBlocks: ["$pf_all > 0"] },
};
const DEFAULT_RULE: Rule = { prints: () => false, stats: [] };

interface JsonEvent {
  event: string;
  ok?: boolean;
  text?: string;
  expression?: string;
  location?: { line: number };
  stats?: Record<string, number>;
  exitCode?: number;
  backend?: string;
}

/** Lines inside `if COND { … } [else { … }]` blocks whose COND is host-dependent. */
function hostDependentLines(source: string, conds: readonly string[]): Set<number> {
  const lines = source.split("\n");
  const out = new Set<number>();
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*if\s+(.*?)\s*\{\s*$/.exec(lines[i]);
    if (!m || !(m[1].startsWith("$backend") || conds.includes(m[1]))) continue;
    let depth = 0;
    let j = i;
    for (; j < lines.length; j++) {
      for (const ch of lines[j].replace(/#.*/, "")) {
        if (ch === "{") depth++;
        if (ch === "}") depth--;
      }
      out.add(j + 1);
      // `} else {` keeps the block open at depth 1.
      if (depth === 0) break;
    }
    i = j;
  }
  return out;
}

async function runExample(file: string, backend: "emu" | "kvm") {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "vmm.ts", file, "--backend", backend, "--json", ...CLI_WATCHDOG],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const events = text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as JsonEvent);
  return { code: out.code, events, stderr: new TextDecoder().decode(out.stderr), text };
}

const examples = [...Deno.readDirSync(`${ROOT}examples`)]
  .filter((e) => e.isFile && e.name.endsWith(".kvm"))
  .map((e) => e.name)
  .sort();

Deno.test("parity examples: there are examples to compare", () => {
  assert(examples.length >= 5, examples.join(", "));
});

for (const name of examples) {
  const file = `examples/${name}`;
  const rule = RULES[name] ?? DEFAULT_RULE;
  Deno.test(`parity example: ${name}`, async (t) => {
    const source = Deno.readTextFileSync(`${ROOT}${file}`);
    const host = hostDependentLines(source, rule.hostBlocks ?? []);
    const [emu, kvm] = await Promise.all([
      runExample(file, "emu"),
      NO_KVM ? Promise.resolve(undefined) : runExample(file, "kvm"),
    ]);
    const check = (r: typeof emu, b: string) => {
      assertEquals(r.code, 0, `${name} on ${b} exits 0:\n${r.text}\n${r.stderr}`);
      const summary = r.events.at(-1);
      assertEquals(summary?.event, "summary");
      assertEquals(summary?.backend, b);
      for (const e of r.events.filter((e) => e.event === "expect")) {
        assert(e.ok, `${name} on ${b}: expect at line ${e.location?.line} failed`);
      }
      const warnings = r.events.filter((e) => e.event === "warning");
      assertEquals(warnings, [], `${name} on ${b}: runs end only as the script asks`);
    };
    check(emu, "emu");
    await t.step({
      name: "kvm",
      ignore: NO_KVM,
      fn: () => {
        if (!kvm) throw new Error("kvm unavailable");
        check(kvm, "kvm");
        const shared = (r: typeof emu) =>
          r.events
            .filter((e) => e.event === "expect" && !host.has(e.location?.line ?? -1))
            .map((e) => `${e.location?.line}: ${e.expression} ${e.ok}`);
        assertEquals(shared(kvm), shared(emu), `${name}: expects outside host blocks`);
        if (host.size === 0) {
          const count = (r: typeof emu) => r.events.filter((e) => e.event === "expect").length;
          assertEquals(count(kvm), count(emu), `${name}: expect count`);
        }
        const prints = (r: typeof emu) =>
          r.events.filter((e) => e.event === "print" && rule.prints(e.text ?? "")).map((e) =>
            e.text
          );
        assertEquals(prints(kvm), prints(emu), `${name}: backend-independent prints`);
        assert(prints(emu).length >= (rule.minPrints ?? 0), `${name}: rule selects its prints`);
        const stats = (r: typeof emu) =>
          r.events.filter((e) => e.event === "stats").map((e) =>
            rule.stats.filter((s) => e.stats && s in e.stats).map((s) => `${s}=${e.stats![s]}`)
              .join(" ")
          );
        assertEquals(stats(kvm), stats(emu), `${name}: comparable stats`);
        for (const s of rule.stats) {
          assert(stats(emu).some((l) => l.includes(`${s}=`)), `${name}: stat ${s} is printed`);
        }
      },
    });
  });
}
