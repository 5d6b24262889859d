/**
 * Version 2's "values are expressions everywhere" and "control flow and
 * checks": expressions in every value position, dotted slot names, `vm`
 * inside `if`, `expect error … else`, loop-carried variables, reserved
 * variable names, and the functions of `dsl/functions.ts`.
 */
import { skipKvm } from "../support/kvm_probe.ts";
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { errors, failures, type Outcome, problems, run } from "../support/dsl_run.ts";
import type { BackendKind } from "../../vmm/types.ts";

const KVM = !skipKvm("dsl_values_test");

/** Runs a script that must check clean. */
function checkedRun(backend: BackendKind, text: string): Promise<Outcome> {
  assertEquals(problems(text), []);
  return run(backend, text);
}

const SLOT = "memslot ram gpa 1M size 64K";

Deno.test("values: cap, quirk, backend, mmu, backing and flags take expressions (emu)", async () => {
  const o = await checkedRun(
    "emu",
    `let $p = 4
let $q = off
let $b = memfd
let $f = [dirty_log]
let $mode = "tdp"
vm a {
  backend "emu"
  mmu $mode
  cap memslot_zap_control $p - 3
  quirk slot_zap_all $q
  ${SLOT} flags $f backing $b
  memslot rom gpa 2M size 4K flags [readonly, dirty_log]
}
expect error EINVAL { cap memslot_zap_control $p }
expect error EINVAL { cap page_write_tracking 2 }
expect error EINVAL { cap memslot_zap_control 4 }
cap memslot_zap_control zap_all
memslot ram flags -dirty_log
expect error ENOENT { let $d = dirty_log ram }
let $d = dirty_log rom
expect $d.pages == 0
`,
  );
  assertEquals([errors(o), failures(o)], [[], []]);
  assertEquals([o.summary.outcome, o.summary.passed], ["passed", 5]);
});

Deno.test("values: static values are checked with a caret and the allowed words", () => {
  assertEquals(
    problems(`vm a {
  backend "qemu"
  mmu 3
  cap memslot_zap_control zap_som
  quirk slot_zap_all maybe
  ${SLOT} flags [dirty_log, rdonly] backing 3
  memslot b gpa 2M size 4K readonly flags [dirty_log]
  memslot c gpa 3M size 4K flags 7
}
cap page_write_tracking [1]
`),
    [
      "2:11 unknown backend 'qemu' (expected auto, kvm, emu)",
      "3:7 mmu must be a word (tdp, shadow), not an integer",
      "4:27 capability 'memslot_zap_control' takes zap_only_memslot, zap_all, not 'zap_som'",
      "5:22 unknown quirk setting 'maybe' (expected on, off)",
      "6:49 unknown memslot flag 'rdonly' (expected dirty_log, readonly, absent_fault, noncoherent_dma)",
      "6:65 backing must be a word (anon, memfd, hugetlb, absent), not an integer",
      "7:43 'flags [ … ]' sets the whole set: do not also list flags one by one",
      "8:34 'flags' needs a list of flags (e.g. [dirty_log, readonly]), not an integer",
      "10:25 capability 'page_write_tracking' must be a word or an integer (on, off, on_demand), not a list",
    ],
  );
  // Bare words stay enum words; `cap NAME` alone is `on`.
  assertEquals(
    problems(`vm a { cap page_write_tracking on; cap memory_fault_nowait; mmu shadow; ${SLOT} }`),
    [],
  );
});

Deno.test("values: a bad value computed at run time is a located error, exit 3 (emu)", async () => {
  for (
    const [decl, where] of [
      ["memslot r gpa 1M size 4K backing $w", "2:40: error: unknown backing 'swap' (expected anon"],
      ["memslot r gpa 1M size 4K flags [$w]", "2:38: error: unknown memslot flag 'swap'"],
      ["mmu $w", "2:11: error: unknown mmu 'swap' (expected tdp, shadow)"],
      ["quirk slot_zap_all $w", "2:26: error: unknown quirk setting 'swap' (expected on, off)"],
    ]
  ) {
    const o = await checkedRun("emu", `let $w = swap\nvm a {${decl}}\n`);
    assertEquals(o.summary.outcome, "backend_failed", decl);
    assertStringIncludes(errors(o)[0], `x.kvm:${where}`);
  }
  // The step form: a non-word, non-integer capability value.
  const o = await checkedRun(
    "emu",
    `vm a { ${SLOT} }\nfor $v in [zap_all, [1]] {\ncap memslot_zap_control $v\n}\n`,
  );
  assertEquals(o.summary.outcome, "backend_failed");
  assertStringIncludes(errors(o)[0], "x.kvm:3:25: error: a capability value must be a word");
});

