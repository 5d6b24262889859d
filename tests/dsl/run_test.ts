import { TEST_WATCHDOG_MS } from "../support/wait.ts";
import { skipKvm } from "../support/kvm_probe.ts";
import {
  assert,
  assertEquals,
  assertGreater,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import { MemoryOutput, parseScript, runScript } from "../../dsl/mod.ts";
import type { ExpectEvent, OutputEvent, RunSummary } from "../../dsl/mod.ts";
import { openVm } from "../../vmm/create.ts";
import type { BackendKind, Vm } from "../../vmm/types.ts";

const KVM = !skipKvm("dsl_run_test");

interface Outcome {
  summary: RunSummary;
  events: OutputEvent[];
  printed: string[];
  /** VMs opened and VMs closed. */
  opened: number;
  closed: number;
}

/** Runs a script on one backend, counting the VMs it opens and closes. */
async function run(backend: BackendKind, text: string, watchdogMs?: number): Promise<Outcome> {
  const output = new MemoryOutput();
  let opened = 0;
  let closed = 0;
  const summary = await runScript(parseScript(text, { file: "run.kvm" }), {
    output,
    backend,
    watchdogMs: watchdogMs ?? TEST_WATCHDOG_MS,
    openVm: (config, choice) => {
      const vm: Vm = openVm(config, choice);
      opened++;
      const close = vm.close.bind(vm);
      vm.close = () => {
        closed++;
        close();
      };
      return vm;
    },
  });
  return { summary, events: output.events, printed: output.printed, opened, closed };
}

function failures(o: Outcome): string[] {
  return o.events.flatMap((
    e,
  ) => (e.event === "expect" && !e.ok ? [(e as ExpectEvent).diagnostic!] : []));
}

const QUICKSTART = `vm hello {
  vcpus 1
  memslot ram gpa 0x100000 size 64M
  guest write_sweep { slot ram  stride 4K  passes 2 }
}
run until done timeout 120s
expect $exit.reason == done
let $d = stat pf_taken
print "faults taken:", $d
let $u = stat ucalls
expect $u == 3
`;

for (const backend of ["emu", "kvm"] as const) {
  const ignore = backend === "kvm" && !KVM;
  const test = (name: string, fn: () => Promise<void>) =>
    Deno.test({ name: `${name} (${backend})`, ignore, fn });

  test("runScript() runs the quickstart and closes its VM", async () => {
    const o = await run(backend, QUICKSTART);
    assertEquals(failures(o), []);
    assertEquals(o.summary.outcome, "passed");
    assertEquals([o.summary.passed, o.summary.failed], [2, 0]);
    assertEquals(o.summary.backends, [backend]);
    assertMatch(o.printed[0], /^faults taken: \d+$/);
    assertEquals([o.opened, o.closed], [1, 1]);
    assertEquals(o.events.at(-1)?.event, "summary");
  });

  test("runScript() runs sync handlers and stops at 'until sync'", async () => {
    const o = await run(
      backend,
      `vm a {
  memslot ram gpa 1M size 1M
  guest write_sweep { slot ram  passes 3 }
}
run until sync "pass" timeout 120s
expect $exit.reason == sync and $exit.label == "pass"
let $n = 0
on sync "pass" { let $n = $n + 1 }
run until done timeout 120s
expect $exit.reason == done
expect $n == 2 else "the handler stays in effect and sees each later pass"
`,
    );
    assertEquals(failures(o), []);
    assertEquals(o.summary.outcome, "passed");
  });

  test("runScript() stops a bounded run with a timeout exit", async () => {
    const o = await run(
      backend,
      `vm s { guest spin { } }\nrun timeout 50ms\nexpect $exit.reason == timeout\n`,
    );
    assertEquals(failures(o), []);
    assertEquals(o.summary.outcome, "passed");
  });

  test("runScript() fails with exit 3 when the watchdog fires, naming vCPU and RIP", async () => {
    const o = await run(backend, `vm s { guest spin { } }\nrun\nprint "not reached"\n`, 200);
    assertEquals(o.summary.outcome, "backend_failed");
    const error = o.events.find((e) => e.event === "error");
    assert(error?.event === "error");
    assertMatch(error.diagnostic, /^run\.kvm:2:1: error: watchdog: vCPU 0 .* RIP 0x[0-9a-f]+/);
    assertEquals(o.printed, []);
    assertEquals([o.opened, o.closed], [1, 1]);
  });

  test("runScript() creates a vm afresh in each loop iteration and closes each", async () => {
    const o = await run(
      backend,
      `let $runs = 0
for $size in [64K, 128K] {
  vm v {
    memslot ram gpa 1M size $size
    guest write_sweep { slot ram  size $size }
  }
  run until done timeout 120s
  expect $exit.reason == done
  let $runs = $runs + 1
}
repeat 2 { vm r { memslot m gpa 1M size 4K } }
expect $runs == 2
`,
    );
    assertEquals(failures(o), []);
    assertEquals([o.opened, o.closed], [4, 4]);
  });

  test("runScript() checks 'expect error' and keeps going after a failed expectation", async () => {
    const o = await run(
      backend,
      `vm a { memslot ram gpa 1M size 64K }
expect error EEXIST { memslot dup gpa 1M size 4K }
expect error EINVAL { memslot dup gpa 1M size 4K }
expect error EEXIST { memslot fresh gpa 2M size 4K }
expect 1 + 1 == 3
print "still running"
`,
    );
    assertEquals(o.summary.outcome, "expectation_failed");
    assertEquals([o.summary.passed, o.summary.failed], [1, 3]);
    const [wrongErrno, succeeded, arithmetic] = failures(o);
    assertStringIncludes(wrongErrno, "run.kvm:3:1: error: expected EINVAL but got EEXIST:");
    assertStringIncludes(succeeded, "run.kvm:4:1: error: expected EEXIST but the step succeeded");
    assertEquals(
      arithmetic,
      "run.kvm:5:8: error: expectation failed: 1 + 1 == 3 (1 + 1 = 2)\nexpect 1 + 1 == 3\n       ^~~~~~~~~~",
    );
    assertEquals(o.printed, ["still running"]);
  });

  test("runScript() reads dirty logs, host memory, marks and stats", async () => {
    const o = await run(
      backend,
      `vm d {
  memslot ram gpa 1M size 1M dirty_log
  guest write_sweep { slot ram  passes 2 }
}
run until sync "pass" timeout 120s
let $d = dirty_log ram clear
expect $d.pages == 256 and $d.first == 0 and $d.last == 255
mark "second pass"
run until done timeout 120s
stats ucalls
let $w = memslot ram read offset 0
memslot ram write offset 0 value -1
let $r = memslot ram read offset 0
expect $r == 0xffff_ffff_ffff_ffff
time { let $x = 1 } -> $t
expect $t >= 0 and $t < 5.0
print hex($r), $w
`,
    );
    assertEquals(failures(o), []);
    const stats = o.events.find((e) => e.event === "stats");
    assert(stats?.event === "stats");
    assertEquals(stats.mark, "second pass");
    assertEquals(stats.stats, { ucalls: 2n });
    assertMatch(o.printed[0], /^0xffffffffffffffff \d+$/);
  });

  test("runScript() reports a runtime error at the step and closes the VM", async () => {
    const o = await run(
      backend,
      `vm a { memslot ram gpa 1M size 64K }\nmemslot ram delete\nmemslot ram delete\n`,
    );
    assertEquals(o.summary.outcome, "backend_failed");
    const error = o.events.find((e) => e.event === "error");
    assert(error?.event === "error");
    assertEquals(error.location, { file: "run.kvm", line: 3, column: 1 });
    assertEquals(error.stack, undefined);
    assertEquals([o.opened, o.closed], [1, 1]);
  });
}

Deno.test("runScript() serves memory faults through 'on memory_fault' (emu)", async () => {
  const o = await run(
    "emu",
    `vm lazy {
  cap x86_memory_fault_exit absent_mapping
  memslot ram gpa 1G size 4M absent_fault backing absent
  guest touch { slot ram  count 16  write on }
}
expect error EINVAL { cap memory_fault_nowait }
let $faults = 0
on memory_fault {
  let $faults = $faults + 1
  expect $fault.reason == memory_fault and $fault.len == 4096
  memslot ram populate offset $fault.gpa - 1G size 4K
}
run until done timeout 120s
expect $exit.reason == done
let $m = stat memory_fault_exits
expect $faults == 16 and $m == 16
`,
  );
  assertEquals(failures(o), []);
  assertGreater(o.summary.passed, 16);
});

Deno.test("runScript() gives a virtio_gpu its shm memslot and reads memory types (emu)", async () => {
  const o = await run(
    "emu",
    `vm gpu {
  device virtio_gpu gpu { mmio 0xd000_0000  shm gpa 0x1_0000_0000 size 16M  noncoherent }
  guest gpu_fill { device gpu  pat wc  size 1M }
}
run until done timeout 120s
let $t = memtype gpa 0x1_0000_0000
expect $t.type == WC and not $t.ipat
print $t
`,
  );
  assertEquals(failures(o), []);
  assertEquals(o.printed, ["{type: WC, ipat: false}"]);
});

Deno.test("runScript() registers 'via kvm_device' VM-wide on emu and kvm refuses it", async () => {
  const script =
    `vm gpu { device virtio_gpu gpu { mmio 0xd000_0000  shm gpa 4G size 16M  noncoherent via kvm_device } }\n`;
  const emu = await run("emu", script);
  assertEquals(emu.summary.outcome, "passed");
  if (!KVM) return;
  const o = await run("kvm", script);
  assertEquals(o.summary.outcome, "backend_failed");
  const error = o.events.find((e) => e.event === "error");
  assert(error?.event === "error");
  assertStringIncludes(error.message, "KVM_DEV_TYPE_VIRTIO");
  assertEquals([o.opened, o.closed], [1, 1]);
});

Deno.test("runScript() serves missing pages through 'demand uffd' (emu)", async () => {
  const o = await run(
    "emu",
    `vm lazy {
  memslot ram gpa 1G size 4M backing absent
  guest touch { slot ram  count 16  write on }
}
demand uffd ram handlers 2
run until done timeout 120s
expect $exit.reason == done
let $u = stat uffd_faults
expect $u == 16
`,
  );
  assertEquals(failures(o), []);
  assertEquals(o.summary.outcome, "passed");
});

Deno.test("runScript() stops at a script error found at run time, with the caret on the expression", async () => {
  const o = await run("emu", `let $z = 0\nprint "before"\nprint 1 / $z\nprint "after"\n`);
  assertEquals(o.summary.outcome, "backend_failed");
  assertEquals(o.printed, ["before"]);
  const error = o.events.find((e) => e.event === "error");
  assert(error?.event === "error");
  assertEquals(
    error.diagnostic,
    "run.kvm:3:7: error: division by zero in '1 / $z'\nprint 1 / $z\n      ^~~~~~",
  );
});

Deno.test("runScript() re-checks a layout computed from variables when it builds the VM", async () => {
  const o = await run(
    "emu",
    `for $base in [1M, 0xc0000] {
  vm v { memslot ram gpa $base size 256K }
}
`,
  );
  assertEquals(o.summary.outcome, "backend_failed");
  const error = o.events.find((e) => e.event === "error");
  assert(error?.event === "error");
  assertEquals(
    error.message,
    "memslot 'ram' [0xc0000, 0x100000) overlaps the system region [0x0, 0x100000)",
  );
  assertEquals([o.opened, o.closed], [1, 1]);
});
