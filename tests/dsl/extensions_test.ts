/**
 * The extensions recorded in dsl/README.md ("Extensions and decisions"):
 * `if`, the built-in variables, guest `fail`, lenient `expect error`
 * memslot checks, stats a backend cannot provide, the invalid summary.
 */
import { skipKvm } from "../support/kvm_probe.ts";
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { parseScript } from "../../dsl/parse.ts";
import { type ErrorEvent, formatSummary } from "../../dsl/mod.ts";
import { selectBackend } from "../../vmm/create.ts";
import { errors, failures, problems, run } from "../support/dsl_run.ts";
import type { VcpuExit } from "../../vmm/types.ts";

const KVM = !skipKvm("dsl_extensions_test");

// ---- if ------------------------------------------------------------------

Deno.test("parseScript() reads if / else if / else chains as one step", () => {
  const script = parseScript(
    `if 1 == 1 { print "a" } else if 2 == 2 { print "b" } else if false { } else { print "c" }\nprint "after"`,
  );
  assertEquals(script.body.length, 2);
  const step = script.body[0];
  assert(step.kind === "if");
  assertEquals(step.branches.map((b) => b.condition.source), ["1 == 1", "2 == 2", "false"]);
  assertEquals(step.branches.map((b) => b.body.length), [1, 1, 0]);
  assertEquals(step.otherwise?.length, 1);
  const plain = parseScript(`if true { print 1 }`).body[0];
  assert(plain.kind === "if");
  assertEquals(plain.otherwise, undefined);
});

Deno.test("parseScript() reports an 'if' without a block", () => {
  let message = "";
  try {
    parseScript(`if true print 1`, { file: "p.kvm" });
  } catch (e) {
    message = (e as Error).message;
  }
  assertStringIncludes(message, "p.kvm:1:9: error: expected '{' but found 'print'");
});

Deno.test("checkScript() requires a boolean 'if' condition where the type is known", () => {
  assertEquals(problems(`if 1 { print 1 }`), ["1:4 'if' needs a boolean but '1' is an integer"]);
  assertEquals(problems(`if true { } else if "x" { }`), [
    "1:21 'if' needs a boolean but '\"x\"' is a string",
  ]);
  assertEquals(problems(`let $n = 3\nif $n > 2 and not false { print $n }`), []);
});

Deno.test("checkScript() allows 'if' at top level, in loops and in handlers", () => {
  assertEquals(
    problems(`vm a { memslot ram gpa 1M size 64K  guest write_sweep { slot ram } }
if $backend == kvm { print "kvm" } else { print "emu" }
for $i in [1, 2] { if $i == 2 { print $i } }
repeat 2 { if true { mark } }
on sync "pass" { if $exit.value > 1 { print "late" } else { print "early" } }
run until done
`),
    [],
  );
  assertEquals(problems(`on sync "x" { }`).length, 1); // sanity: handlers need a vm
  assertEquals(
    problems(`vm a { memslot ram gpa 1M size 64K  guest write_sweep { slot ram } }
on sync "pass" { if true { run } }
if true { vm b { } }
`),
    // A vm block inside an `if` is allowed since version 2 (backend-specific VMs).
    ["2:28 'run' cannot be used inside a handler"],
  );
});

Deno.test("checkScript() knows variables assigned in any branch after the 'if'", () => {
  assertEquals(
    problems(`if true { let $a = 1 } else if false { let $b = "x" }
print $a, $b
print $c
`),
    ["3:7 variable '$c' is used before any 'let' assigns it"],
  );
  // Types that differ between branches become unknown: no false alarm.
  assertEquals(problems(`let $v = 1\nif true { let $v = "s" }\nprint $v + 1`), []);
  // One branch's variables are not known in another.
  assertEquals(problems(`if true { let $a = 1 } else { print $a }`), [
    "1:37 variable '$a' is used before any 'let' assigns it",
  ]);
});

