import { assert, assertEquals, assertThrows } from "@std/assert";
import type { Decl, Expr, Step, Stmt } from "../../dsl/ast.ts";
import { ScriptSyntaxError } from "../../dsl/diagnostics.ts";
import { parseScript } from "../../dsl/parse.ts";

function body(text: string): Stmt[] {
  return parseScript(text, { file: "t.kvm" }).body;
}

function step(text: string): Step {
  const s = body(text)[0];
  assert(s.kind !== "vm");
  return s;
}

function decls(text: string): Decl[] {
  const s = body(`vm a {\n${text}\n}`)[0];
  assert(s.kind === "vm");
  return s.decls;
}

/** An expression as a compact s-expression, to compare tree shapes. */
function sexp(e: Expr): string {
  switch (e.kind) {
    case "int":
      return `${e.value}`;
    case "float":
      return `${e.value}f`;
    case "string":
      return JSON.stringify(e.value);
    case "word":
      return e.value;
    case "var":
      return `$${e.name}`;
    case "field":
      return `${sexp(e.target)}.${e.field.text}`;
    case "list":
      return `[${e.items.map(sexp).join(" ")}]`;
    case "call":
      return `${e.fn.text}(${e.args.map(sexp).join(" ")})`;
    case "unary":
      return `(${e.op} ${sexp(e.operand)})`;
    case "binary":
      return `(${e.op} ${sexp(e.left)} ${sexp(e.right)})`;
  }
}

function expr(text: string): string {
  const s = step(`print ${text}`);
  assert(s.kind === "print");
  return sexp(s.exprs[0]);
}

Deno.test("parseScript() reads the quickstart", () => {
  const stmts = body(`# examples/quickstart.kvm
vm hello {
  vcpus 1
  memslot ram gpa 0x100000 size 64M
  guest write_sweep { slot ram  stride 4K  passes 2 }
}
run until done timeout 10s
expect $exit.reason == done
let $d = stat pf_taken
print "faults taken:", $d
`);
  assertEquals(stmts.map((s) => s.kind), ["vm", "run", "expect", "let", "print"]);
  const vm = stmts[0];
  assert(vm.kind === "vm");
  assertEquals(vm.name.text, "hello");
  assertEquals(vm.decls.map((d) => d.kind), ["vcpus", "memslot", "guest"]);
  const guest = vm.decls[2];
  assert(guest.kind === "guest");
  assertEquals(guest.payload.text, "write_sweep");
  assertEquals(guest.params.map((p) => `${p.key.text}=${sexp(p.value)}`), [
    "slot=ram",
    "stride=4096",
    "passes=2",
  ]);
  const run = stmts[1];
  assert(run.kind === "run");
  assertEquals(run.run, { until: { kind: "done" }, timeoutMs: 10_000 });
  assertEquals(run.loc, { line: 7, column: 1, offset: 139, length: 3 });
});

Deno.test("parseScript() reads every declaration", () => {
  const d = decls(`backend emu
mmu shadow
vcpus 4
system gpa 0 size 2M
cap page_write_tracking on_demand
cap memory_fault_nowait
quirk slot_zap_all off
memslot ram gpa 1G size 512G dirty_log readonly backing hugetlb hugepage 1G
device virtio_gpu gpu { mmio 0xd000_0000  shm gpa 0x1_0000_0000 size 256M  noncoherent via kvm_device }
guest file "x.bin" { load 0x100000  entry 0x100010  mode real }`);
  assertEquals(d.map((x) => x.kind), [
    "backend",
    "mmu",
    "vcpus",
    "system",
    "cap",
    "cap",
    "quirk",
    "memslot",
    "device",
    "guest",
  ]);
  const [backend, mmu, , system, cap, capNoValue, quirk, memslot, device, guest] = d;
  assert(backend.kind === "backend" && backend.value.source === "emu");
  assert(mmu.kind === "mmu" && mmu.value.source === "shadow");
  assert(system.kind === "system" && sexp(system.size) === `${2n << 20n}`);
  assert(
    cap.kind === "cap" && cap.name.text === "page_write_tracking" &&
      cap.value.source === "on_demand",
  );
  assert(capNoValue.kind === "cap" && capNoValue.value.source === "on");
  assert(
    quirk.kind === "quirk" && quirk.name.text === "slot_zap_all" && quirk.value.source === "off",
  );
  assert(memslot.kind === "memslot");
  assertEquals(memslot.slot.flags.map((f) => f.text), ["dirty_log", "readonly"]);
  assertEquals(memslot.slot.backing?.source, "hugetlb");
  assertEquals(sexp(memslot.slot.size), `${512n << 30n}`);
  assertEquals(sexp(memslot.slot.hugepage!), `${1n << 30n}`);
  assert(device.kind === "device");
  assertEquals(
    [
      device.deviceKind.text,
      device.name.text,
      sexp(device.mmio!),
      sexp(device.shmGpa!),
      device.via?.text,
    ],
    ["virtio_gpu", "gpu", `${0xd000_0000n}`, `${1n << 32n}`, "kvm_device"],
  );
  assert(device.noncoherent);
  assert(guest.kind === "guest");
  assertEquals(guest.file?.path, "x.bin");
  assertEquals(guest.params.map((p) => p.key.text), ["load", "entry", "mode"]);
});

