/**
 * Proposal 5 (seed 004) as `examples/dirty_log_recovery.kvm` runs it on the
 * emulator, at 2 vCPUs x 4 MiB (four 2M tables): the exact fault counts,
 * recovered pages, and the modelled time to stop dirty logging, derived here
 * from the cost table (no wall time is read).
 */
import { assertEquals, assertLess } from "@std/assert";
import { MemoryOutput, parseScript, runScript } from "../../dsl/mod.ts";
import { formatValue, type Value, Word } from "../../dsl/values.ts";
import { COSTS } from "../../vmm/emu/time/costs.ts";

const FILE = new URL("../../examples/dirty_log_recovery.kvm", import.meta.url);
const VCPUS = 2;
const TABLES = 4; // 2 x 4 MiB of 2M pages

interface Outcome {
  /** print lines by policy and what follows it, as values. */
  prints: Map<string, Value[]>;
  /** The modelled stop time per policy (the plot's y). */
  stop: Map<string, number>;
  failed: number;
}

async function runExample(): Promise<Outcome> {
  const output = new MemoryOutput();
  const script = parseScript(await Deno.readTextFile(FILE), { file: "dirty_log_recovery.kvm" });
  const summary = await runScript(script, {
    output,
    backend: "emu",
    parameters: { n: BigInt(VCPUS), per_vcpu: 4n << 20n },
  });
  const prints = new Map<string, Value[]>();
  const stop = new Map<string, number>();
  for (const e of output.events) {
    if (e.event === "print") {
      const values = (e as { values?: Value[] }).values ?? [];
      if (values.length < 2) continue;
      // Keyed by the policy and the first word after it: `zap pf_taken`.
      prints.set(
        `${formatValue(values[0])} ${formatValue(values[1]).split(" ")[0]}`,
        values.slice(2),
      );
    }
    if (e.event === "plot") {
      const p = e as { title: string; series: Value; y: Value };
      if (p.title === "Time to stop dirty logging") stop.set(formatValue(p.series), Number(p.y));
    }
  }
  return { prints, stop, failed: summary.failed };
}

const outcome = runExample();

Deno.test("dirty_log_recovery example: every expectation holds on emu", async () => {
  const { failed } = await outcome;
  assertEquals(failed, 0);
});

Deno.test("dirty_log_recovery: faults in the next iteration and huge pages recovered", async () => {
  const { prints } = await outcome;
  const of = (policy: string, what: string) => prints.get(`${policy} ${what}`)!;
  // pf_taken: [while stopping, "; in the next iteration", in the next iteration]
  assertEquals(of("zap", "pf_taken").slice(-1), [BigInt(TABLES)], "one refault per 2M page");
  assertEquals(of("in_place", "pf_taken").slice(-1), [0n], "the seed's huge SPTE is writable");
  assertEquals(
    of("in_place_6_13", "pf_taken").slice(-1),
    [BigInt(TABLES)],
    "6.13 keeps the write-protected child's permissions",
  );
  for (const p of ["zap", "in_place", "in_place_6_13"]) {
    assertEquals(of(p, "pf_taken")[0], 0n, `${p}: no fault while stopping`);
    // The slot's 2M pages huge again, and one of the example's 4 MiB system region.
    assertEquals(of(p, "pages_2m")[0], BigInt(TABLES + 1), `${p}: huge again after the iteration`);
  }
  assertEquals(of("zap", "huge_pages_recovered"), [0n]);
  assertEquals(of("in_place", "huge_pages_recovered"), [BigInt(TABLES)]);
  assertEquals(of("in_place_6_13", "huge_pages_recovered"), [BigInt(TABLES)]);
});

Deno.test("dirty_log_recovery: modelled stop time from the cost table, in place below zap", async () => {
  const { stop } = await outcome;
  const c = COSTS;
  // The VMM requests each flush: every vCPU (waiting at the barrier) is interrupted.
  const flush = c.tlbFlushLocal.ns + VCPUS * c.tlbFlushRemotePerVcpu.ns;
  // zap: the tables' leaves under mmu_lock (write), then one flush per zapped table.
  const zapNs = TABLES * 512 * c.spteZap.ns + c.mmuLockUncontended.ns + TABLES * flush;
  // in place: each table's children visited and a huge SPTE installed, one flush.
  const inPlaceNs = TABLES * (512 * c.spteZap.ns + c.spteInstall.ns) + c.mmuLockUncontended.ns +
    flush;
  const ns = (policy: string) => Math.round(stop.get(policy)! * 1e9);
  assertEquals(ns("zap"), zapNs);
  assertEquals(ns("in_place"), inPlaceNs);
  assertEquals(ns("in_place_6_13"), inPlaceNs);
  assertLess(inPlaceNs, zapNs);
});

Deno.test("eager_page_split off: each huge page's split is charged on its first write fault", async () => {
  const script = `
param $eager = off
vm perf {
  cap eager_page_split $eager
  cap manual_dirty_log_protect on
  memslot ram gpa 1G size 8M
  guest dirty_writer { slot ram  iterations 2  stride 4K }
}
run until sync "iter"
memslot ram flags +dirty_log
let $f0 = stat fault_ns
run until sync "iter"
print "fault_ns", stat(fault_ns) - $f0
`;
  const faultNs = async (eager: string) => {
    const output = new MemoryOutput();
    await runScript(parseScript(script, { file: "split.kvm" }), {
      output,
      backend: "emu",
      parameters: { eager: new Word(eager) },
    });
    const e = output.events.find((e) => e.event === "print") as { values: Value[] };
    return Number(e.values[1]);
  };
  const eager = await faultNs("on");
  const lazy = await faultNs("off");
  // The same 2048 write faults either way; off adds one split per 2M page under mmu_lock (read).
  assertEquals(lazy - eager, TABLES * (COSTS.hugePageSplit.ns + COSTS.mmuLockUncontended.ns));
});
