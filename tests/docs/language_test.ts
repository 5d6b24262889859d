/**
 * docs/language.md, the language reference, cannot drift from the language:
 * every fenced `kvm` block is parsed, checked and run on the emulator and
 * must end as its info string says, and every statement, declaration,
 * function, payload, capability, quirk and stat the registries hold, and
 * every CLI option, exit code and reserved variable, is in it.
 *
 * A block's info string is `kvm` (the run must pass) or `kvm OUTCOME`
 * (`invalid`, `expectation_failed`, `backend_failed`: an intentional error
 * example). Comments in a block are assertions:
 *
 * - `# error: TEXT` — a diagnostic (a check problem, an error event or a
 *   failed expectation) on that line whose message contains TEXT;
 * - `# warning: TEXT` — a warning event on that line containing TEXT;
 * - `# → TEXT` — the next printed line is TEXT (when a block has any, the
 *   printed lines are exactly these, in order).
 *
 * Diagnostics and warnings no marker asks for fail the test. Snippets are
 * bounded by their size (a few pages, a few passes), not by time; each runs
 * as `language.kvm` in a directory holding `hlt.bin` (one `hlt`), which the
 * `guest file` example loads.
 */
import { assert, assertEquals } from "@std/assert";
import {
  checkScript,
  MemoryOutput,
  parseScript,
  runScript,
  ScriptSyntaxError,
} from "../../dsl/mod.ts";
import { DECLS, STEPS, VM } from "../../dsl/statements/mod.ts";
import { FUNCTIONS } from "../../dsl/functions.ts";
import { PAYLOADS } from "../../guest/payloads/mod.ts";
import { STATS } from "../../vmm/stats.ts";
import { CAPS, QUIRKS } from "../../vmm/caps/mod.ts";
import { RESERVED_VARIABLES } from "../../dsl/check_expr.ts";
import { EXIT_CODES, SIGNAL_EXIT_CODES } from "../../cli/exit_codes.ts";

const DOC = new URL("../../docs/language.md", import.meta.url);
const TEXT = Deno.readTextFileSync(DOC);

/** A fenced `kvm` block of the doc. */
interface Snippet {
  /** The doc line of its first script line (1-based). */
  docLine: number;
  /** The expected outcome. */
  outcome: string;
  /** Its text. */
  text: string;
}

const OUTCOMES = ["passed", "invalid", "expectation_failed", "backend_failed"];

function snippets(doc: string): Snippet[] {
  const out: Snippet[] = [];
  const lines = doc.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^```kvm(?:\s+(\S+))?\s*$/.exec(lines[i]);
    if (!m) continue;
    const end = lines.indexOf("```", i + 1);
    assert(end > i, `docs/language.md:${i + 1}: unclosed kvm block`);
    const outcome = m[1] ?? "passed";
    assert(OUTCOMES.includes(outcome), `docs/language.md:${i + 1}: unknown outcome '${outcome}'`);
    out.push({ docLine: i + 2, outcome, text: lines.slice(i + 1, end).join("\n") + "\n" });
    i = end;
  }
  return out;
}

/** A marker comment: its kind, its script line and the text it asks for. */
interface Marker {
  kind: "error" | "warning" | "print";
  line: number;
  text: string;
}

function markers(text: string): Marker[] {
  return text.split("\n").flatMap((l, i): Marker[] => {
    const m = /#\s*(error:|warning:|→)\s*(.*)$/.exec(l);
    if (!m) return [];
    const kind = m[1] === "→" ? "print" : m[1] === "error:" ? "error" : "warning";
    return [{ kind, line: i + 1, text: m[2].trim() }];
  });
}

/** A diagnostic of a run: its line and message. */
interface Found {
  line: number;
  message: string;
}

async function runSnippet(s: Snippet, dir: string) {
  const script = parseScript(s.text, { file: `${dir}/language.kvm` });
  const problems = checkScript(script);
  if (problems.length) {
    return {
      outcome: "invalid",
      errors: problems.map((d) => ({ line: d.line, message: d.message })),
      warnings: [] as Found[],
      printed: [] as string[],
    };
  }
  const output = new MemoryOutput();
  let outcome: string;
  try {
    outcome = (await runScript(script, { output, backend: "emu" })).outcome;
  } catch (e) {
    if (!(e instanceof ScriptSyntaxError)) throw e;
    outcome = "invalid";
  }
  const errors: Found[] = [];
  const warnings: Found[] = [];
  for (const e of output.events) {
    if (e.event === "error") errors.push({ line: e.location?.line ?? 0, message: e.message });
    if (e.event === "expect" && !e.ok) {
      errors.push({ line: e.location.line, message: e.diagnostic ?? e.expression });
    }
    if (e.event === "warning") warnings.push({ line: e.location.line, message: e.message });
  }
  return { outcome, errors, warnings, printed: output.printed };
}

function matchAll(what: string, found: Found[], wanted: Marker[], where: string): void {
  const left = [...found];
  for (const w of wanted) {
    const i = left.findIndex((f) => f.line === w.line && f.message.includes(w.text));
    assert(
      i >= 0,
      `${where}: no ${what} on line ${w.line} containing '${w.text}' (got ${
        JSON.stringify(found)
      })`,
    );
    left.splice(i, 1);
  }
  assertEquals(left, [], `${where}: ${what}s no marker asks for`);
}

const SNIPPETS = snippets(TEXT);

