/**
 * How parse errors read: chevrotain's error message provider for
 * `parser.ts`, naming tokens and rules in the script's own words
 * (`expected an expression but found '}'`) instead of token paths.
 *
 * @module
 */
import { EOF, type IParserErrorMessageProvider, type TokenType } from "npm:chevrotain@^11.2.0";
import { DECLS, STEPS, VM } from "./statements/mod.ts";

/** How a token type reads in an error message. */
function describeTokenType(type: TokenType): string {
  if (type === EOF) return "end of input";
  if (type.name.startsWith("Kw_")) return `'${type.name.slice(3)}'`;
  const described: Record<string, string> = {
    AnyWord: "a name",
    Ident: "a name",
    UpperWord: "an errno name such as EINVAL",
    StringLit: "a string",
    Duration: "a duration such as 5s",
    IntLit: "an integer",
    FloatLit: "a number",
    Variable: "a variable",
  };
  if (described[type.name]) return described[type.name];
  const pattern = type.PATTERN;
  return pattern instanceof RegExp ? `'${pattern.source.replaceAll("\\", "")}'` : type.name;
}

function describeFound(token: { image: string; tokenType: TokenType }): string {
  return token.tokenType === EOF ? "end of input" : `'${token.image}'`;
}

/** What a rule stands for, when no alternative of it matches. */
const RULE_WHAT: Record<string, string> = {
  statement: "a statement (vm, run, let, expect, print, …)",
  step: "a step (run, let, expect, print, if, memslot, …)",
  decl: `a declaration (${DECLS.map((d) => d.reserved.join(", ")).join(", ")})`,
  primary: "an expression",
  unary: "an expression",
  notExpr: "an expression",
  ...Object.assign({}, ...[VM, ...STEPS, ...DECLS].map((m) => m.expected)),
};

function firstTokens(paths: TokenType[][][]): string {
  const seen = new Set<string>();
  for (const alt of paths) {
    for (const path of alt) if (path[0]) seen.add(describeTokenType(path[0]));
  }
  return [...seen].slice(0, 6).join(", ");
}

/** Short, user-facing parse error messages (chevrotain's defaults list token paths). */
export const PARSE_MESSAGES: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual }) {
    return `expected ${describeTokenType(expected)} but found ${describeFound(actual)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return `unexpected ${describeFound(firstRedundant)}`;
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, ruleName }) {
    const what = RULE_WHAT[ruleName] ?? firstTokens(expectedPathsPerAlt);
    return `expected ${what} but found ${describeFound(actual[0])}`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual }) {
    const what = firstTokens([expectedIterationPaths]);
    return `expected ${what} but found ${describeFound(actual[0])}`;
  },
};
