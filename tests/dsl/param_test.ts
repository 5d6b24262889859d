import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import {
  checkScript,
  formatParameterHelp,
  MemoryOutput,
  ParameterError,
  parseParameterValue,
  parseScript,
  resolveParameters,
  runScript,
  scriptParameters,
  ScriptSyntaxError,
  Word,
} from "../../dsl/mod.ts";

function problems(source: string): string[] {
  return checkScript(parseScript(source, { file: "p.kvm" })).map((d) =>
    `${d.line}:${d.column}: ${d.message}`
  );
}

Deno.test("param declares a variable with its default; later params may use earlier ones", async () => {
  const script = parseScript(
    'param $pages = 16  # pages to touch\nparam $bytes = $pages * 4K\nparam $name = "x"\nprint $pages, $bytes, $name',
  );
  assertEquals(problems(script.source), []);
  const output = new MemoryOutput();
  const summary = await runScript(script, { backend: "emu", output });
  assertEquals(summary.outcome, "passed");
  assertEquals(output.printed, ["16 65536 x"]);
  assertEquals(
    scriptParameters(script).map((p) => [p.name, p.default.source, p.description]),
    [["pages", "16", "pages to touch"], ["bytes", "$pages * 4K", ""], ["name", '"x"', ""]],
  );
});

Deno.test("runScript() takes parameter values: they replace defaults, and defaults follow them", async () => {
  const script = parseScript("param $pages = 16\nparam $bytes = $pages * 4K\nprint $pages, $bytes");
  const output = new MemoryOutput();
  let started: ReadonlyMap<string, unknown> | undefined;
  await runScript(script, {
    backend: "emu",
    output,
    parameters: { pages: 2n },
    onStart: (p) => started = p,
  });
  assertEquals(output.printed, ["2 8192"]);
  assertEquals(started, new Map([["pages", 2n], ["bytes", 8192n]]));
});

Deno.test("param is a located error in a block, after a use, twice, or on a reserved name", () => {
  assertEquals(
    problems(
      [
        "let $a = 1",
        "param $a = 2",
        "param $b = 1",
        "param $b = 3",
        "param $elapsed = 2",
        "for $i in [1] { param $d = 1 }",
        "if true { param $e = 1 }",
        "param $f = $i + 1",
      ].join("\n"),
    ),
    [
      "2:7: 'param $a' comes after $a is first used or assigned: declare a parameter before its first use",
      "4:7: parameter $b declared twice (first at line 3)",
      "5:7: $elapsed is reserved: a parameter cannot take that name",
      "6:17: 'param' must be at the top level of the script (not in a loop, 'if', handler or block)",
      "7:11: 'param' must be at the top level of the script (not in a loop, 'if', handler or block)",
      "8:12: a parameter's default may use only literals and earlier parameters, and $i is not one",
    ],
  );
  for (const name of ["backend", "mmu", "vcpus", "exit", "fault", "elapsed", "wall"]) {
    assertEquals(problems(`param $${name} = 1`), [
      `1:7: $${name} is reserved: a parameter cannot take that name`,
    ]);
  }
});

Deno.test("parseParameterValue() reads literals with the script's lexer", () => {
  assertEquals(parseParameterValue("4"), 4n);
  assertEquals(parseParameterValue("-1"), -1n);
  assertEquals(parseParameterValue("1G"), 1n << 30n);
  assertEquals(parseParameterValue("0x1_000"), 4096n);
  assertEquals(parseParameterValue("0.5"), 0.5);
  assertEquals(parseParameterValue("zap_all"), new Word("zap_all"));
  assertEquals(parseParameterValue("true"), true);
  assertEquals(parseParameterValue('"a b"'), "a b");
  assertEquals(parseParameterValue("[1, 2, 4K]"), [1n, 2n, 4096n]);
  const bad: [string, string][] = [
    ["", "no value (give a number, size, word, string or list)"],
    [
      "64MB",
      "'64MB' is not a value: invalid number '64MB' (sizes take K, M, G or T; durations ms, s or m) (at column 1)",
    ],
    ["[1,", "'[1,' is not a value: expected ']' but found end of input (at column 4)"],
    ["1 2", "'1 2' is not a value: unexpected '2' (at column 3)"],
    ["1 + 1", "'1 + 1' is not a literal (give a number, size, word, string or list of them)"],
    ["$x", "'$x' is not a literal (give a number, size, word, string or list of them)"],
  ];
  for (const [text, message] of bad) {
    assertThrows(() => parseParameterValue(text), ParameterError, message);
  }
});

Deno.test("resolveParameters() refuses an unknown name (listing the declared ones) and a value of another type", () => {
  const script = parseScript("param $pages = 16\nparam $mode = zap_all");
  assertThrows(
    () => resolveParameters(script, { page: 1n }),
    ParameterError,
    "the script has no parameter $page (it declares $pages, $mode)",
  );
  assertThrows(
    () => resolveParameters(parseScript("print 1"), { page: 1n }),
    ParameterError,
    "(it declares none)",
  );
  assertThrows(
    () => resolveParameters(script, { pages: new Word("many") }),
    ParameterError,
    "parameter $pages takes an integer like its default 16 (line 1), not a word (many)",
  );
  // Words and strings are alike.
  assertEquals(
    resolveParameters(script, { mode: "zap_only_memslot" }).get("mode"),
    "zap_only_memslot",
  );
});

Deno.test("a default that fails with the given values is a located error; runScript() runs nothing", async () => {
  const script = parseScript("param $n = 4\nparam $per = 64 / $n\nprint $per", { file: "d.kvm" });
  const e = assertThrows(() => resolveParameters(script, { n: 0n }), ScriptSyntaxError);
  assertEquals(e.formatted.split("\n")[0], "d.kvm:2:14: error: division by zero in '64 / $n'");
  const output = new MemoryOutput();
  await assertRejects(
    () => runScript(script, { backend: "emu", output, parameters: { x: 1n } }),
    ParameterError,
  );
  assertEquals(output.events, []);
});

Deno.test("formatParameterHelp() lists names, defaults (with computed values) and comments", () => {
  const script = parseScript(
    'param $moves = [1, 2]  # ROM moves\nparam $bytes = 2 * 4K\nparam $s = "a"',
    { file: "h.kvm" },
  );
  assertEquals(
    formatParameterHelp(script),
    [
      "Parameters of h.kvm (override with --set NAME=VALUE):",
      "  moves = [1, 2]         # ROM moves",
      "  bytes = 2 * 4K (8192)",
      '  s     = "a"',
    ].join("\n"),
  );
  assertEquals(
    formatParameterHelp(parseScript("print 1", { file: "n.kvm" })),
    "n.kvm declares no parameters",
  );
});
