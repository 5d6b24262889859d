/**
 * The grammar and the CST → AST conversion of a statement whose syntax is a
 * plain sequence after its keyword (`vcpus EXPR`, `system gpa A size S`,
 * `for $v in LIST { … }`): the module lists the parts once and gets the
 * rule, the builder and its `kinds`/`reserved`/`words` from them, so that
 * the keyword, the labels and the fields cannot disagree. Statements with
 * alternatives, repetitions or their own AST logic write their grammar by
 * hand.
 *
 * @module
 */
import type { IToken, TokenType } from "npm:chevrotain@^11.2.0";
import { name, nodes, tok, tokLoc, varName } from "../cst.ts";
import * as T from "../tokens.ts";
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
    grammar: ({ g, K, expression, block }) =>
      g.RULE(rule, () => {
        g.CONSUME(K[keyword]);
        consumeParts(g, K, { expression, block }, parts, new Map());
      }),
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
 * Chevrotain tells repeated uses of one token or sub-rule in a rule apart by
 * the method's number (`SUBRULE`, `SUBRULE2`, …): `seen` counts them.
 */
function consumeParts(
  g: GrammarDsl,
  K: Readonly<Record<string, TokenType>>,
  rules: { expression: Rule; block: Rule },
  parts: readonly Part[],
  seen: Map<unknown, number>,
): void {
  const nth = (key: unknown) => {
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    return n;
  };
  const consume = (t: TokenType, label?: string) => {
    const opts = label ? { LABEL: label } : undefined;
    const n = nth(t);
    if (n === 1) g.CONSUME(t, opts);
    else if (n === 2) g.CONSUME2(t, opts);
    else g.CONSUME3(t, opts);
  };
  const subrule = (r: Rule, label: string) => {
    const n = nth(r);
    const subs = [g.SUBRULE, g.SUBRULE2, g.SUBRULE3, g.SUBRULE4, g.SUBRULE5];
    // Called on `g`: chevrotain swaps these methods on the instance while recording.
    subs[n - 1].call(g, r, { LABEL: label });
  };
  for (const p of parts) {
    if ("word" in p) consume(K[p.word]);
    else if ("token" in p) consume(p.token);
    else if ("expr" in p) subrule(rules.expression, p.expr);
    else if ("block" in p) subrule(rules.block, p.block);
    else if ("name" in p) consume(T.AnyWord, p.name);
    else if ("variable" in p) consume(T.Variable, p.variable);
    else {
      const inner = p.optional;
      const n = nth("OPTION");
      const body = () => consumeParts(g, K, rules, inner, seen);
      [g.OPTION, g.OPTION2, g.OPTION3, g.OPTION4][n - 1].call(g, body);
    }
  }
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
    else if ("optional" in p) Object.assign(fields, fieldsOf(ctx, b, p.optional, false));
  }
  return fields;
}