Deno.test("parseScript() reads run, handlers and demand", () => {
  const run = step('run vcpu 1 until sync "pass" timeout 500ms');
  assert(run.kind === "run");
  assertEquals(sexp(run.run.vcpu!), "1");
  assertEquals(run.run.until, { kind: "sync", label: "pass" });
  assertEquals(run.run.timeoutMs, 500);
  const bare = step("run");
  assert(bare.kind === "run");
  assertEquals(bare.run, { until: { kind: "done" } });
  const exit = step("run until exit");
  assert(exit.kind === "run" && exit.run.until.kind === "exit");
  const fault = step(
    "on memory_fault { memslot ram populate offset $fault.gpa - 0x100000 size 4K }",
  );
  assert(fault.kind === "on_memory_fault" && fault.body.length === 1);
  const sync = step('on sync "remap" { memslot rom move gpa 0x30000000 }');
  assert(sync.kind === "on_sync" && sync.label === "remap");
  const demand = step("demand uffd ram handlers 4");
  assert(demand.kind === "demand" && demand.mode.text === "uffd" && demand.slot.text === "ram");
  assertEquals(sexp(demand.handlers!), "4");
});

Deno.test("parseScript() reads every memslot step", () => {
  const ops = body(`memslot ram delete
memslot rom move gpa 0x30000000
memslot ram flags +dirty_log -readonly
memslot ram populate offset 4K size 2M
memslot ram populate
memslot ram write offset 8 value 0xfeedface
memslot extra gpa 0x4000_0000 size 4K readonly`).map((s) => (s as Step & { kind: "memslot" }).op);
  assertEquals(ops.map((o) => o.kind), [
    "delete",
    "move",
    "flags",
    "populate",
    "populate",
    "write",
    "add",
  ]);
  const flags = ops[2];
  assert(flags.kind === "flags");
  assertEquals([flags.add.map((f) => f.text), flags.remove.map((f) => f.text)], [["dirty_log"], [
    "readonly",
  ]]);
  const populate = ops[3];
  assert(populate.kind === "populate" && sexp(populate.offset!) === "4096");
  const bare = ops[4];
  assert(bare.kind === "populate" && bare.offset === undefined && bare.size === undefined);
  const add = ops[6];
  assert(
    add.kind === "add" && add.slot.name.text === "extra" && add.slot.flags[0].text === "readonly",
  );
});

Deno.test("parseScript() reads track, cap and quirk steps, expect and expect error", () => {
  const [track, untrack, cap, quirk, expect, expectElse, expectError] = body(
    `track gt gpa 0x100000 size 8K
untrack gt
cap page_write_tracking off
quirk ignore_guest_pat on
expect $x > 1
expect $exit.reason == done else "guest did not finish"
expect error EINVAL { cap page_write_tracking off }`,
  ) as Step[];
  assert(track.kind === "track" && track.name.text === "gt" && sexp(track.size!) === "8192");
  assert(untrack.kind === "untrack" && untrack.name.text === "gt");
  assert(cap.kind === "cap" && cap.value.source === "off");
  assert(quirk.kind === "quirk" && quirk.value.source === "on");
  assert(expect.kind === "expect" && expect.message === undefined);
  assert(expectElse.kind === "expect" && expectElse.message === "guest did not finish");
  assertEquals(expectElse.expr.source, "$exit.reason == done");
  assert(expectError.kind === "expect_error" && expectError.errno.text === "EINVAL");
  assertEquals(expectError.body.map((s) => s.kind), ["cap"]);
});