Deno.test("values: gpu.shm is a slot name everywhere (emu)", async () => {
  const o = await checkedRun(
    "emu",
    `vm gpu {
  device virtio_gpu gpu { mmio 0xd000_0000  shm gpa 0x1_0000_0000 size 16M  noncoherent }
  guest gpu_fill { slot gpu.shm  pat wc  size 1M  value 0x1122 }
}
run until done timeout 120s
let $v = memslot gpu.shm read offset 0
expect $v == 0x1122
memslot gpu.shm write offset 8 value 7
let $w = memslot gpu.shm read offset 8
expect $w == 7
expect error ENOENT { let $d = dirty_log gpu.shm }
`,
  );
  assertEquals([errors(o), failures(o), o.summary.passed], [[], [], 3]);
  // Without the device the name is unknown; after a `.` words stay field names.
  assertEquals(
    problems(`vm a { ${SLOT} }\nlet $x = memslot gpu.shm read offset 0\nprint $exit.reason.y`),
    [
      "2:18 unknown memslot 'gpu.shm' (vm 'a' has ram)",
      "3:7 $exit is set by 'run': there is no run before this point",
    ],
  );
});

Deno.test("control flow: vm inside if, merged for the steps after it", async () => {
  const script = `if $backend == kvm {
  vm k { ${SLOT}; guest spin { } }
} else {
  vm e { ${SLOT}  memslot rom gpa 2M size 4K readonly; guest spin { } }
}
memslot ram write offset 0 value 5
let $v = memslot ram read offset 0
expect $v == 5
print $backend
`;
  assertEquals(problems(script), []);
  const o = await checkedRun("emu", script);
  assertEquals([errors(o), failures(o), o.printed], [[], [], ["emu"]]);
  // A slot no branch declares is still unknown.
  assertEquals(problems(`if true { vm a { ${SLOT} } }\nmemslot rom delete`), [
    "2:9 unknown memslot 'rom' (vm 'a' has ram)",
  ]);
});

Deno.test('control flow: expect error … else "message" heads the failure (emu)', async () => {
  const o = await checkedRun(
    "emu",
    `vm a { ${SLOT} }
expect error EINVAL { cap memslot_zap_control 4 } else "bit 2 is refused"
expect error EINVAL { cap memslot_zap_control 1 } else "zap control takes bit 0"
`,
  );
  assertEquals([o.summary.passed, o.summary.failed], [1, 1]);
  assertStringIncludes(
    failures(o)[0],
    "x.kvm:3:1: error: zap control takes bit 0: expected EINVAL but the step succeeded",
  );
});

Deno.test("control flow: a variable assigned in one iteration may be read in the next", async () => {
  const script = `let $sum = 0
for $i in range(1, 5) {
  if $i > 1 { expect $prev == $i - 1 }
  let $prev = $i
  let $sum = $sum + $i
}
repeat 2 { if $n != 0 { print "again" }; let $n = 1 }
expect $sum == 10
`;
  assertEquals(problems(script), []);
  const o = await checkedRun("emu", script);
  // `repeat`'s first iteration reads $n before any let: a run-time error, not a static one.
  assertEquals(o.summary.outcome, "backend_failed");
  assertStringIncludes(errors(o)[0], "x.kvm:7:15: error: variable '$n' has no value yet");
  assertEquals(o.summary.passed, 3);
});

Deno.test("control flow: reserved variable names for let and for", () => {
  assertEquals(
    problems(
      `let $exit = 1\nfor $wall in [1] { }\nlet $vcpus = 2\nlet $fault = 3\nlet $elapsed = 1`,
    ),
    [
      "1:5 $exit is a reserved name (set by 'run'): choose another name (reserved: $backend, $mmu, $vcpus, $exit, $fault, $elapsed, $wall)",
      "2:5 $wall is a reserved name (set by 'time { … }'): choose another name (reserved: $backend, $mmu, $vcpus, $exit, $fault, $elapsed, $wall)",
      "3:5 $vcpus is read-only",
      "4:5 $fault is a reserved name (set inside 'on memory_fault { … }'): choose another name (reserved: $backend, $mmu, $vcpus, $exit, $fault, $elapsed, $wall)",
      "5:5 $elapsed is a reserved name (set by 'time { … }'): choose another name (reserved: $backend, $mmu, $vcpus, $exit, $fault, $elapsed, $wall)",
    ],
  );
  // `time { … }` still sets $elapsed itself.
  assertEquals(problems(`time { print 1 }\nprint $elapsed`), []);
});

