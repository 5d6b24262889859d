import { assert, assertEquals } from "@std/assert";
import { KEYWORDS } from "../../dsl/lexer.ts";

const DIR = new URL("../../editors/", import.meta.url);

interface Rule {
  name?: string;
  match?: string;
  begin?: string;
  end?: string;
  patterns?: Rule[];
  include?: string;
}

interface Grammar {
  scopeName: string;
  patterns: Rule[];
  repository: Record<string, Rule>;
}

async function readJson<T>(name: string): Promise<T> {
  return JSON.parse(await Deno.readTextFile(new URL(name, DIR))) as T;
}

/** Every rule of the grammar, nested ones included. */
function rules(g: Grammar): Rule[] {
  const out: Rule[] = [];
  const walk = (r: Rule) => {
    out.push(r);
    r.patterns?.forEach(walk);
  };
  g.patterns.forEach(walk);
  Object.values(g.repository).forEach(walk);
  return out;
}

/** The rule named `scope` (exactly one). */
function rule(g: Grammar, scope: string): RegExp {
  const found = rules(g).filter((r) => r.name === scope && r.match);
  assertEquals(found.length, 1, scope);
  return new RegExp(found[0].match!, "g");
}

Deno.test("the grammar is valid JSON whose every pattern compiles and every include resolves", async () => {
  const g = await readJson<Grammar>("kvm.tmLanguage.json");
  assertEquals(g.scopeName, "source.kvm");
  for (const r of rules(g)) {
    for (const re of [r.match, r.begin, r.end]) if (re !== undefined) new RegExp(re);
    if (r.include) assert(r.include.slice(1) in g.repository, r.include);
  }
  const pkg = await readJson<{
    contributes: { grammars: { scopeName: string; path: string }[]; languages: { id: string }[] };
  }>("package.json");
  assertEquals(pkg.contributes.grammars[0].scopeName, g.scopeName);
  assertEquals(pkg.contributes.grammars[0].path, "./kvm.tmLanguage.json");
  assertEquals(pkg.contributes.languages[0].id, "kvm");
});

Deno.test("every keyword the lexer knows is highlighted as a keyword", async () => {
  const g = await readJson<Grammar>("kvm.tmLanguage.json");
  const highlighted = new Set<string>();
  for (const r of rules(g)) {
    const m = /^\\b\(\?:([a-z_|]+)\)\\b$/.exec(r.match ?? "");
    if (m && /^(keyword|storage)\./.test(r.name ?? "")) {
      for (const w of m[1].split("|")) highlighted.add(w);
    }
  }
  const missing = Object.keys(KEYWORDS).filter((k) => !highlighted.has(k));
  assertEquals(missing, [], "keywords of dsl/tokens.ts missing from editors/kvm.tmLanguage.json");
});

Deno.test("the grammar tells sizes, durations, variables with fields and string escapes apart", async () => {
  const g = await readJson<Grammar>("kvm.tmLanguage.json");
  const line = 'memslot ram gpa 0x10_0000 size 64K; run timeout 500ms # "not a string"';
  assertEquals(line.match(rule(g, "constant.numeric.integer.kvm")), ["64K"]);
  assertEquals(line.match(rule(g, "constant.numeric.hex.kvm")), ["0x10_0000"]);
  assertEquals(line.match(rule(g, "constant.numeric.duration.kvm")), ["500ms"]);
  assertEquals(line.match(rule(g, "comment.line.number-sign.kvm")), ['# "not a string"']);
  const variable = new RegExp(g.repository.variable.match!);
  assertEquals(variable.exec("expect $exit.reason == done")?.slice(1), ["$exit", ".reason"]);
  assertEquals('"a\\"b\\n\\q"'.match(rule(g, "constant.character.escape.kvm")), ['\\"', "\\n"]);
  assertEquals('"\\q"'.match(rule(g, "invalid.illegal.escape.kvm")), ["\\q"]);
});
