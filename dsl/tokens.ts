/**
 * The `.kvm` vocabulary: one chevrotain token per lexical element, ordered
 * for the lexer (longer operators before their prefixes). The keywords are
 * the statement modules' own words, made into tokens by `lexer.ts`.
 *
 * Keywords are contextual: every keyword token but the reserved ones belongs
 * to the {@linkcode AnyWord} category, so a slot, device or enum value may be
 * spelt like a keyword (`memslot write …`, `cap page_write_tracking on`).
 * Plain identifiers are {@linkcode Ident}; lists that must stop at the next
 * keyword (memslot flags, `stats` names) consume only `Ident`.
 *
 * @module
 */
import { createToken, Lexer, type TokenType } from "npm:chevrotain@^11.2.0";

/** Category of every word: plain identifiers and keywords alike. */
export const AnyWord: TokenType = createToken({ name: "AnyWord", pattern: Lexer.NA });

/**
 * Category of every lower-case word, reserved keywords included: the keys of
 * a guest block (`gpu_fill { device gpu }`) may be any word.
 */
export const KeyWord: TokenType = createToken({ name: "KeyWord", pattern: Lexer.NA });

/** A plain identifier (`[a-z_][a-z0-9_]*` that is not a keyword). */
export const Ident: TokenType = createToken({
  name: "Ident",
  pattern: /[a-z_][a-z0-9_]*/,
  categories: [AnyWord, KeyWord],
});

const DOTTED = /[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*/y;

/**
 * A dotted name without `$` (`gpu.shm`, a device's shm slot): one word, so it
 * is a slot name wherever a slot name goes, payload parameters included. Not
 * after a `.` (`$d.pages.x` stays field accesses).
 */
export const DottedName: TokenType = createToken({
  name: "DottedName",
  pattern: {
    exec(text: string, offset: number): RegExpExecArray | null {
      if (text[offset - 1] === ".") return null;
      DOTTED.lastIndex = offset;
      return DOTTED.exec(text);
    },
  },
  line_breaks: false,
  start_chars_hint: [..."abcdefghijklmnopqrstuvwxyz_"],
  categories: [AnyWord],
});

/** An upper-case word: errno names (`EINVAL`) and memory types (`WB`). */
export const UpperWord: TokenType = createToken({
  name: "UpperWord",
  pattern: /[A-Z][A-Za-z0-9_]*/,
});

/** Comments run from `#` to the end of the line. */
export const Comment: TokenType = createToken({
  name: "Comment",
  pattern: /#[^\n]*/,
  group: Lexer.SKIPPED,
});
/** Spaces, tabs and newlines separate tokens. */
export const WhiteSpace: TokenType = createToken({
  name: "WhiteSpace",
  pattern: /[ \t\r\n]+/,
  group: Lexer.SKIPPED,
});

/** A string literal with `\"`, `\\` and `\n` escapes (single line). */
export const StringLit: TokenType = createToken({
  name: "StringLit",
  pattern: /"(?:[^"\\\n]|\\["\\n])*"/,
});
/**
 * A string the lexer cannot accept (unterminated, or with an unknown escape).
 * Lexing it as a token lets `parseScript` report one precise error instead of
 * a cascade of parse errors on the text after the quote.
 */
export const BadString: TokenType = createToken({
  name: "BadString",
  pattern: /"(?:[^"\\\n]|\\.)*"?/,
});
/** A duration: `500ms`, `5s`, `2m`. */
export const Duration: TokenType = createToken({
  name: "Duration",
  pattern: /[0-9][0-9_]*(?:ms|s|m)(?![A-Za-z0-9_])/,
});
/** A float literal (an extension: `1.5`). */
export const FloatLit: TokenType = createToken({
  name: "FloatLit",
  pattern: /[0-9][0-9_]*\.[0-9][0-9_]*(?![A-Za-z0-9_])/,
});
/** An integer: decimal, `0x` hex, `0b` binary, `_` separators, size suffixes K M G T. */
export const IntLit: TokenType = createToken({
  name: "IntLit",
  // At least one digit after `0x`/`0b`: `0x_` is an invalid number, not an empty one.
  pattern:
    /(?:0[xX]_*[0-9a-fA-F][0-9a-fA-F_]*|0[bB]_*[01][01_]*|[0-9][0-9_]*[KMGT]?)(?![A-Za-z0-9_])/,
});
/** A digit run glued to letters (`64MB`, `5sec`): reported as an invalid number. */
export const BadNumber: TokenType = createToken({
  name: "BadNumber",
  pattern: /[0-9][A-Za-z0-9_.]*/,
});
/** `$name`. */
export const Variable: TokenType = createToken({ name: "Variable", pattern: /\$[a-z_][a-z0-9_]*/ });

