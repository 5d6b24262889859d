/**
 * Text → {@linkcode Script}: lex, parse (with recovery), build the AST. Every
 * lexical, syntax and structural error of the text is collected and thrown
 * at once as a {@linkcode ScriptSyntaxError}.
 *
 * @module
 */
import type { IToken } from "npm:chevrotain@^11.2.0";
import type { Script, Stmt } from "./ast.ts";
import { type Diagnostic, diagnosticAt, ScriptSyntaxError } from "./diagnostics.ts";
import { SCRIPT_PARSER } from "./parser.ts";
import { BadNumber, BadString, IntLit, SCRIPT_LEXER, StringLit } from "./tokens.ts";
import { AstBuilder, tokLoc } from "./visitor.ts";

/** Options of {@linkcode parseScript}. */
export interface ParseOptions {
  /** The file name shown in diagnostics (default `<script>`). */
  file?: string;
}

function tokenDiagnostic(file: string, token: IToken, message: string): Diagnostic {
  return diagnosticAt(file, tokLoc(token), message);
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
 * Parses a `.kvm` script.
 *
 * @param text the script's source
 * @param options `file`: the name used in diagnostics
 * @returns the script's AST
 * @throws {ScriptSyntaxError} listing every error found
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
  const file = options.file ?? "<script>";
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
  const cst = SCRIPT_PARSER.script();
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
  const body = builder.visit(cst) as Stmt[];
  if (builder.diagnostics.length > 0) throw new ScriptSyntaxError(builder.diagnostics, text);
  return { file, source: text, body };
}
