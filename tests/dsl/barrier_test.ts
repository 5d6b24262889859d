/**
 * Version 2 run semantics in scripts: `run until sync "L"` is a barrier over
 * the running vCPUs, `on sync "L"` runs at every arrival, `until first sync`
 * stops at the first; a run that ends unasked prints a located warning; a
 * label the payload never emits is a static error.
 */
import { skipKvm } from "../support/kvm_probe.ts";
import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import {
  checkScript,
  HumanOutput,
  MemoryOutput,
  parseScript,
  runScript,
  type WarningEvent,
} from "../../dsl/mod.ts";
import { unaskedEnding } from "../../dsl/run_warnings.ts";

function problems(text: string): string[] {
  return checkScript(parseScript(text, { file: "b.kvm" })).map((d) =>
    `${d.line}:${d.column} ${d.message}`
  );
}

Deno.test("checkScript() rejects a sync label the payload never emits", () => {
  assertEquals(
    problems(`vm a {
  vcpus 2
  memslot ram gpa 1M size 1M
  guest dirty_writer { slot ram }
}
on sync "pass" { print 1 }
run until sync "iter"
run until first sync "itr"
vm b { guest spin { } }
run until sync "x"
`),
    [
      `6:9 payload 'dirty_writer' never emits sync "pass" (its sync labels: "iter")`,
      `8:22 payload 'dirty_writer' never emits sync "itr" (its sync labels: "iter")`,
      `10:16 payload 'spin' never emits sync "x" (it emits no sync)`,
    ],
  );
  // A guest file's labels are not known: nothing to check.
  assertEquals(
    problems(`vm f { guest file "g.bin" { load 0x200000 entry 0x200000 } }\nrun until sync "any"\n`)
      .filter((p) => p.includes("never emits")),
    [],
  );
});

Deno.test("parseScript() reads until first sync; first goes with sync only", () => {
  const [run] = parseScript('vm a { }\nrun until first sync "iter" timeout 1s').body.slice(1);
  assert(run.kind === "run");
  assertEquals(run.run.until, { kind: "sync", label: "iter", first: true });
  assertEquals(run.run.timeoutMs, 1000);
  const e = assertThrows(() => parseScript("vm a { }\nrun until first done", { file: "p.kvm" }));
  assertStringIncludes(String(e), "'first' goes with sync only");
});

Deno.test("unaskedEnding() names the exit, the vCPU and what was touched", () => {
  const rom = {
    name: "rom",
    id: 2,
    gpa: 0x1000_0000n,
    size: 0x10000n,
    flags: ["readonly" as const],
    backing: "anon" as const,
    hugepage: 4096n,
  };
  const done = { kind: "done" } as const;
  assertEquals(
    unaskedEnding(
      { reason: "io", vcpu: 2, port: 0x80, size: 1, isWrite: true, data: 0n },
      done,
      [],
    ),
    "run until done ended with exit io (vCPU 2): an unclaimed port write to port 0x80 (size 1)",
  );
  const mmio = (gpa: bigint, isWrite: boolean) => ({
    reason: "mmio" as const,
    vcpu: 0,
    gpa,
    len: 4,
    isWrite,
    data: 0n,
  });
  assertEquals(
    unaskedEnding(mmio(0x1000_0008n, true), done, [rom]),
    "run until done ended with exit mmio (vCPU 0): a write to read-only slot 'rom' at gpa 0x10000008",
  );
  assertEquals(
    unaskedEnding(mmio(0x1000_0008n, false), { kind: "sync", label: "s", first: true }, [rom]),
    'run until first sync "s" ended with exit mmio (vCPU 0): an unclaimed MMIO read at gpa 0x10000008 (len 4)',
  );
  assertEquals(unaskedEnding(mmio(0n, true), { kind: "exit" }, []), undefined, "asked for");
  assertEquals(unaskedEnding({ reason: "done", vcpu: 0 }, done, []), undefined);
  assertEquals(
    unaskedEnding({ reason: "timeout", vcpu: 0, rip: 0n }, done, []),
    undefined,
    "a timeout is asked for by the run's own `timeout`",
  );
});

const BARRIER = `vm perf {
  vcpus 3
  memslot ram gpa 1M size 3M dirty_log
  memslot rom gpa 16M size 64K readonly
  guest dirty_writer { slot ram  iterations 2 }
}
let $n = 0
on sync "iter" { let $n = $n + 1 }
run until sync "iter"
expect $n == 3 else "the handler ran at every arrival, the stopping one included"
expect $exit.reason == sync and $exit.value == 1
let $d = dirty_log ram
expect $d.pages == 768 else "every vCPU wrote its share before the run returned"
run until first sync "iter"
expect $exit.value == 2 and $n >= 4
run until done
expect $n == 6 else "no arrival lost or handled twice by the first-sync stop"
run until sync "iter"
expect $exit.reason == done
vm ro {
  memslot rom gpa 16M size 64K readonly
  guest write_sweep { slot rom }
}
run
expect $exit.reason == mmio
`;

for (const backend of ["emu", "kvm"] as const) {
  Deno.test({
    name: `runScript() meets at barriers and warns of unasked endings (${backend})`,
    ignore: backend === "kvm" && skipKvm("dsl barrier test"),
    fn: async () => {
      const output = new MemoryOutput();
      const summary = await runScript(parseScript(BARRIER, { file: "b.kvm" }), {
        output,
        backend,
      });
      const failed = output.events.filter((e) => e.event === "expect" && !e.ok);
      assertEquals(failed, []);
      assertEquals(summary.outcome, "passed");
      const warnings = output.events.filter((e): e is WarningEvent => e.event === "warning");
      // The barrier run after every vCPU finished with done.
      assertEquals(warnings.map((w) => [w.location.line, w.exit]), [[18, "done"], [24, "mmio"]]);
      assertStringIncludes(warnings[0].message, 'no vCPU reached sync "iter"');
      assertStringIncludes(warnings[1].message, "a write to read-only slot 'rom' at gpa 0x1000000");
      assertEquals(warnings[1].vcpu, 0);
      // People see it on stderr, located like an error.
      const out: string[] = [];
      const err: string[] = [];
      new HumanOutput({ write: (l) => out.push(l), writeError: (l) => err.push(l) }).emit(
        warnings[1],
      );
      assertEquals(out, []);
      assertEquals(
        err,
        [
          "b.kvm:24:1: warning: run until done ended with exit mmio (vCPU 0): a write to read-only slot 'rom' at gpa 0x1000000\nrun\n^~~",
        ],
      );
    },
  });
}