Deno.test("docs/language.md: every kvm block runs on the emulator as it says", async () => {
  assert(SNIPPETS.length >= 40, `only ${SNIPPETS.length} kvm blocks`);
  const dir = await Deno.makeTempDir({ prefix: "vmm-language-" });
  try {
    await Deno.writeFile(`${dir}/hlt.bin`, new Uint8Array([0xf4]));
    const failed: string[] = [];
    for (const s of SNIPPETS) {
      const where = `docs/language.md:${s.docLine}`;
      const r = await runSnippet(s, dir);
      const marks = markers(s.text);
      try {
        assertEquals(r.outcome, s.outcome, `${where}: ${JSON.stringify(r.errors)}`);
        matchAll("error", r.errors, marks.filter((m) => m.kind === "error"), where);
        matchAll("warning", r.warnings, marks.filter((m) => m.kind === "warning"), where);
        const prints = marks.filter((m) => m.kind === "print").map((m) => m.text);
        if (prints.length) assertEquals(r.printed, prints, `${where}: printed lines`);
      } catch (e) {
        failed.push((e as Error).message);
      }
    }
    // Every block's problem at once, so one run shows what the doc gets wrong.
    assertEquals(failed, [], "kvm blocks that do not run as they say");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("docs/language.md: error examples say what they expect", () => {
  for (const s of SNIPPETS.filter((s) => s.outcome !== "passed")) {
    assert(
      markers(s.text).some((m) => m.kind === "error"),
      `docs/language.md:${s.docLine}: a 'kvm ${s.outcome}' block needs an '# error: …' marker`,
    );
  }
});

/** The words of the kvm blocks (keywords, names, `name(` calls). */
const CODE = SNIPPETS.map((s) => s.text.replace(/#.*$/gm, "")).join("\n");

function inCode(pattern: string): boolean {
  return new RegExp(`(^|[^\\w.$])${pattern}`, "m").test(CODE);
}

Deno.test("docs/language.md: every statement and declaration keyword is in a snippet", () => {
  const missing: string[] = [];
  for (const def of [VM, ...STEPS, ...DECLS]) {
    for (const word of [...def.reserved, ...def.words]) {
      if (!inCode(`${word}\\b`)) missing.push(`${Object.keys(def.kinds).join("/")}: ${word}`);
    }
  }
  assertEquals(missing, [], "keywords no kvm block uses");
});

Deno.test("docs/language.md: every function, payload and capability is in a snippet", () => {
  const missing = [
    ...Object.keys(FUNCTIONS).filter((f) => !inCode(`${f}\\(`)).map((f) => `${f}()`),
    ...Object.keys(PAYLOADS).filter((p) => !inCode(`guest ${p}\\b`)).map((p) => `guest ${p}`),
    ...Object.keys(CAPS).filter((c) => !inCode(`${c}\\b`)).map((c) => `cap ${c}`),
    ...Object.keys(QUIRKS).filter((q) => !inCode(`quirk ${q}\\b`)).map((q) => `quirk ${q}`),
  ];
  assertEquals(missing, [], "registry entries no kvm block uses");
});

Deno.test("docs/language.md: every stat and payload has its place", () => {
  const missing = [
    ...Object.keys(STATS).filter((s) => !TEXT.includes(`\`${s}\``)).map((s) => `stat ${s}`),
    ...Object.keys(PAYLOADS).filter((p) => !TEXT.includes(`\n### \`${p}\``)).map((p) =>
      `section ### \`${p}\``
    ),
  ];
  assertEquals(missing, [], "not in docs/language.md");
});

Deno.test("docs/language.md: every CLI option, exit code and reserved variable is in it", () => {
  // The options are those of the CLI's usage text (cli/main.ts), the one list of them.
  const cli = Deno.readTextFileSync(new URL("../../cli/main.ts", import.meta.url));
  const usage = cli.slice(
    cli.indexOf("const USAGE"),
    cli.indexOf("`;", cli.indexOf("const USAGE")),
  );
  const options = [...usage.matchAll(/^\s+(?:-h, )?(--[a-z-]+)/gm)].map((m) => m[1]);
  assert(options.length >= 9, `options read from cli/main.ts: ${options}`);
  const codes = [...Object.entries(EXIT_CODES), ...Object.entries(SIGNAL_EXIT_CODES)];
  const missing = [
    ...options.filter((o) => !TEXT.includes(`\`${o}`)),
    ...codes.filter(([what, code]) => !new RegExp(`^\\| ${code} .*\\b${what}\\b`, "m").test(TEXT))
      .map(([what, code]) => `exit code ${code} (${what})`),
    ...Object.keys(RESERVED_VARIABLES).filter((v) => !TEXT.includes(`| \`$${v}\``)),
  ];
  assertEquals(missing, [], "not in docs/language.md");
});

Deno.test("docs/language.md: the reserved words are the lexer's", () => {
  const bullet = /\*\*Reserved words\*\*([\s\S]*?)Other keywords/.exec(TEXT)?.[1] ?? "";
  const listed = new Set([...bullet.matchAll(/`([^`]+)`/g)].flatMap((m) => m[1].split(/\s+/)));
  const reserved = ["and", "or", "not", ...[VM, ...STEPS, ...DECLS].flatMap((d) => d.reserved)];
  assertEquals([...new Set(reserved)].filter((w) => !listed.has(w)), [], "reserved, not listed");
  assertEquals([...listed].filter((w) => !reserved.includes(w)), [], "listed, not reserved");
});
