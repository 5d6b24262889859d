/**
 * Modelled time end to end: the same script prints the same modelled
 * figures on every run (no wall time in the model), and the demand-paging
 * sweep's direction comes out of the contention (exits rise with vCPUs, one
 * userfaultfd does not).
 *
 * @module
 */
import { assert, assertEquals, assertGreater } from "@std/assert";
import { MemoryOutput, parseScript, runScript } from "../../../../dsl/mod.ts";

/** 16 pages per vCPU, served by one userfaultfd (a handler per vCPU) or by memory-fault exits. */
const SWEEP = `for $n in [1, 4, 16, 64] {
  vm u {
    vcpus $n
    memslot ram gpa 1G size 64K * $n backing absent hugepage 4K
    guest dirty_writer { slot ram  iterations 1 }
  }
  demand uffd ram handlers $n
  on sync "iter" { }
  time { run until done timeout 60s }
  let $w = stat uffd_wait_ns
  let $l = stat lock_wait_ns
  print "uffd", $n, 16 * $n / $elapsed, $w, $l
  vm x {
    vcpus $n
    cap x86_memory_fault_exit absent_mapping
    memslot ram gpa 1G size 64K * $n absent_fault backing absent hugepage 4K
    guest dirty_writer { slot ram  iterations 1 }
  }
  on memory_fault { memslot ram populate offset $fault.gpa - 1G size 4K }
  on sync "iter" { }
  time { run until done timeout 60s }
  let $m = stat modelled_ns
  print "exits", $n, 16 * $n / $elapsed, $m
}
vm d {
  vcpus 4
  memslot ram gpa 1G size 16M dirty_log
  guest dirty_writer { slot ram  iterations 2 }
}
run until sync "iter"
let $g = dirty_log ram clear
run until sync "iter"
time { memslot ram flags -dirty_log }
print "disable", $elapsed
`;

async function printed(): Promise<string[]> {
  const output = new MemoryOutput();
  const summary = await runScript(parseScript(SWEEP, { file: "sweep.kvm" }), {
    output,
    backend: "emu",
  });
  assertEquals(summary.outcome, "passed");
  return output.printed;
}

Deno.test("modelled figures are identical across two runs of the same script", async () => {
  const a = await printed();
  const b = await printed();
  assertEquals(a.length, 9);
  assertEquals(a, b);
  // The figures are modelled (they would differ between runs if wall time leaked in).
  const rate = (kind: string, n: number) =>
    Number(a.find((l) => l.startsWith(`${kind} ${n} `))!.split(" ")[2]);
  // Exits: every vCPU serves its own fault, so the rate rises with vCPUs.
  assertGreater(rate("exits", 4), rate("exits", 1));
  assertGreater(rate("exits", 64), rate("exits", 16));
  // One userfaultfd: its queue's lock and wake-up scan stop the rise.
  assertGreater(rate("uffd", 16), rate("uffd", 64));
  assertGreater(rate("exits", 64), 10 * rate("uffd", 64));
  const disable = Number(a.at(-1)!.split(" ")[1]);
  assert(disable > 0 && disable < 1, `dirty-log disable took ${disable} modelled s`);
});
