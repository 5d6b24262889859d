/**
 * The fuzzer's short deterministic pass (a fixed seed, a fixed number of
 * scripts: bounded by count, never by a clock) finds no crash class; and
 * its parts do what the long run relies on.
 */
import { assert, assertEquals, assertGreater, assertNotEquals } from "@std/assert";
import { loadSeeds, snippets } from "../../tools/fuzz/corpus.ts";
import {
  capTimeouts,
  CRASH_CLASSES,
  eventsOutcome,
  executeInline,
} from "../../tools/fuzz/execute.ts";
import { formatReport, fuzz } from "../../tools/fuzz/fuzz.ts";
import { Generator } from "../../tools/fuzz/generate.ts";
import { Rng } from "../../tools/fuzz/rng.ts";

Deno.test("fuzz: a fixed-seed pass of 150 scripts finds no crash", async () => {
  const report = await fuzz({ seed: 20261126, count: 150, mode: "inline" });
  assertEquals(report.total, 150);
  const table = formatReport(report);
  assertEquals(
    report.crashes.map((c) => `#${c.index} ${c.outcome.class}: ${c.outcome.detail}`),
    [],
    table,
  );
  // The pass exercises every stage: scripts that run (clean, or failing an expectation when a
  // loaded machine lets a capped `timeout` elapse), fail a check, stop at run time.
  assertGreater(
    (report.counts.get("ok") ?? 0) + (report.counts.get("expect-failed") ?? 0),
    10,
    table,
  );
  assertGreater(report.counts.get("invalid") ?? 0, 10, table);
});

Deno.test("fuzz: the same seed gives the same scripts", () => {
  const a = new Generator(new Rng(7));
  const b = new Generator(new Rng(7));
  const c = new Generator(new Rng(8));
  const first = [a.script(), a.script()];
  assertEquals([b.script(), b.script()], first);
  assertNotEquals([c.script(), c.script()], first);
});

Deno.test("fuzz: the seeds are the examples, the corpus and the documentation's snippets", () => {
  const names = loadSeeds().map((s) => s.name);
  assert(names.includes("examples/quickstart.kvm"), names.join(", "));
  assert(names.some((n) => n.startsWith("tools/fuzz/corpus/")), names.join(", "));
  assert(names.some((n) => n.startsWith("dsl/README.md#")), names.join(", "));
  const found = snippets(
    "doc",
    "text `expect error EINVAL { memslot s move gpa 0x2000800 }` and `deno task`\n```\nvm a {\n}\n```\n",
  );
  assertEquals(found.map((s) => s.text.trim()), [
    "vm a {\n}",
    "expect error EINVAL { memslot s move gpa 0x2000800 }",
  ]);
});

Deno.test("fuzz: the classifier tells located errors from crashes", async () => {
  assertEquals((await executeInline("print 1 +")).class, "invalid");
  assertEquals((await executeInline("expect 1 == 2")).class, "expect-failed");
  assertEquals((await executeInline("print 1 / 0")).class, "runtime-error");
  const summary = {
    event: "summary",
    passed: 0,
    failed: 0,
    backend: "emu",
    wallMs: 1,
    outcome: "backend_failed",
  } as const;
  const located = "t.kvm:1:1: error: m\nprint 1\n^~~~~";
  assertEquals(eventsOutcome([]).class, "no-output");
  assertEquals(
    eventsOutcome([{ event: "error", message: "m", diagnostic: "t.kvm: error: m" }, summary]).class,
    "unlocated",
  );
  const at = { file: "t.kvm", line: 1, column: 1 };
  assertEquals(
    eventsOutcome([{ event: "error", location: at, message: "m", diagnostic: located }, summary])
      .class,
    "runtime-error",
  );
  assertEquals(
    eventsOutcome([{
      event: "error",
      location: at,
      message: "Maximum call stack size exceeded",
      diagnostic: "t.kvm:1:1: error: Maximum call stack size exceeded\nprint 1\n^",
    }, summary]).class,
    "js-error",
  );
  for (
    const c of ["internal", "js-error", "unlocated", "no-output", "timeout", "memory"] as const
  ) {
    assert(CRASH_CLASSES.has(c));
  }
});

Deno.test("fuzz: timeouts are capped so each script's work is bounded", () => {
  assertEquals(
    capTimeouts("run until done timeout 10s\nrun timeout 5m\nrun timeout 100ms"),
    "run until done timeout 2000ms\nrun timeout 2000ms\nrun timeout 100ms",
  );
});
