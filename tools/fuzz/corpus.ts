/**
 * The seeds the fuzzer mutates: the examples (`examples/*.kvm`), the `.kvm`
 * snippets of the documentation (fenced blocks and inline code that starts
 * with a statement), and the committed seed corpus (`tools/fuzz/corpus/`).
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("../../", import.meta.url));

/** One seed script. */
export interface Seed {
  /** Where it came from (`examples/quickstart.kvm`, `dsl/README.md#3`). */
  name: string;
  /** The script. */
  text: string;
}

const DOCS = ["README.md", "dsl/README.md", "docs/backends.md"];

/** Words a `.kvm` statement starts with: inline code starting so is a snippet. */
const STATEMENT_START =
  /^(vm|run|let|expect|print|for|repeat|time|if|mark|stats|track|untrack|memslot|cap|quirk|demand|on)\b/;

function listKvm(dir: string): Seed[] {
  const seeds: Seed[] = [];
  try {
    for (
      const entry of [...Deno.readDirSync(join(ROOT, dir))].sort((a, b) => a.name < b.name ? -1 : 1)
    ) {
      if (entry.isFile && entry.name.endsWith(".kvm")) {
        seeds.push({
          name: `${dir}/${entry.name}`,
          text: Deno.readTextFileSync(join(ROOT, dir, entry.name)),
        });
      }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return seeds;
}

/**
 * The `.kvm` snippets of a Markdown text: fenced blocks that hold a statement
 * and inline code spans that start with one.
 *
 * @param name the document, for seed names
 * @param markdown its text
 */
export function snippets(name: string, markdown: string): Seed[] {
  const found: string[] = [];
  for (const m of markdown.matchAll(/```[a-z]*\n([\s\S]*?)```/g)) {
    if (m[1].split("\n").some((line) => STATEMENT_START.test(line.trim()))) found.push(m[1]);
  }
  for (const m of markdown.replace(/```[\s\S]*?```/g, "").matchAll(/`([^`\n]+)`/g)) {
    if (STATEMENT_START.test(m[1]) && m[1].includes(" ")) found.push(m[1]);
  }
  return found.map((text, i) => ({ name: `${name}#${i}`, text }));
}

/** Every seed, in a fixed order. */
export function loadSeeds(): Seed[] {
  const seeds = [...listKvm("examples"), ...listKvm("tools/fuzz/corpus")];
  for (const doc of DOCS) {
    let text: string;
    try {
      text = Deno.readTextFileSync(join(ROOT, doc));
    } catch {
      continue;
    }
    seeds.push(...snippets(doc, text));
  }
  return seeds;
}