Deno.test("runScript() takes the first branch whose condition holds (emu)", async () => {
  const o = await run(
    "emu",
    `for $i in [1, 2, 3] {
  if $i == 1 { print "one" } else if $i == 2 { print "two" } else { print "many" }
}
if false { print "no" }
print "end"
`,
  );
  assertEquals(o.printed, ["one", "two", "many", "end"]);
  assertEquals(o.summary.outcome, "passed");
});

Deno.test("runScript() stops at a non-boolean 'if' condition found at run time (emu)", async () => {
  const o = await run("emu", `let $l = [1]\nfor $x in $l { if $x { print "no" } }`);
  assertEquals(o.summary.outcome, "backend_failed");
  assertEquals(errors(o), [
    "x.kvm:2:19: error: 'if' needs a boolean but '$x' is an integer\n" +
    'for $x in $l { if $x { print "no" } }\n                  ^~',
  ]);
});

// ---- built-in variables -------------------------------------------------

Deno.test("checkScript() knows $backend, $mmu and $vcpus and keeps them read-only", () => {
  assertEquals(problems(`print $backend\nvm a { vcpus 2 }\nprint $mmu, $vcpus`), []);
  assertEquals(problems(`print $mmu\nprint $vcpus + 1`), [
    "1:7 $mmu needs a vm: declare one with 'vm NAME { … }' before it",
    "2:7 $vcpus needs a vm: declare one with 'vm NAME { … }' before it",
  ]);
  assertEquals(problems(`vm a { }\nexpect $vcpus == "x" or $vcpus + 1 > 1`), []);
  assertEquals(problems(`vm a { }\nprint $vcpus.x`), [
    "2:14 '$vcpus' is an integer: it has no fields",
  ]);
  assertEquals(
    problems(`let $backend = emu\nfor $mmu in [1] { }\ntime { } -> $vcpus`),
    [
      "1:5 $backend is read-only",
      "2:5 $mmu is read-only",
      "3:13 $vcpus is read-only",
    ],
  );
});

for (const backend of ["emu", "kvm"] as const) {
  const ignore = backend === "kvm" && !KVM;
  const test = (name: string, fn: () => Promise<void>) =>
    Deno.test({ name: `${name} (${backend})`, ignore, fn });

  test("runScript() reads $backend, $mmu and $vcpus of the current VM", async () => {
    const o = await run(
      backend,
      `print $backend
vm a { vcpus 2 }
print $backend, $mmu, $vcpus
expect $backend == ${backend}
expect $vcpus == 2
expect $mmu == tdp or $mmu == shadow
`,
    );
    assertEquals(failures(o), []);
    assertEquals(o.summary.outcome, "passed");
    assertEquals(o.printed[0], backend);
    const [b, mmu, vcpus] = o.printed[1].split(" ");
    assertEquals([b, vcpus], [backend, "2"]);
    assert(mmu === "tdp" || mmu === "shadow", mmu);
  });

  test("runScript() lets one script report backend-specific facts with 'if'", async () => {
    // The kvm backend refuses `cap page_write_tracking off`: the host's state is fixed.
    const o = await run(
      backend,
      `vm a { }
if $backend == kvm {
  print "kvm: write tracking is the host's"
} else if $backend == emu {
  cap page_write_tracking off
  print "emu: write tracking off"
} else {
  expect false else "unknown backend"
}
`,
    );
    assertEquals(failures(o), []);
    assertEquals(o.summary.outcome, "passed");
    assertEquals(o.printed, [
      backend === "kvm" ? "kvm: write tracking is the host's" : "emu: write tracking off",
    ]);
  });

  // ---- expect error on memslot operations the kernel rejects ------------

  test("'expect error' checks and passes on memslot operations the kernel rejects", async () => {
    const text = `vm a {
  memslot s gpa 0x2000000 size 64K
  memslot t gpa 0x3000000 size 64K
}
expect error EINVAL { memslot s move gpa 0x2000800 }
expect error EINVAL { memslot u gpa 0x4000800 size 64K }
expect error EINVAL { memslot v gpa 0x5000000 size 0x1800 }
expect error EEXIST { memslot s move gpa 0x3000000 }
expect error EEXIST { memslot w gpa 0x3008000 size 64K }
`;
    assertEquals(problems(text), []);
    const o = await run(backend, text);
    assertEquals(failures(o), []);
    assertEquals([o.summary.passed, o.summary.failed, o.summary.outcome], [5, 0, "passed"]);
  });

  // ---- stats a backend cannot provide ----------------------------------

  test("'stats' and 'let … = stat' name the backend for a stat it cannot provide", async () => {
    // Every stat is provided by the emulator; kvm does not count instructions.
    const o = await run(backend, `vm a { }\nstats ucalls instructions\n`);
    if (backend === "emu") {
      assertEquals(o.summary.outcome, "passed");
      assertEquals(o.events[0].event, "stats");
      return;
    }
    assertEquals(o.summary.outcome, "backend_failed");
    assertEquals(o.events.filter((e) => e.event === "stats"), []);
    const [error] = errors(o);
    assertStringIncludes(
      error,
      'x.kvm:2:14: error: stat "instructions" is not provided by the kvm backend',
    );
    assertStringIncludes(error, "stats ucalls instructions\n             ^~~~~~~~~~~~");
    const l = await run(backend, `vm a { }\nlet $x = stat instructions\nprint $x\n`);
    assertEquals(l.summary.outcome, "backend_failed");
    assertEquals(l.printed, []);
    assertStringIncludes(
      errors(l)[0],
      'x.kvm:2:15: error: stat "instructions" is not provided by the kvm backend',
    );
  });
}

