import { skipKvm } from "../support/kvm_probe.ts";
import { assert, assertEquals } from "@std/assert";
import {
  type ErrorEvent,
  MemoryOutput,
  parseScript,
  type RunProgress,
  runScript,
} from "../../dsl/mod.ts";
import { openVm } from "../../vmm/create.ts";
import { VmmError } from "../../vmm/errors.ts";
import type { Vm } from "../../vmm/types.ts";

const KVM = !skipKvm("run_edges_test");

const SPIN = `vm s { guest spin { } }
run until done timeout 60s
print "not reached"
`;

for (const backend of ["emu", "kvm"] as const) {
  Deno.test({
    name: `a run reports progress and an abort stops it, releasing the VM (${backend})`,
    ignore: backend === "kvm" && !KVM,
    async fn() {
      const output = new MemoryOutput();
      const controller = new AbortController();
      const seen: RunProgress[] = [];
      let closed = 0;
      const summary = await runScript(parseScript(SPIN, { file: "s.kvm" }), {
        output,
        backend,
        signal: controller.signal,
        progressMs: 20,
        // The run ends only once progress was reported: no clock in the test.
        onProgress: (p) => {
          seen.push(p);
          controller.abort("test stop");
        },
        openVm: (config, choice) => {
          const vm: Vm = openVm(config, choice);
          const close = vm.close.bind(vm);
          vm.close = () => {
            closed++;
            close();
          };
          return vm;
        },
      });
      assertEquals(summary.outcome, "interrupted");
      assert(closed >= 1, "the VM was closed");
      assertEquals(output.printed, []);
      const [p] = seen;
      assertEquals([p.vm, p.backend, p.vcpus], ["s", backend, 1]);
      assert(p.exits >= 0n && p.ucalls === 0n, `${p.exits} exits, ${p.ucalls} ucalls`);
      const error = output.events.find((e) => e.event === "error") as ErrorEvent;
      assertEquals(error.message, "interrupted by test stop");
      assertEquals(error.location, { file: "s.kvm", line: 2, column: 1 });
      const last = output.events.at(-1)!;
      assertEquals(last.event === "summary" && last.outcome, "interrupted");
    },
  });
}

Deno.test("a run aborted before it starts opens no VM", async () => {
  const output = new MemoryOutput();
  let opened = 0;
  const summary = await runScript(parseScript(SPIN, { file: "s.kvm" }), {
    output,
    backend: "emu",
    signal: AbortSignal.abort("SIGINT"),
    openVm: (config, choice) => {
      opened++;
      return openVm(config, choice);
    },
  });
  assertEquals([summary.outcome, opened], ["interrupted", 0]);
});

Deno.test("an error of kind 'invalid' makes the outcome invalid, any other backend_failed", async () => {
  for (const [kind, outcome] of [["invalid", "invalid"], ["backend", "backend_failed"]] as const) {
    const summary = await runScript(parseScript("vm a { }\n", { file: "a.kvm" }), {
      output: new MemoryOutput(),
      openVm: () => {
        throw new VmmError("refused", { kind });
      },
    });
    assertEquals(summary.outcome, outcome);
  }
});
