/**
 * Regression tests of the crash classes the fuzzer found: each input now
 * gives a located diagnostic (exit 2 when static, 3 at run time), never an
 * engine error, a stack overflow or unbounded output.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import {
  hasEngineWording,
  isEngineError,
  MemoryOutput,
  parseScript,
  runScript,
  ScriptSyntaxError,
  VmmInternalError,
} from "../../dsl/mod.ts";
import { MAX_DIAGNOSTICS, MAX_QUOTED_LINE } from "../../dsl/diagnostics.ts";
import { MAX_NESTING } from "../../dsl/parser.ts";
import { MAX_TREE_DEPTH } from "../../dsl/parse.ts";
import { openVm } from "../../vmm/create.ts";
import { exitCodeFor } from "../../cli/exit_codes.ts";

/** The diagnostics of a script that must not check, formatted. */
async function invalid(text: string): Promise<ScriptSyntaxError> {
  try {
    await runScript(parseScript(text, { file: "t.kvm" }), {
      output: new MemoryOutput(),
      backend: "emu",
    });
  } catch (e) {
    if (e instanceof ScriptSyntaxError) {
      assert(!hasEngineWording(e.formatted), e.formatted);
      return e;
    }
    throw e;
  }
  throw new Error(`the script checked:\n${text}`);
}

/** Runs a script that checks on the emulator; returns the exit code and its error event. */
async function run(text: string) {
  const output = new MemoryOutput();
  const summary = await runScript(parseScript(text, { file: "t.kvm" }), {
    output,
    backend: "emu",
  });
  const error = output.events.find((e) => e.event === "error");
  return {
    code: exitCodeFor(summary.outcome),
    error: error?.event === "error" ? error : undefined,
  };
}

const SLOT = "vm a {\n  memslot ram gpa 0x100000 size 2M\n}\n";

Deno.test("limits: nesting past MAX_NESTING is one located error, whatever nests", async () => {
  const n = 400;
  const cases = [
    `print ${"(".repeat(n)}1${")".repeat(n)}`,
    `print ${"[".repeat(n)}1${"]".repeat(n)}`,
    `${"if true { ".repeat(n)}print 1${" }".repeat(n)}`,
    `${"repeat 1 { ".repeat(n)}print 1${" }".repeat(n)}`,
    `print ${"-".repeat(n)}1`,
    `print ${"not ".repeat(n)}true`,
    `if false { print 0 }${" else if false { print 1 }".repeat(n)}`,
  ];
  for (const text of cases) {
    const e = await invalid(text);
    assertEquals(e.diagnostics.length, 1, text.slice(0, 40));
    assertStringIncludes(e.diagnostics[0].message, `nesting deeper than ${MAX_NESTING} levels`);
    assertMatch(e.formatted, /^t\.kvm:1:\d+: error: .*\n.*\n *\^/);
  }
  // At the limit itself the script is fine.
  const ok = parseScript(`print ${"(".repeat(MAX_NESTING)}1${")".repeat(MAX_NESTING)}`);
  assertEquals(ok.body.length, 1);
});

Deno.test("limits: a 1,600-term sum is a located error; 400 terms run", async () => {
  const e = await invalid(`print ${Array(1600).fill("1").join(" + ")}`);
  assertStringIncludes(e.diagnostics[0].message, `more than ${MAX_TREE_DEPTH} nested operations`);
  const { code } = await run(`expect ${Array(400).fill("1").join(" + ")} == 400`);
  assertEquals(code, 0);
});

Deno.test("limits: 0x_ and 0b_ are invalid numbers (exit 2), not a BigInt failure", async () => {
  for (const n of ["0x_", "0b_", "0X__"]) {
    const e = await invalid(`print ${n}`);
    assertEquals(e.diagnostics[0].message.split(" (")[0], `invalid number '${n}'`);
    assertEquals([e.line, e.column], [1, 7]);
  }
  // Separators after a digit stay valid.
  const { code } = await run("expect 0x_1_0 == 16 and 0b_1 == 1");
  assertEquals(code, 0);
});

Deno.test("limits: integer literals past 4096 bits are a located error", async () => {
  const e = await invalid(`print 1 + 0x${"f".repeat(1025)}`);
  assertStringIncludes(e.diagnostics[0].message, "integer literal too large");
  assertEquals(e.column, 11);
  const long = await invalid(`print ${"9".repeat(100_000)}`);
  assertStringIncludes(long.diagnostics[0].message, "integer literal too large");
});

Deno.test("limits: shifts and products past the integer limit stop at the step (exit 3)", async () => {
  const shift = await run("print 1 << 0x100000000");
  assertEquals(shift.code, 3);
  assertEquals(shift.error?.location?.column, 12);
  assertStringIncludes(shift.error!.message, "shift count 4294967296 exceeds the integer limit");
  const square = await run("let $x = 3\nrepeat 40 { let $x = $x * $x }");
  assertEquals(square.code, 3);
  assertStringIncludes(square.error!.message, "exceeds the integer limit of 4096 bits");
  const doubled = await run('let $s = "ab"\nrepeat 40 { let $s = $s + $s }');
  assertEquals(doubled.code, 3);
  assertStringIncludes(doubled.error!.message, "would exceed");
  // Right shifts by a huge count are just 0 or -1.
  assertEquals((await run("expect 5 >> 0x100000000 == 0 and -5 >> 99999 == -1")).code, 0);
  for (const r of [shift, square, doubled]) assert(!hasEngineWording(r.error!.diagnostic));
});

