/**
 * Text → {@linkcode Script}: lex, parse (with recovery), build the AST. Every
 * lexical, syntax and structural error of the text is collected and thrown
 * at once as a {@linkcode ScriptSyntaxError}.
 *
 * @module
 */
import type { CstNode, IToken } from "npm:chevrotain@^11.2.0";
import type { Expr, Loc, Script, Stmt } from "./ast.ts";
import { type Diagnostic, diagnosticAt, ScriptSyntaxError } from "./diagnostics.ts";
import { isEngineError, VmmInternalError } from "./internal_error.ts";
import { NestingTooDeep, SCRIPT_PARSER } from "./parser.ts";
import { SCRIPT_LEXER } from "./lexer.ts";
import { BadNumber, BadString, IntLit, parseIntImage, StringLit } from "./tokens.ts";
import { exceedsIntLimit, MAX_INT_BITS } from "./values.ts";
import { AstBuilder, tokLoc } from "./visitor.ts";

/** Options of {@linkcode parseScript}. */
export interface ParseOptions {
  /** The file name shown in diagnostics (default `<script>`). */
  file?: string;
}

function tokenDiagnostic(file: string, token: IToken, message: string): Diagnostic {
  return diagnosticAt(file, tokLoc(token), message);
}

/** Whether an integer literal is beyond the integer limit (judged by length first: no huge conversions). */
function literalTooLarge(image: string): boolean {
  // A digit is at least one bit, and a size suffix adds at most 40.
  if (image.length > 2 * MAX_INT_BITS) return true;
  return image.length > 40 && exceedsIntLimit(parseIntImage(image));
}

/**
 * Replaces the lexer's recovery tokens by the token the parser expects,
 * reporting each: the parse goes on as if the text were right, so one
 * mistake gives one diagnostic.
 */
