/**
 * `host_cpus N`: with fewer host CPUs than vCPUs the vCPUs wait for one in
 * modelled time (counted in `lock_wait_ns`); by default nobody waits. And
 * `time { }` gives the modelled `$elapsed` beside the wall's `$wall`.
 *
 * @module
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { checkScript, MemoryOutput, parseScript, runScript } from "../../../../dsl/mod.ts";

function script(hostCpus: string): string {
  return `vm v {
  vcpus 4
  ${hostCpus}
  memslot ram gpa 1G size 1M
  guest dirty_writer { slot ram  iterations 1 }
}
on sync "iter" { }
time { run until done }
let $l = stat lock_wait_ns
let $g = stat guest_ns
print $elapsed, $l, $g, $wall
`;
}

async function figures(hostCpus: string): Promise<number[]> {
  const output = new MemoryOutput();
  const s = await runScript(parseScript(script(hostCpus), { file: "h.kvm" }), {
    output,
    backend: "emu",
  });
  assertEquals(s.outcome, "passed");
  return output.printed[0].split(" ").map(Number);
}

Deno.test("host_cpus 1: four vCPUs take turns on one host CPU, in modelled time", async () => {
  const [alone, waitAlone, guestAlone] = await figures("");
  const [shared, waitShared, guestShared] = await figures("host_cpus 1");
  assertEquals(waitAlone, 0);
  assert(waitShared > 0, "the vCPUs waited for the host CPU");
  assertEquals(guestShared, guestAlone); // the same guest work either way
  assert(shared > 2 * alone, `one CPU for 4 vCPUs: ${shared} s vs ${alone} s`);
});

Deno.test("host_cpus must be at least 1", () => {
  const d = checkScript(parseScript(script("host_cpus 0"), { file: "h.kvm" }));
  assertStringIncludes(d.map((x) => x.message).join("\n"), "host_cpus must be between 1");
});
