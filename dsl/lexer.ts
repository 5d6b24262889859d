/**
 * The keyword tokens and the lexer. The keywords are the words of the
 * expressions (`and or not`) and of every statement module in the registry
 * (`statements/mod.ts`): a module that introduces a word needs no edit here.
 *
 * @module
 */
import { createToken, Lexer, type TokenType } from "npm:chevrotain@^11.2.0";
import { DECLS, STEPS, VM } from "./statements/mod.ts";
import { AnyWord, BASE_TOKENS, Ident, KeyWord } from "./tokens.ts";

const MODULES = [VM, ...STEPS, ...DECLS];

/**
 * Words that can never be names: the operators, and the keywords that start
 * a statement or a declaration, so that an unfinished expression stops at
 * the next statement (`print (1 +` then `let …` reports the `let`).
 */
const RESERVED: ReadonlySet<string> = new Set([
  "and",
  "or",
  "not",
  ...MODULES.flatMap((m) => m.reserved),
]);

/** Keyword tokens by their spelling. */
export const KEYWORDS: Readonly<Record<string, TokenType>> = Object.fromEntries(
  [...new Set([...RESERVED, ...MODULES.flatMap((m) => m.words)])].map((word) => [
    word,
    createToken({
      name: `Kw_${word}`,
      pattern: new RegExp(word),
      longer_alt: Ident,
      categories: RESERVED.has(word) ? [KeyWord] : [AnyWord, KeyWord],
    }),
  ]),
);

/** Every token, in lexing order: the keywords before identifiers. */
export const ALL_TOKENS: TokenType[] = [
  ...BASE_TOKENS.slice(0, BASE_TOKENS.indexOf(Ident)),
  // Longest first, so that `stats` is not lexed as `stat` + `s`.
  ...Object.values(KEYWORDS).sort((a, b) => b.name.length - a.name.length),
  ...BASE_TOKENS.slice(BASE_TOKENS.indexOf(Ident)),
];

/** The one lexer instance (chevrotain lexers are reusable and stateless). */
export const SCRIPT_LEXER: Lexer = new Lexer(ALL_TOKENS, { positionTracking: "full" });
