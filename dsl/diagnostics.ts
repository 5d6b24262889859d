/**
 * Diagnostics in the one format every tool of the project prints:
 *
 * ```
 * file:line:col: error: message
 * <the source line>
 *     ^~~~
 * ```
 *
 * The caret starts under the offending token and `~` spans the rest of it
 * (clipped at the end of the line).
 *
 * @module
 */
import type { Loc } from "./ast.ts";

/** One error, located in a script's source. */
export interface Diagnostic {
  /** The script's file name as given (`<script>` when none). */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based, in characters. */
  column: number;
  /** 0-based character offset. */
  offset: number;
  /** Length of the offending token in characters (at least 1). */
  length: number;
  /** What is wrong, one sentence without the location. */
  message: string;
}

/** Builds a diagnostic for a located node. */
export function diagnosticAt(file: string, loc: Loc, message: string): Diagnostic {
  return {
    file,
    line: loc.line,
    column: loc.column,
    offset: loc.offset,
    length: Math.max(1, loc.length),
    message,
  };
}

/**
 * Formats a diagnostic as three lines (no trailing newline).
 *
 * @param diagnostic what to format
 * @param source the script's full text, for the quoted line
 * @returns `file:line:col: error: message`, the source line and the caret line
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { formatDiagnostic } from "./diagnostics.ts";
 * const d = { file: "a.kvm", line: 1, column: 5, offset: 4, length: 3, message: "unknown payload 'foo'" };
 * assertEquals(
 *   formatDiagnostic(d, "run foo"),
 *   "a.kvm:1:5: error: unknown payload 'foo'\nrun foo\n    ^~~",
 * );
 * ```
 */
export function formatDiagnostic(diagnostic: Diagnostic, source: string): string {
  const { file, line, column, message } = diagnostic;
  const text = source.split("\n")[line - 1]?.replace(/\r$/, "") ?? "";
  const start = Math.min(column - 1, text.length);
  const span = Math.max(1, Math.min(diagnostic.length, text.length - start));
  // Keep tabs in the indent so the caret lines up however tabs are rendered.
  const indent = text.slice(0, start).replace(/[^\t]/g, " ");
  const caret = "^" + "~".repeat(span - 1);
  return `${file}:${line}:${column}: error: ${message}\n${text}\n${indent}${caret}`;
}

/**
 * A script that does not parse or does not check: every diagnostic found,
 * in source order. Its message is the formatted diagnostics.
 */
export class ScriptSyntaxError extends SyntaxError {
  /** Every error found (at least one). */
  readonly diagnostics: readonly Diagnostic[];
  /** Line of the first diagnostic. */
  readonly line: number;
  /** Column of the first diagnostic. */
  readonly column: number;
  /** The formatted diagnostics, one block per error. */
  readonly formatted: string;

  /**
   * @param diagnostics the errors, in any order (they are reported by offset)
   * @param source the script's text, for the source lines under each message
   */
  constructor(diagnostics: readonly Diagnostic[], source: string) {
    const sorted = [...diagnostics].sort((a, b) => a.offset - b.offset);
    const formatted = sorted.map((d) => formatDiagnostic(d, source)).join("\n");
    super(formatted);
    this.name = "ScriptSyntaxError";
    this.diagnostics = sorted;
    this.line = sorted[0]?.line ?? 0;
    this.column = sorted[0]?.column ?? 0;
    this.formatted = formatted;
  }
}
