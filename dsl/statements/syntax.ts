/**
 * The grammar and the CST → AST conversion of a statement whose syntax is a
 * plain sequence after its keyword (`vcpus EXPR`, `system gpa A size S`,
 * `for $v in LIST { … }`, `print A, B`): the module lists the parts once and gets the
 * rule, the builder and its `kinds`/`reserved`/`words` from them, so that
 * the keyword, the labels and the fields cannot disagree. Statements with
 * alternatives, repetitions or their own AST logic write their grammar by
 * hand.
 *
 * @module
 */
import type { IToken, TokenType } from "npm:chevrotain@^11.2.0";
import { name, nodes, tok, tokLoc, toks, varName } from "../cst.ts";
import * as T from "../tokens.ts";
import { parseStringImage } from "../tokens.ts";
import type { AstBuilder } from "../visitor.ts";
import type { Ctx } from "../cst.ts";
import type { Build, GrammarDsl, GrammarEnv, Rule } from "./statement.ts";

/** One part of a statement's syntax after its keyword. */
export type Part =
  /** A keyword that stays usable as a name (`gpa`, `in`); not stored. */
  | { word: string }
  /** A punctuation token (`=`); not stored. */
  | { token: TokenType }
  /** An expression, stored in the field. */
  | { expr: string }
  /** A `{ … }` block, stored as its statements. */
  | { block: string }
  /** A word, stored as a located name. */
  | { name: string }
  /** A `$variable`, stored as a located name without the `$`. */
  | { variable: string }
  /** A string literal, stored as its text. */
  | { string: string }
  /** One or more expressions between `separator`s, stored as a list. */
  | { exprs: string; separator: TokenType }
  /** Zero or more `of` tokens, stored as located names. */
  | { names: string; of: TokenType }
  /** Parts that may be left out as a whole (their fields are then `undefined`). */
  | { optional: readonly Part[] };

/** What {@linkcode keywordSyntax} gives a module: spread it into its definition. */
export interface KeywordSyntax<K extends string> {
  kinds: { readonly [k in K]: true };
  reserved: readonly string[];
  words: readonly string[];
  grammar(env: GrammarEnv): Rule;
  build: Readonly<Record<string, Build>>;
}

/**
 * A statement's grammar and builder from its keyword and parts. The AST
 * node is `{ kind: keyword, loc: <the keyword>, …one field per stored part }`.
 *
 * @param rule the grammar rule's name (as parse errors and `expected` name it)
 * @param keyword the statement's keyword, also its AST kind
 * @param parts what follows the keyword, in order
 * @returns kinds, reserved, words, grammar and build of the module
 */
export function keywordSyntax<K extends string>(
  rule: string,
  keyword: K,
  parts: readonly Part[],
): KeywordSyntax<K> {
  return {
    kinds: { [keyword]: true } as { readonly [k in K]: true },
    reserved: [keyword],
    words: wordsOf(parts),
    grammar: ({ g, K, expression, block }) => {
      const rest = compile(g, K, { expression, block }, parts, new Map());
      return g.RULE(rule, () => {
        g.CONSUME(K[keyword]);
        rest();
      });
    },
    build: {
      [rule]: (ctx: Ctx, b: AstBuilder) => ({
        kind: keyword,
        loc: tokLoc(tok(ctx, `Kw_${keyword}`)),
        ...fieldsOf(ctx, b, parts),
      }),
    },
  };
}

function wordsOf(parts: readonly Part[]): string[] {
  return parts.flatMap((p) => "word" in p ? [p.word] : "optional" in p ? wordsOf(p.optional) : []);
}

/**
 * The parts as one grammar action. Chevrotain tells repeated uses of one
 * token or sub-rule in a rule apart by the method's number (`SUBRULE`,
 * `SUBRULE2`, …): `seen` numbers them here, once, when the rule is defined,
 * so that every run of the action (recording, parsing, with or without an
 * optional group) calls the same methods.
 */
function compile(
  g: GrammarDsl,
  K: Readonly<Record<string, TokenType>>,
  rules: { expression: Rule; block: Rule },
  parts: readonly Part[],
  seen: Map<unknown, number>,
): () => void {
  const nth = (key: unknown) => {
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    return n - 1;
  };
  // Looked up on `g` at each call: chevrotain swaps these methods on the instance while recording.
  const consume = (t: TokenType, label?: string) => {
    const n = nth(t);
    const opts = label ? { LABEL: label } : undefined;
    return () => [g.CONSUME, g.CONSUME2, g.CONSUME3][n].call(g, t, opts);
  };
  const subrule = (r: Rule, label: string) => {
    const n = nth(r);
    return () =>
      [g.SUBRULE, g.SUBRULE2, g.SUBRULE3, g.SUBRULE4, g.SUBRULE5][n].call(g, r, { LABEL: label });
  };
  const many = (body: () => void) => {
    const n = nth("MANY");
    return () => [g.MANY, g.MANY2][n].call(g, body);
  };
  const steps = parts.map((p): () => void => {
    if ("word" in p) return consume(K[p.word]);
    if ("token" in p) return consume(p.token);
    if ("expr" in p) return subrule(rules.expression, p.expr);
    if ("block" in p) return subrule(rules.block, p.block);
    if ("name" in p) return consume(T.AnyWord, p.name);
    if ("variable" in p) return consume(T.Variable, p.variable);
    if ("string" in p) return consume(T.StringLit, p.string);
    if ("exprs" in p) {
      const first = subrule(rules.expression, p.exprs);
      const separator = consume(p.separator);
      const next = subrule(rules.expression, p.exprs);
      const rest = many(() => {
        separator();
        next();
      });
      return () => {
        first();
        rest();
      };
    }
    if ("names" in p) return many(consume(p.of, p.names));
    const n = nth("OPTION");
    const body = compile(g, K, rules, p.optional, seen);
    return () => [g.OPTION, g.OPTION2, g.OPTION3, g.OPTION4][n].call(g, body);
  });
  return () => steps.forEach((step) => step());
}

/** The stored fields; `required` is false inside an optional group (absent parts are `undefined`). */
function fieldsOf(
  ctx: Ctx,
  b: AstBuilder,
  parts: readonly Part[],
  required = true,
): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const word = (key: string, as: (t: IToken) => unknown) =>
    required || ctx[key] ? as(tok(ctx, key)) : undefined;
  for (const p of parts) {
    if ("expr" in p) {
      fields[p.expr] = required ? b.expr(nodes(ctx, p.expr)[0]) : b.optExpr(ctx, p.expr);
    } else if ("block" in p) {
      const block = nodes(ctx, p.block)[0];
      fields[p.block] = required || block ? b.body(block) : undefined;
    } else if ("name" in p) fields[p.name] = word(p.name, name);
    else if ("variable" in p) fields[p.variable] = word(p.variable, varName);
    else if ("string" in p) fields[p.string] = word(p.string, (t) => parseStringImage(t.image));
    else if ("exprs" in p) fields[p.exprs] = nodes(ctx, p.exprs).map((n) => b.expr(n));
    else if ("names" in p) fields[p.names] = toks(ctx, p.names).map(name);
    else if ("optional" in p) Object.assign(fields, fieldsOf(ctx, b, p.optional, false));
  }
  return fields;
}