Deno.test("functions: range, len, min, max, round, hex, stat, has_cap (emu)", async () => {
  const o = await checkedRun(
    "emu",
    `print range(3), range(1, 10, 3), range(5, 0, -2), range(0)
print len([1, 2]), len("abc"), min(3, 1, 2), max([4, 9]), min(1.5, 2)
print round(2.567, 2), round(2.4), round(7), hex(255)
vm a { ${SLOT}; guest write_sweep { slot ram } }
run until done timeout 120s
let $e = stat(exits)
let $e0 = stat(exits, 0)
expect $e > 0 and $e0 == $e and $e == stat("exits")
expect has_cap(memslot_zap_control) and has_cap(page_write_tracking)
`,
  );
  assertEquals([errors(o), failures(o)], [[], []]);
  assertEquals(o.printed.slice(0, 3), [
    "[0, 1, 2] [1, 4, 7] [5, 3, 1] []",
    "2 3 1 9 1.5",
    "2.57 2 7 0xff",
  ]);
});

Deno.test("functions: located static errors with a hint", () => {
  assertEquals(
    problems(`print rnge(3), len(1), range(1, 2, 3, 4), stat(pf_takn), has_cap(foo), range(1, 2, 0)
print min(), round("a"), stat(exits, "x")
print has_cap(page_write_tracking)`),
    [
      "1:7 unknown function 'rnge' (did you mean 'range'?)",
      "1:20 'len' needs a list or a string but '1' is an integer",
      "1:24 range() takes 1 to 3 arguments, not 4 (range(N) or range(A, B[, STEP]))",
      "1:43 stat() needs a vm: declare one with 'vm NAME { … }' before it",
      "1:48 unknown stat 'pf_takn' (did you mean 'pf_taken'?)",
      "1:58 has_cap() needs a vm: declare one with 'vm NAME { … }' before it",
      "1:66 unknown capability 'foo' (known: page_write_tracking, memslot_zap_control, memory_fault_nowait, x86_memory_fault_exit, dirty_log_recovery, eager_page_split, manual_dirty_log_protect)",
      "1:84 range() step must not be 0",
      "2:7 min() takes at least 1 argument, not 0 (min(A, B, …) or min(L))",
      "2:20 'round' needs a number but '\"a\"' is a string",
      "2:26 stat() needs a vm: declare one with 'vm NAME { … }' before it",
      "2:38 'stat' needs a vCPU index but '\"x\"' is a string",
      "3:7 has_cap() needs a vm: declare one with 'vm NAME { … }' before it",
    ],
  );
});

Deno.test("functions: run-time errors are located (emu)", async () => {
  for (
    const [text, where] of [
      ["let $l = []\nprint min($l)", "2:7: error: min() of an empty list"],
      ["let $n = 0\nprint range(1, 5, $n)", "2:19: error: range() step must not be 0"],
      ["print range(1 << 30)", "1:7: error: range() of 1073741824 items: at most 1048576"],
      // The checker sees the vm the `if` may open; at run time there is none.
      [
        "if false { vm a { }}\nprint stat(exits)",
        "2:12: error: reading 'exits' needs a vm: there is none here",
      ],
    ]
  ) {
    const o = await checkedRun("emu", text);
    assertEquals(o.summary.outcome, "backend_failed", text);
    assertStringIncludes(errors(o)[0], `x.kvm:${where}`);
  }
});

Deno.test({
  name: "values and has_cap on kvm: probed, never enabled; raw caps of proposals stay local",
  ignore: !KVM,
  async fn() {
    const o = await checkedRun(
      "kvm",
      `let $on = on
vm a { ${SLOT}; guest spin { } }
print has_cap(manual_dirty_log_protect), has_cap(memory_fault_nowait), has_cap(page_write_tracking)
if has_cap(manual_dirty_log_protect) {
  cap manual_dirty_log_protect $on
  cap manual_dirty_log_protect 1
  expect error EINVAL { cap manual_dirty_log_protect 4 } else "the kernel judges a raw args[0]"
}
if $backend == kvm { print "kvm" }
`,
    );
    assertEquals([errors(o), failures(o)], [[], []]);
    const [caps] = o.printed;
    assert(/^(true|false) false false$/.test(caps), caps);
    assertEquals(o.printed[1], "kvm");
  },
});

for (const backend of ["emu", "kvm"] as const) {
  Deno.test({
    name: `values: a device's gpu.shm slot in step and payload positions (${backend})`,
    ignore: backend === "kvm" && !KVM,
    async fn() {
      const o = await checkedRun(
        backend,
        `vm gpu {
  device virtio_gpu gpu { mmio 0xd000_0000  shm gpa 0x1_0000_0000 size 16M }
  guest gpu_fill { slot gpu.shm  size 1M  value 0x1122 }
}
run until done timeout 120s
let $v = memslot gpu.shm read offset 0
expect $v == 0x1122
memslot gpu.shm flags +dirty_log
let $d = dirty_log gpu.shm
expect $d.pages == 0
`,
      );
      assertEquals([errors(o), failures(o), o.summary.passed], [[], [], 2]);
    },
  });
}
