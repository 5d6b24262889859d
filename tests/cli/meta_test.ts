import { assert, assertEquals, assertMatch } from "@std/assert";
import config from "../../deno.json" with { type: "json" };
import { EXIT_CODES, exitCodeFor } from "../../cli/exit_codes.ts";
import { formatProgress, ProgressLine } from "../../cli/progress.ts";
import { type CliResult, runVmm } from "../support/cli.ts";

const VMM = new URL("../../vmm.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

function vmm(script: string, ...flags: string[]): Promise<CliResult> {
  return runVmm(["-A"], script, ...flags);
}

Deno.test("one table maps outcomes to exit codes; signals to 128 + their number", () => {
  assertEquals(EXIT_CODES, { passed: 0, expectation_failed: 1, invalid: 2, backend_failed: 3 });
  assertEquals([exitCodeFor("interrupted", "SIGINT"), exitCodeFor("interrupted", "SIGTERM")], [
    130,
    143,
  ]);
});

Deno.test("vmm.ts --version prints deno.json's version", async () => {
  const out = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", VMM, "--version"] })
    .output();
  assertEquals([out.code, decoder.decode(out.stdout)], [0, `kvmmu ${config.version}\n`]);
});

Deno.test("the first --json event is meta: tool, script, parameters, backend, host", async () => {
  const r = await vmm("print 1\n", "--json", "--backend", "emu");
  assertEquals(r.code, 0, r.stderr);
  const meta = JSON.parse(r.stdout.split("\n")[0]);
  assertEquals(
    [meta.event, meta.version, meta.script, meta.parameters, meta.backend, meta.deno],
    ["meta", config.version, "t.kvm", {}, "emu", Deno.version.deno],
  );
  assertEquals(meta.kernel, Deno.readTextFileSync("/proc/sys/kernel/osrelease").trim());
  assertMatch(meta.kvmModule, /^(kvm_intel|kvm_amd|kvm_pvm|none)$/);
  assertMatch(meta.mmu, /^emu /);
  assert(meta.cpu.length > 0);
  // People get no meta line.
  const human = await vmm("print 1\n", "--backend", "emu");
  assertEquals(human.stdout.split("\n")[0], "1");
});

Deno.test("no progress line when stderr is not a terminal, even for a run over 2 s", async () => {
  const r = await vmm("vm s { guest spin { } }\nrun timeout 2500ms\n", "--backend", "emu");
  assertEquals([r.code, r.stderr], [0, ""]);
});

Deno.test("the progress line: from 2 s on, with the exit rate, erased before other output", () => {
  const written: string[] = [];
  const line = new ProgressLine((t) => written.push(t));
  const at = (ms: number, exits: bigint) => ({
    vm: "s",
    backend: "kvm" as const,
    vcpus: 2,
    exits,
    ucalls: 7n,
    elapsedMs: ms,
  });
  line.update(at(1000, 100n));
  line.clear();
  assertEquals(written, [], "nothing before 2 s, nothing to erase");
  line.update(at(2000, 1100n));
  assertEquals(written, ["\r\x1b[Kvm s (kvm): 2 vCPUs, 1100 exits, 7 ucalls, 1000 exits/s, 2.0 s"]);
  line.clear();
  line.clear();
  assertEquals(written.slice(1), ["\r\x1b[K"]);
  assertEquals(
    formatProgress({ ...at(3500, 5n), vcpus: 1 }, 2.4),
    "vm s (kvm): 1 vCPU, 5 exits, 7 ucalls, 2 exits/s, 3.5 s",
  );
});