function repairTokens(file: string, tokens: IToken[], diagnostics: Diagnostic[]): void {
  for (const token of tokens) {
    if (token.tokenType === BadString) {
      const bad = token.image.match(/\\[^"\\n]/);
      const closed = token.image.length > 1 && token.image.endsWith('"') && !bad;
      diagnostics.push(tokenDiagnostic(
        file,
        token,
        bad && token.image.endsWith('"')
          ? `unknown escape '${bad[0]}' in string (use \\", \\\\ or \\n)`
          : closed
          ? "invalid string"
          : "unterminated string",
      ));
      token.tokenType = StringLit;
      token.tokenTypeIdx = StringLit.tokenTypeIdx!;
    } else if (token.tokenType === IntLit && literalTooLarge(token.image)) {
      diagnostics.push(tokenDiagnostic(
        file,
        token,
        `integer literal too large (integers are limited to ${MAX_INT_BITS} bits)`,
      ));
      token.image = "0";
    } else if (token.tokenType === BadNumber) {
      diagnostics.push(tokenDiagnostic(
        file,
        token,
        `invalid number '${token.image}' (sizes take K, M, G or T; durations ms, s or m)`,
      ));
      token.tokenType = IntLit;
      token.tokenTypeIdx = IntLit.tokenTypeIdx!;
      token.image = "0";
    }
  }
}

/**
 * How deep the syntax tree may be. The parser bounds brackets and blocks
 * (`MAX_NESTING` of `parser.ts`); this bounds the rest, long operator chains
 * (`1+1+…+1` is a tree as deep as it is long), for the checker and the
 * interpreter, which walk the tree recursively.
 */
export const MAX_TREE_DEPTH = 512;

/** The location of the first node deeper than {@linkcode MAX_TREE_DEPTH}, walked without recursion. */
function tooDeep(tree: unknown): Loc | undefined {
  const stack: [unknown, number][] = [[tree, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== "object" || value === null) continue;
    const node = value as { kind?: unknown; loc?: Loc };
    const deeper = typeof node.kind === "string" ? depth + 1 : depth;
    if (deeper > MAX_TREE_DEPTH && node.loc) return node.loc;
    const children = Array.isArray(value) ? value : Object.values(value);
    for (const child of children) {
      if (typeof child === "object" && child !== null && child !== node.loc) {
        stack.push([child, deeper]);
      }
    }
  }
  return undefined;
}

/**
 * Parses a `.kvm` script.
 *
 * @param text the script's source
 * @param options `file`: the name used in diagnostics
 * @returns the script's AST
 * @throws {ScriptSyntaxError} listing every error found
 * @throws {VmmInternalError} when the JavaScript engine fails (a VMM bug)
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseScript } from "./parse.ts";
 * const script = parseScript("vm a { vcpus 2 }\nrun until done timeout 1s", { file: "a.kvm" });
 * assertEquals(script.body.map((s) => s.kind), ["vm", "run"]);
 * ```
 */
export function parseScript(text: string, options: ParseOptions = {}): Script {
  try {
    return parse(text, options.file ?? "<script>");
  } catch (e) {
    if (isEngineError(e)) throw new VmmInternalError(e, "parsing the script");
    throw e;
  }
}

function parse(text: string, file: string): Script {
  const body = parseWith(text, file, () => SCRIPT_PARSER.script(), (b, cst) => b.visit(cst));
  return { file, source: text, body: body as Stmt[] };
}

/**
 * Parses one expression on its own (a value given outside a script, such as
 * the CLI's `--set NAME=VALUE`), with the script's lexer, grammar and errors.
 *
 * @param text the expression's source
 * @param options `file`: the name used in diagnostics
 * @returns the expression's AST
 * @throws {ScriptSyntaxError} when the text is not exactly one expression
 * @throws {VmmInternalError} when the JavaScript engine fails (a VMM bug)
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseExpression } from "./parse.ts";
 * assertEquals(parseExpression("[1, 2K]").kind, "list");
 * ```
 */
export function parseExpression(text: string, options: ParseOptions = {}): Expr {
  try {
    return parseWith(
      text,
      options.file ?? "<expression>",
      () => SCRIPT_PARSER.expression(),
      (b, cst) => b.expr(cst),
    );
  } catch (e) {
    if (isEngineError(e)) throw new VmmInternalError(e, "parsing the expression");
    throw e;
  }
}

/** Lexes and parses `text` from the rule `entry` calls, then builds its AST with `build`. */
function parseWith<T>(
  text: string,
  file: string,
  entry: () => CstNode,
  build: (builder: AstBuilder, cst: CstNode) => T,
): T {
  const diagnostics: Diagnostic[] = [];
  const lexed = SCRIPT_LEXER.tokenize(text);
  for (const e of lexed.errors) {
    const found = text.slice(e.offset, e.offset + e.length);
    diagnostics.push({
      file,
      line: e.line ?? 1,
      column: e.column ?? 1,
      offset: e.offset,
      length: e.length,
      message: `unexpected character${e.length > 1 ? "s" : ""} '${found}'`,
    });
  }
  repairTokens(file, lexed.tokens, diagnostics);
  SCRIPT_PARSER.input = lexed.tokens;
  let cst;
  try {
    cst = entry();
  } catch (e) {
    if (!(e instanceof NestingTooDeep)) throw e;
    // The parse stopped here: what follows was not looked at.
    diagnostics.push(tokenDiagnostic(file, e.token, e.message));
    throw new ScriptSyntaxError(diagnostics, text);
  }
  for (const e of SCRIPT_PARSER.errors) {
    const token = e.token;
    // At end of input chevrotain reports an EOF token without a position: point after the last token.
    if (token.tokenType.name === "EOF" || Number.isNaN(token.startOffset)) {
      const last = lexed.tokens.at(-1);
      const lines = text.split("\n");
      diagnostics.push({
        file,
        line: last?.endLine ?? lines.length,
        column: (last?.endColumn ?? 0) + 1,
        offset: (last?.endOffset ?? text.length - 1) + 1,
        length: 1,
        message: e.message,
      });
    } else {
      diagnostics.push(tokenDiagnostic(file, token, e.message));
    }
  }
  if (diagnostics.length > 0) throw new ScriptSyntaxError(diagnostics, text);
  const builder = new AstBuilder(text, file);
  const result = build(builder, cst);
  if (builder.diagnostics.length > 0) throw new ScriptSyntaxError(builder.diagnostics, text);
  const deep = tooDeep(result);
  if (deep) {
    throw new ScriptSyntaxError([
      diagnosticAt(
        file,
        deep,
        `expression too deep (more than ${MAX_TREE_DEPTH} nested operations)`,
      ),
    ], text);
  }
  return result;
}
