import { assertEquals, assertThrows } from "@std/assert";
import { evaluate, operandsOf, ScriptRuntimeError } from "../../dsl/evaluate.ts";
import { parseScript } from "../../dsl/parse.ts";
import { formatValue, RecordValue, type Value, valuesEqual, Word } from "../../dsl/values.ts";

function expr(text: string) {
  const step = parseScript(`print ${text}`).body[0];
  if (step.kind !== "print") throw new Error("unreachable");
  return step.exprs[0];
}

function ev(text: string, vars: Record<string, Value> = {}): Value {
  return evaluate(expr(text), new Map(Object.entries(vars)));
}

function show(text: string, vars: Record<string, Value> = {}): string {
  return formatValue(ev(text, vars));
}

Deno.test("evaluate() keeps 64-bit integer arithmetic exact", () => {
  assertEquals(ev("0xffff_ffff_ffff_ffff + 1"), 1n << 64n);
  assertEquals(show("0xffff_ffff_ffff_ffff + 1"), "18446744073709551616");
  assertEquals(ev("0xffff_ffff_ffff_f000 + 0xfff"), (1n << 64n) - 1n);
  assertEquals(ev("1 << 63"), 9223372036854775808n);
  assertEquals(ev("0xffff_8000_0000_1234 >> 12"), 0xffff_8000_0000_1n);
  assertEquals(ev("(0x7fff_ffff_f000 + 4K) & ~0xfff"), 0x8000_0000_0000n);
  assertEquals(ev("512G / 4K"), 134217728n);
  assertEquals(ev("1T % 3"), (1n << 40n) % 3n);
  assertEquals(ev("7 / 2"), 3n);
  assertEquals(ev("-7 / 2"), -3n);
  assertEquals(ev("0b1010 | 0x5"), 15n);
  assertEquals(ev("2 + 3 * 4 - 1"), 13n);
});

Deno.test("evaluate() gives floats only from floats", () => {
  assertEquals(ev("7 / 2.0"), 3.5);
  assertEquals(ev("$t / 2", { t: 0.5 }), 0.25);
  assertEquals(ev("1000 / $t", { t: 0.25 }), 4000);
  assertEquals(show("2 / 3.0"), "0.666667");
  assertEquals(show("$t", { t: 1234567.891 }), "1234570");
  assertEquals(show("$t", { t: 0.000012345678 }), "0.0000123457");
});

Deno.test("evaluate() compares words with strings and words, numbers across kinds", () => {
  const exit = new RecordValue(
    "exit",
    new Map<string, Value>([["reason", new Word("done")], ["gpa", 0x1000n]]),
  );
  assertEquals(ev("$exit.reason == done", { exit }), true);
  assertEquals(ev('$exit.reason == "done"', { exit }), true);
  assertEquals(ev("$exit.reason != timeout", { exit }), true);
  assertEquals(ev("$exit.gpa == 4K", { exit }), true);
  assertEquals(ev("1 == 1.0"), true);
  assertEquals(ev("1 < 1.5 and 2 >= 2 and not (3 <= 2)"), true);
  assertEquals(ev("[1, done] == [1, done]"), true);
  assertEquals(ev('"a" + "b" == "ab"'), true);
  assertEquals(ev("true or false"), true);
  assertEquals(valuesEqual(new Word("WB"), "WB"), true);
});

Deno.test("evaluate() prints hex(x) in 64-bit two's complement for negative masks", () => {
  assertEquals(show("hex(4096)"), "0x1000");
  assertEquals(show("hex(~0xfff)"), "0xfffffffffffff000");
  assertEquals(show("hex(-1)"), "0xffffffffffffffff");
  assertEquals(show("hex(1 << 64)"), "0x10000000000000000");
});

Deno.test("evaluate() reports errors at the offending expression", () => {
  const e = assertThrows(() => ev("1 / (2 - 2)"), ScriptRuntimeError);
  assertEquals(e.message, "division by zero in '1 / (2 - 2)'");
  const t = assertThrows(() => ev('1 + "a"'), ScriptRuntimeError);
  assertEquals(t.message, `'+' needs numbers but '"a"' is a string`);
  assertEquals(t.loc.column, 11);
  const v = assertThrows(() => ev("$nope"), ScriptRuntimeError);
  assertEquals(v.message, "variable '$nope' has no value yet");
  const f = assertThrows(() =>
    ev("$d.page", { d: new RecordValue("dirty_log", new Map([["pages", 1n]])) })
  );
  assertEquals(f.message, "dirty_log record '$d' has no field 'page' (fields: pages)");
});

Deno.test("operandsOf() lists the non-literal sides of comparisons", () => {
  assertEquals(operandsOf(expr("$a == 1 and $b.c > $d")).map((e) => e.source), [
    "$a",
    "$b.c",
    "$d",
  ]);
  assertEquals(operandsOf(expr("not ($x + 1 == 2)")).map((e) => e.source), ["$x + 1"]);
});

Deno.test("formatValue() prints lists, records and booleans", () => {
  assertEquals(show('[1, "a b", on]'), '[1, "a b", on]');
  const rec = new RecordValue(
    "memtype",
    new Map<string, Value>([["type", new Word("WC")], ["ipat", false]]),
  );
  assertEquals(formatValue(rec), "{type: WC, ipat: false}");
});
