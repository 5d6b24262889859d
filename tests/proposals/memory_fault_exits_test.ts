/**
 * Seed 003 (memory-fault exits) on the emulator: MINOR faults cost the
 * handler a UFFDIO_CONTINUE instead of a UFFDIO_COPY, and the example's
 * sweep keeps the seed's direction (exits beat one userfaultfd, by more the
 * more vCPUs share it). Modelled time only: no wall-clock assertion.
 */
import { assert, assertEquals, assertGreater } from "@std/assert";
import { MemoryOutput, parseScript, runScript } from "../../dsl/mod.ts";
import { COSTS } from "../../vmm/emu/time/costs.ts";

async function emu(text: string, file = "p.kvm") {
  const output = new MemoryOutput();
  const summary = await runScript(parseScript(text, { file }), { output, backend: "emu" });
  assertEquals(summary.failed, 0);
  assertEquals(summary.outcome, "passed");
  return output;
}

/** One vCPU writes 16 pages served by one userfaultfd in MISSING or MINOR mode. */
function demand(minor: boolean): string {
  return `vm d {
  memslot ram gpa 1G size 64K backing ${minor ? "memfd" : "absent"} hugepage 4K
  guest dirty_writer { slot ram  iterations 1 }
}
demand uffd ram${minor ? " minor" : ""} handlers 1
on sync "iter" { }
run until done
let $f = stat uffd_faults
let $w = stat uffd_wait_ns
print $f, $w
`;
}

Deno.test("emu: a MINOR fault's handler work is UFFDIO_CONTINUE, a MISSING one's UFFDIO_COPY", async () => {
  const [missing, minor] = await Promise.all([emu(demand(false)), emu(demand(true))]);
  const [fm, wm] = missing.printed[0].split(" ").map(Number);
  const [fn, wn] = minor.printed[0].split(" ").map(Number);
  assertEquals([fm, fn], [16, 16]);
  // One vCPU, one handler: nothing contends, so the waits differ by the handler's work alone.
  assertEquals(wm - wn, 16 * (COSTS.uffdioCopy4k.ns - COSTS.uffdioContinue4k.ns));
  assertGreater(COSTS.uffdioCopy4k.ns, COSTS.uffdioContinue4k.ns);
});

Deno.test("examples/memory_fault_exits.kvm on emu: exits beat one userfaultfd, more so with more vCPUs", async () => {
  const path = new URL("../../examples/memory_fault_exits.kvm", import.meta.url);
  const text = Deno.readTextFileSync(path)
    .replace(/^param \$vcpus_list = .*$/m, "param $vcpus_list = [1, 64]")
    .replace(/^param \$pages = .*$/m, "param $pages = 16");
  const output = await emu(text, "memory_fault_exits.kvm");
  const rate = new Map<string, number>();
  for (const e of output.events) {
    if (e.event !== "plot") continue;
    rate.set(`${e.series!.includes("uffd") ? "uffd" : "exits"} ${e.x}`, Number(e.y));
  }
  assertEquals([...rate.keys()].sort(), ["exits 1", "exits 64", "uffd 1", "uffd 64"]);
  const gain = (n: number) => rate.get(`exits ${n}`)! / rate.get(`uffd ${n}`)!;
  assertGreater(gain(1), 1);
  assertGreater(gain(64), 5 * gain(1));
  // Exits scale with vCPUs; one userfaultfd does not keep up.
  assertGreater(rate.get("exits 64")!, 32 * rate.get("exits 1")!);
  assert(rate.get("uffd 64")! < 32 * rate.get("uffd 1")!);
  assert(output.printed.some((t) => t.startsWith("model checked against, not fitted to")));
});