Deno.test("parseScript() reads every form of let", () => {
  const values = body(`let $x = 1 + 2
let $p = stat pf_taken
let $q = stat exits vcpu 1
let $t = memtype gpa 0xd000_0000
let $v = memslot ram read offset 8
let $d = dirty_log ram
let $c = dirty_log ram clear`).map((s) => (s as Step & { kind: "let" }).value);
  assertEquals(values.map((v) => v.kind), [
    "expr",
    "stat",
    "stat",
    "memtype",
    "slot_read",
    "dirty_log",
    "dirty_log",
  ]);
  const q = values[2];
  assert(q.kind === "stat" && q.name.text === "exits" && sexp(q.vcpu!) === "1");
  const d = values[5];
  const c = values[6];
  assert(d.kind === "dirty_log" && !d.clear && c.kind === "dirty_log" && c.clear);
});

Deno.test("parseScript() reads mark, stats, print, loops and time", () => {
  const [mark, bareMark, stats, allStats, print, loop, repeat, time, timeArrow] = body(`mark "warm"
mark
stats pf_taken exits
stats
print "a", 1, $x
for $size in [4K, 2M, 1G] { vm v { memslot m gpa 1G size $size } }
repeat 3 { run until sync "iter" }
time { run until done }
time { run } -> $t`) as Step[];
  assert(mark.kind === "mark" && mark.label === "warm");
  assert(bareMark.kind === "mark" && bareMark.label === undefined);
  assert(stats.kind === "stats");
  assertEquals(stats.names.map((n) => n.text), ["pf_taken", "exits"]);
  assert(allStats.kind === "stats" && allStats.names.length === 0);
  assert(print.kind === "print" && print.exprs.length === 3);
  assert(loop.kind === "for" && loop.variable.text === "size" && loop.body[0].kind === "vm");
  assertEquals(sexp(loop.list), `[4096 ${2n << 20n} ${1n << 30n}]`);
  assert(repeat.kind === "repeat" && repeat.body[0].kind === "run");
  assert(time.kind === "time" && time.variable.text === "elapsed");
  assert(timeArrow.kind === "time" && timeArrow.variable.text === "t");
});

Deno.test("parseScript() gives operators their precedence", () => {
  assertEquals(expr("1 + 2 * 3"), "(+ 1 (* 2 3))");
  assertEquals(expr("1 - 2 - 3"), "(- (- 1 2) 3)");
  assertEquals(expr("1 << 4 + 1"), "(<< 1 (+ 4 1))");
  assertEquals(expr("$a & 0xfff == 0"), "(== (& $a 4095) 0)");
  assertEquals(expr("$a | $b & $c"), "(| $a (& $b $c))");
  assertEquals(expr("not $a == 1 and $b or $c"), "(or (and (not (== $a 1)) $b) $c)");
  assertEquals(expr("-~$x"), "(- (~ $x))");
  assertEquals(expr("($a + 1) * 2"), "(* (+ $a 1) 2)");
  assertEquals(expr("hex($exit.gpa)"), "hex($exit.gpa)");
  assertEquals(expr('[1, "a", done,]'), '[1 "a" done]');
  assertEquals(expr("$t.type == WB"), "(== $t.type WB)");
  assertEquals(expr("1.5 / 2"), "(/ 1.5f 2)");
});

Deno.test("parseScript() keeps each expression's exact source text", () => {
  const s = step("expect ($a + 1) * 2 == hex( $b )");
  assert(s.kind === "expect");
  assertEquals(s.expr.source, "($a + 1) * 2 == hex( $b )");
  assert(s.expr.kind === "binary");
  assertEquals(s.expr.left.source, "($a + 1) * 2");
  assertEquals(s.expr.left.loc, { line: 1, column: 8, offset: 7, length: 12 });
});

Deno.test("parseScript() accepts ';' between statements and names spelt like keywords", () => {
  const stmts = body(
    "vm a { memslot write gpa 1G size 4K; vcpus 1 }; memslot write delete; print on",
  );
  assertEquals(stmts.map((s) => s.kind), ["vm", "memslot", "print"]);
});

Deno.test("parseScript() throws ScriptSyntaxError listing every error", () => {
  const e = assertThrows(
    () => parseScript("run until\nprint (1 +\nlet $x = ", { file: "t.kvm" }),
    ScriptSyntaxError,
  );
  assertEquals(e.diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`), [
    "2:1 expected a name but found 'print'",
    "3:1 expected an expression but found 'let'",
    "3:9 expected a value but found end of input",
  ]);
  assertEquals([e.line, e.column], [2, 1]);
});
