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
 * @param severity `error` (default) or `warning`
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
export function formatDiagnostic(
  diagnostic: Diagnostic,
  source: string,
  severity: "error" | "warning" = "error",
): string {
  const { file, line, column, message } = diagnostic;
  const full = sourceLine(source, line);
  const fullStart = Math.min(column - 1, full.length);
  // A long line is quoted as a window around the caret, so the output stays
  // linear in the number of diagnostics however long the script's lines are.
  const from = full.length > MAX_QUOTED_LINE
    ? Math.max(0, Math.min(fullStart - QUOTE_CONTEXT, full.length - MAX_QUOTED_LINE))
    : 0;
  const to = Math.min(full.length, from + MAX_QUOTED_LINE);
  const head = from > 0 ? "…" : "";
  const text = head + full.slice(from, to) + (to < full.length ? "…" : "");
  const start = Math.min(fullStart - from + head.length, text.length);
  const span = Math.max(1, Math.min(diagnostic.length, to - from + head.length - start));
  // Keep tabs in the indent so the caret lines up however tabs are rendered.
  const indent = text.slice(0, start).replace(/[^\t]/g, " ");
  const caret = "^" + "~".repeat(span - 1);
  return `${file}:${line}:${column}: ${severity}: ${message}\n${text}\n${indent}${caret}`;
}

/** Longest quoted source line, in characters; longer lines are shown around the caret. */
export const MAX_QUOTED_LINE = 120;
/** Characters kept before the caret when a long line is cut. */
const QUOTE_CONTEXT = 40;
/** Most diagnostics a script reports; the rest are counted in one last diagnostic. */
export const MAX_DIAGNOSTICS = 50;

/** Line `line` (1-based) of `source`, without its line break; "" when there is none. */
function sourceLine(source: string, line: number): string {
  let start = 0;
  for (let i = 1; i < line; i++) {
    const next = source.indexOf("\n", start);
    if (next < 0) return "";
    start = next + 1;
  }
  const end = source.indexOf("\n", start);
  return source.slice(start, end < 0 ? source.length : end).replace(/\r$/, "");
}

/**
 * The first {@linkcode MAX_DIAGNOSTICS} diagnostics in source order, then,
 * when there were more, one at the next of them saying how many were left out.
 *
 * @param diagnostics every diagnostic found, in any order
 * @returns at most `MAX_DIAGNOSTICS + 1` diagnostics, sorted by offset
 */
export function limitDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const sorted = [...diagnostics].sort((a, b) => a.offset - b.offset);
  if (sorted.length <= MAX_DIAGNOSTICS) return sorted;
  const more = sorted.length - MAX_DIAGNOSTICS;
  return [
    ...sorted.slice(0, MAX_DIAGNOSTICS),
    {
      ...sorted[MAX_DIAGNOSTICS],
      message: `too many errors: ${more} more not shown (the first ${MAX_DIAGNOSTICS} are above)`,
    },
  ];
}

/**
 * A script that does not parse or does not check: every diagnostic found,
 * in source order (at most {@linkcode MAX_DIAGNOSTICS}, then a count of the
 * rest). Its message is the formatted diagnostics.
 */
export class ScriptSyntaxError extends SyntaxError {
  /** The errors found (at least one; see {@linkcode limitDiagnostics}). */
  readonly diagnostics: readonly Diagnostic[];
  /** Line of the first diagnostic. */
  readonly line: number;
  /** Column of the first diagnostic. */
  readonly column: number;
  /** The formatted diagnostics, one block per error. */
  readonly formatted: string;

  /**
   * Creates the instance.
   *
   * @param diagnostics the errors, in any order (they are reported by offset)
   * @param source the script's text, for the source lines under each message
   */
  constructor(diagnostics: readonly Diagnostic[], source: string) {
    const sorted = limitDiagnostics(diagnostics);
    const formatted = sorted.map((d) => formatDiagnostic(d, source)).join("\n");
    super(formatted);
    this.name = "ScriptSyntaxError";
    this.diagnostics = sorted;
    this.line = sorted[0]?.line ?? 0;
    this.column = sorted[0]?.column ?? 0;
    this.formatted = formatted;
  }
}