Deno.test("runScript() resolves $backend before any vm as --backend / auto would", async () => {
  const o = await run(undefined, `print $backend`);
  assertEquals(o.printed, [selectBackend("auto").kind]);
  assertEquals(o.summary.backends, []);
  assertEquals((await run("emu", `print $backend`)).printed, ["emu"]);
});

Deno.test("checkScript() reports $mmu read after the loop that owned the vm", () => {
  assertEquals(problems(`repeat 1 { vm a { } }\nprint $mmu`), [
    "2:7 $mmu needs a vm: declare one with 'vm NAME { … }' before it",
  ]);
});

// ---- guest fail ----------------------------------------------------------

Deno.test("runScript() reports a guest 'fail' at the run and counts it as a failure (emu)", async () => {
  const fail: VcpuExit = { reason: "fail", vcpu: 1, message: "readback", value: 0x2an };
  const o = await run(
    "emu",
    `vm a { vcpus 2  memslot ram gpa 1M size 64K  guest write_sweep { slot ram } }
run until done
expect $exit.reason == fail
print "still running"
`,
    (vm) => {
      vm.run = () => Promise.resolve(fail);
    },
  );
  assertEquals(errors(o), [
    "x.kvm:2:1: error: guest vCPU 1 failed: readback (value 0x2a)\nrun until done\n^~~",
  ]);
  assertEquals(o.printed, ["still running"]);
  assertEquals([o.summary.passed, o.summary.failed, o.summary.outcome], [
    1,
    1,
    "expectation_failed",
  ]);
  const event = o.events.find((e) => e.event === "error") as ErrorEvent;
  assertEquals(event.location, { file: "x.kvm", line: 2, column: 1 });
  assertEquals(event.message, "guest vCPU 1 failed: readback (value 0x2a)");
});

// ---- summary of an invalid script -----------------------------------------

Deno.test("formatSummary() says nothing ran for an invalid script", () => {
  const summary = { event: "summary", passed: 0, failed: 0, wallMs: 10 } as const;
  assertEquals(
    formatSummary({ ...summary, backend: "none", outcome: "invalid" }),
    "0 expectations passed, 0 failed; backend none (nothing ran: the script is invalid); 0.01 s",
  );
  assertEquals(
    formatSummary({ ...summary, backend: "none", outcome: "passed" }),
    "0 expectations passed, 0 failed; backend none; 0.01 s",
  );
});