/** `->` */
export const Arrow: TokenType = createToken({ name: "Arrow", pattern: /->/ });
/** `<<` */
export const Shl: TokenType = createToken({ name: "Shl", pattern: /<</ });
/** `>>` */
export const Shr: TokenType = createToken({ name: "Shr", pattern: />>/ });
/** `==` */
export const Eq: TokenType = createToken({ name: "Eq", pattern: /==/ });
/** `!=` */
export const Ne: TokenType = createToken({ name: "Ne", pattern: /!=/ });
/** `<=` */
export const Le: TokenType = createToken({ name: "Le", pattern: /<=/ });
/** `>=` */
export const Ge: TokenType = createToken({ name: "Ge", pattern: />=/ });
/** `<` */
export const Lt: TokenType = createToken({ name: "Lt", pattern: /</ });
/** `>` */
export const Gt: TokenType = createToken({ name: "Gt", pattern: />/ });
/** `=` */
export const Assign: TokenType = createToken({ name: "Assign", pattern: /=/ });
/** `+` */
export const Plus: TokenType = createToken({ name: "Plus", pattern: /\+/ });
/** `-` */
export const Minus: TokenType = createToken({ name: "Minus", pattern: /-/ });
/** `*` */
export const Star: TokenType = createToken({ name: "Star", pattern: /\*/ });
/** `/` */
export const Slash: TokenType = createToken({ name: "Slash", pattern: /\// });
/** `%` */
export const Percent: TokenType = createToken({ name: "Percent", pattern: /%/ });
/** `&` */
export const Amp: TokenType = createToken({ name: "Amp", pattern: /&/ });
/** `|` */
export const Pipe: TokenType = createToken({ name: "Pipe", pattern: /\|/ });
/** `~` */
export const Tilde: TokenType = createToken({ name: "Tilde", pattern: /~/ });
/** `(` */
export const LParen: TokenType = createToken({ name: "LParen", pattern: /\(/ });
/** `)` */
export const RParen: TokenType = createToken({ name: "RParen", pattern: /\)/ });
/** `[` */
export const LBracket: TokenType = createToken({ name: "LBracket", pattern: /\[/ });
/** `]` */
export const RBracket: TokenType = createToken({ name: "RBracket", pattern: /\]/ });
/** `{` */
export const LBrace: TokenType = createToken({ name: "LBrace", pattern: /\{/ });
/** `}` */
export const RBrace: TokenType = createToken({ name: "RBrace", pattern: /\}/ });
/** `,` */
export const Comma: TokenType = createToken({ name: "Comma", pattern: /,/ });
/** `.` */
export const Dot: TokenType = createToken({ name: "Dot", pattern: /\./ });
/** `;` (an optional statement terminator) */
export const Semicolon: TokenType = createToken({ name: "Semicolon", pattern: /;/ });

/**
 * Every token but the keywords, in lexing order. The order is important:
 * `->` before `-`, durations and floats before integers; `lexer.ts` puts the
 * keywords (each statement module's words) just before {@linkcode Ident}.
 */
export const BASE_TOKENS: TokenType[] = [
  WhiteSpace,
  Comment,
  StringLit,
  BadString,
  Duration,
  FloatLit,
  IntLit,
  BadNumber,
  Variable,
  DottedName,
  Ident,
  UpperWord,
  AnyWord,
  KeyWord,
  Arrow,
  Shl,
  Shr,
  Eq,
  Ne,
  Le,
  Ge,
  Lt,
  Gt,
  Assign,
  Plus,
  Minus,
  Star,
  Slash,
  Percent,
  Amp,
  Pipe,
  Tilde,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
  Comma,
  Dot,
  Semicolon,
];

/** Multipliers of the size suffixes (powers of 1024). */
const SIZE_SUFFIX: Readonly<Record<string, bigint>> = {
  K: 1n << 10n,
  M: 1n << 20n,
  G: 1n << 30n,
  T: 1n << 40n,
};

/**
 * The value of an integer literal's image, exactly.
 *
 * @example Sizes are powers of 1024
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseIntImage } from "./tokens.ts";
 * assertEquals(parseIntImage("2M"), 2097152n);
 * assertEquals(parseIntImage("0xffff_ffff_ffff_ffff"), 18446744073709551615n);
 * ```
 */
export function parseIntImage(image: string): bigint {
  const clean = image.replaceAll("_", "");
  const suffix = SIZE_SUFFIX[clean.at(-1) ?? ""];
  if (suffix !== undefined && !/^0[xX]/.test(clean)) return BigInt(clean.slice(0, -1)) * suffix;
  return BigInt(clean);
}

/** The value of a duration literal's image, in milliseconds. */
export function parseDurationImage(image: string): number {
  const clean = image.replaceAll("_", "");
  if (clean.endsWith("ms")) return Number(clean.slice(0, -2));
  if (clean.endsWith("s")) return Number(clean.slice(0, -1)) * 1000;
  return Number(clean.slice(0, -1)) * 60_000;
}

/** The text of a string literal's image, escapes resolved. */
export function parseStringImage(image: string): string {
  return image.slice(1, -1).replace(/\\(["\\n])/g, (_, c: string) => (c === "n" ? "\n" : c));
}