Deno.test("limits: diagnostics stop after MAX_DIAGNOSTICS and count the rest", async () => {
  const text = Array.from({ length: 16_000 }, (_, i) => `print $v${i};`).join(" ");
  const e = await invalid(text);
  assertEquals(e.diagnostics.length, MAX_DIAGNOSTICS + 1);
  assertStringIncludes(
    e.diagnostics[MAX_DIAGNOSTICS].message,
    `too many errors: ${16_000 - MAX_DIAGNOSTICS} more not shown`,
  );
  // Each quoted line is cut around its caret: output linear in the diagnostics shown.
  for (const line of e.formatted.split("\n")) {
    assert(line.length <= MAX_QUOTED_LINE + 120, `${line.length} characters`);
  }
  assert(e.formatted.length < 30_000, `${e.formatted.length} characters`);
});

Deno.test("limits: a long line is quoted around the caret, the caret under the token", async () => {
  const text = `print ${"1 + ".repeat(100)}$missing + ${"2 + ".repeat(100)}3`;
  const e = await invalid(text);
  const [, quoted, caret] = e.formatted.split("\n");
  assert(quoted.startsWith("…") && quoted.endsWith("…"), quoted);
  assertEquals(quoted.length, MAX_QUOTED_LINE + 2);
  const at = caret.indexOf("^");
  assertEquals(quoted.slice(at, at + "$missing".length), "$missing");
  assertEquals(caret.trim(), "^~~~~~~~");
});

Deno.test("limits: a payload integer past 64 bits is a static error, not an encoder failure", async () => {
  const e = await invalid(`vm a {
  memslot ram gpa 0x100000 size 2M
  guest write_sweep { slot ram stride 0x1_0000_0000_0000_0000 }
}
run until done timeout 1s`);
  assertEquals([e.line, e.column], [3, 39]);
  assertStringIncludes(e.diagnostics[0].message, 'parameter "stride"');
  assertStringIncludes(e.diagnostics[0].message, "does not fit in 64 bits");
});

Deno.test("limits: a stat of a vCPU that does not exist is located (exit 3)", async () => {
  const { code, error } = await run(SLOT + "let $x = stat exits vcpu 4097");
  assertEquals(code, 3);
  assertEquals(error?.location?.line, 4);
  assertMatch(error!.message, /vCPU 4097/);
  assert(!hasEngineWording(error!.diagnostic));
});

Deno.test("limits: a bare 'expect error' does not check (exit 2)", async () => {
  const e = await invalid("expect error");
  assertEquals([e.line, e.column], [1, 8]);
  assertStringIncludes(e.diagnostics[0].message, "expect error ERRNO { … }");
});

Deno.test("limits: 'run vcpu 1' before any vm names no 'undefined' vm", async () => {
  const e = await invalid("run vcpu 1");
  assertEquals(e.diagnostics.length, 1);
  assertStringIncludes(e.diagnostics[0].message, "'run' needs a vm");
  assert(!e.formatted.includes("undefined"));
});

Deno.test("limits: vcpus 0 is one error, not a division by zero in a payload check", async () => {
  const e = await invalid(`vm a {
  vcpus 0
  memslot ram gpa 0x100000 size 2M
  guest dirty_writer { slot ram }
}`);
  assertEquals(e.diagnostics.map((d) => d.message), [
    "vcpus must be between 1 and 1024 (KVM_MAX_VCPUS on x86), not 0",
  ]);
});

Deno.test("limits: an engine error at run time is worded as the VMM's, at the step", async () => {
  const output = new MemoryOutput();
  const summary = await runScript(parseScript(SLOT, { file: "t.kvm" }), {
    output,
    backend: "emu",
    openVm: (config, backend) => {
      const vm = openVm(config, backend);
      // Stands for a bug in a backend: V8's own TypeError.
      vm.addMemslot = () => (undefined as unknown as { x: { y: number } }).x.y as never;
      return vm;
    },
  });
  assertEquals(summary.outcome, "backend_failed");
  const error = output.events.find((e) => e.event === "error");
  assert(error?.event === "error");
  assertEquals(error.location?.line, 2);
  assertStringIncludes(error.message, "internal error of the VMM while running this step");
  assert(!hasEngineWording(error.diagnostic), error.diagnostic);
});

Deno.test("limits: engine errors are told apart from the VMM's own", () => {
  assert(isEngineError(new RangeError("Maximum call stack size exceeded")));
  assert(isEngineError(new SyntaxError("Cannot convert 0x to a BigInt")));
  assert(isEngineError(new ReferenceError("x is not defined")));
  assert(!isEngineError(new RangeError("Cannot load the guest file at [0x0, 0x1): not inside")));
  const wrapped = new VmmInternalError(new RangeError("Maximum BigInt size exceeded"), "parsing");
  assert(!hasEngineWording(wrapped.message), wrapped.message);
  assert(hasEngineWording("t.kvm:1:1: error: Maximum BigInt size exceeded"));
  assert(hasEngineWording("TypeError: x"));
});
