/**
 * Mutation of seed scripts, token-aware: tokens are deleted, repeated,
 * swapped for other tokens of the corpus or for numbers at the edges; lines
 * are moved, spliced in from other seeds or replaced by generated steps;
 * expressions are wrapped deep; odd characters are inserted; the text is cut.
 *
 * @module
 */
import type { IToken } from "npm:chevrotain@^11.2.0";
import { SCRIPT_LEXER } from "../../dsl/lexer.ts";
import { EDGE_NUMBERS, type Generator } from "./generate.ts";
import type { Rng } from "./rng.ts";

const ODD_TEXT = [
  "\0",
  "\t",
  "\r",
  "\u00e9",
  "\u{1F600}",
  "\\",
  "'",
  "`",
  "@",
  "#",
  "\n",
  "{",
  "}",
  "(",
  ")",
  "$",
  ";;",
];

/** Token images of every seed: the vocabulary replacements draw from. */
export function vocabulary(texts: readonly string[]): string[] {
  const words = new Set<string>();
  for (const text of texts) for (const t of SCRIPT_LEXER.tokenize(text).tokens) words.add(t.image);
  return [...words].sort();
}

/** Mutates seed scripts. */
export class Mutator {
  readonly #rng: Rng;
  readonly #gen: Generator;
  readonly #seeds: readonly string[];
  readonly #words: readonly string[];

  /**
   * Makes a mutator.
   *
   * @param rng the random source
   * @param gen generates steps to insert
   * @param seeds the texts to mutate and splice from (at least one)
   */
  constructor(rng: Rng, gen: Generator, seeds: readonly string[]) {
    this.#rng = rng;
    this.#gen = gen;
    this.#seeds = seeds;
    this.#words = vocabulary(seeds);
  }

  /** A mutant of a random seed: one to four mutations. */
  mutant(): string {
    let text = this.#rng.pick(this.#seeds);
    const n = 1 + this.#rng.int(4);
    for (let i = 0; i < n; i++) text = this.mutate(text);
    return text;
  }

  /** One mutation of `text`. */
  mutate(text: string): string {
    const r = this.#rng;
    const tokens = SCRIPT_LEXER.tokenize(text).tokens;
    const lines = text.split("\n");
    if (tokens.length === 0) return text + this.#gen.step();
    const t = r.pick(tokens);
    const around = (replacement: string, token: IToken = t) =>
      text.slice(0, token.startOffset) + replacement + text.slice(token.endOffset! + 1);
    switch (r.int(11)) {
      case 0:
        return around("");
      case 1:
        return around(`${t.image} ${t.image}`);
      case 2:
        return around(r.pick(this.#words));
      case 3: {
        // A number at an edge, never as a repeat count (that is a long script, not a bug).
        const numbers = tokens.filter((x, i) =>
          x.tokenType.name === "IntLit" && tokens[i - 1]?.image !== "repeat"
        );
        return numbers.length
          ? around(r.pick(EDGE_NUMBERS), r.pick(numbers))
          : around(r.pick(EDGE_NUMBERS));
      }
      case 4: {
        const i = r.int(lines.length);
        const j = r.int(lines.length);
        [lines[i], lines[j]] = [lines[j], lines[i]];
        return lines.join("\n");
      }
      case 5: {
        const other = r.pick(this.#seeds).split("\n");
        lines.splice(r.int(lines.length + 1), 0, r.pick(other));
        return lines.join("\n");
      }
      case 6:
        lines.splice(r.int(lines.length + 1), 0, this.#gen.step());
        return lines.join("\n");
      case 7: {
        const n = r.pick([2, 10, 63, 64, 65, 200]);
        return around(
          r.chance(0.5)
            ? `${"(".repeat(n)}${t.image}${")".repeat(n)}`
            : `${t.image}${" + 1".repeat(n * 8)}`,
        );
      }
      case 8: {
        const at = r.int(text.length + 1);
        return text.slice(0, at) + r.pick(ODD_TEXT) + text.slice(at);
      }
      case 9:
        return text.slice(0, r.int(text.length + 1));
      default:
        lines.splice(
          r.int(lines.length + 1),
          0,
          this.#gen.expr(4).replace(/^/, r.pick(["print ", "let $x = ", "expect "])),
        );
        return lines.join("\n");
    }
  }
}
