/**
 * A script's parameters (`param $NAME = EXPR`, `statements/param.ts`): what
 * it declares, their values once the caller's overrides (the CLI's
 * `--set NAME=VALUE`) are applied, and override values read as literals of
 * the language with the script's own lexer and parser.
 *
 * A default may use literals and earlier parameters only (the checker sees
 * to it), so every value is known before the first step runs.
 *
 * @module
 */
import type { Expr, Script } from "./ast.ts";
import { diagnosticAt, ScriptSyntaxError } from "./diagnostics.ts";
import { evaluate, ScriptRuntimeError } from "./evaluate.ts";
import { parseExpression } from "./parse.ts";
import type { ParamStmt } from "./statements/param.ts";
import { formatNested, formatValue, typeName, type Value, Word } from "./values.ts";

/**
 * An override the script cannot take: a name it does not declare, or a
 * value of another type than the default's. The script is invalid as run
 * (the CLI's exit code 2); nothing ran.
 */
export class ParameterError extends Error {
  /**
   * Creates the error.
   *
   * @param message what is wrong, naming the parameter
   */
  constructor(message: string) {
    super(message);
    this.name = "ParameterError";
  }
}

/** One parameter a script declares. */
export interface ScriptParameter {
  /** Its name, without `$`. */
  name: string;
  /** Its default, as written. */
  default: Expr;
  /** The text of a `# comment` after the default on the same line ("" when none). */
  description: string;
}

/** The `param` steps at the top level of a script, the first of each name, in order. */
function paramSteps(script: Script): ParamStmt[] {
  const seen = new Set<string>();
  const steps: ParamStmt[] = [];
  for (const stmt of script.body) {
    if (stmt.kind !== "param" || seen.has(stmt.variable.text)) continue;
    seen.add(stmt.variable.text);
    steps.push(stmt);
  }
  return steps;
}

/**
 * The parameters a script declares, in order.
 *
 * @param script a parsed script
 * @returns each parameter's name, default and description
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseScript } from "./parse.ts";
 * import { scriptParameters } from "./params.ts";
 * const script = parseScript("param $pages = 64  # pages to touch\nprint $pages");
 * const [p] = scriptParameters(script);
 * assertEquals([p.name, p.default.source, p.description], ["pages", "64", "pages to touch"]);
 * ```
 */
export function scriptParameters(script: Script): ScriptParameter[] {
  return paramSteps(script).map((step) => {
    const end = step.default.loc.offset + step.default.loc.length;
    const rest = script.source.slice(end).split("\n", 1)[0];
    const comment = /^\s*;?\s*#\s?(.*)$/.exec(rest);
    return {
      name: step.variable.text,
      default: step.default,
      description: comment ? comment[1].trim() : "",
    };
  });
}

/** Whether an expression is a literal: a number, size, string, word, or a list of literals. */
function isLiteral(expr: Expr): boolean {
  switch (expr.kind) {
    case "int":
    case "float":
    case "string":
    case "word":
      return true;
    case "unary":
      return expr.op === "-" && (expr.operand.kind === "int" || expr.operand.kind === "float");
    case "list":
      return expr.items.every(isLiteral);
    default:
      return false;
  }
}

/**
 * Reads a value given outside the script (`--set NAME=VALUE`) as a literal
 * of the language: `4`, `-1`, `1G`, `0x1000`, `0.5`, `zap_all`, `true`,
 * `"text"`, `[1, 2, 4]`.
 *
 * @param text the value as given
 * @returns the value
 * @throws {ParameterError} when the text is not one literal
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseParameterValue } from "./params.ts";
 * assertEquals(parseParameterValue("[1, 2K]"), [1n, 2048n]);
 * ```
 */
export function parseParameterValue(text: string): Value {
  if (text.trim() === "") {
    throw new ParameterError("no value (give a number, size, word, string or list)");
  }
  let expr: Expr;
  try {
    expr = parseExpression(text, { file: "--set" });
  } catch (e) {
    if (!(e instanceof ScriptSyntaxError)) throw e;
    const d = e.diagnostics[0];
    throw new ParameterError(`'${text}' is not a value: ${d.message} (at column ${d.column})`);
  }
  if (!isLiteral(expr)) {
    throw new ParameterError(
      `'${text}' is not a literal (give a number, size, word, string or list of them)`,
    );
  }
  return evaluate(expr, new Map());
}

/** Whether an override may replace a default: the same type (a word and a string are alike). */
function sameType(a: Value, b: Value): boolean {
  const text = (v: Value) => typeof v === "string" || v instanceof Word;
  return text(a) && text(b) || typeName(a) === typeName(b);
}

/**
 * The values of a script's parameters: each default, or the override of
 * the same name, in declaration order.
 *
 * @param script a script that passed `checkScript`
 * @param overrides values by parameter name (without `$`)
 * @returns the value of every parameter, in declaration order
 * @throws {ParameterError} an override names no parameter (the message lists
 *   the declared ones), or its type differs from the default's
 * @throws {ScriptSyntaxError} a default cannot be computed from the
 *   overridden values (a division by zero): located at the default
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseScript } from "./parse.ts";
 * import { resolveParameters } from "./params.ts";
 * const script = parseScript("param $pages = 64\nparam $bytes = $pages * 4K");
 * assertEquals(resolveParameters(script, { pages: 2n }), new Map([["pages", 2n], ["bytes", 8192n]]));
 * ```
 */
export function resolveParameters(
  script: Script,
  overrides: Readonly<Record<string, Value>> = {},
): Map<string, Value> {
  const steps = paramSteps(script);
  const names = steps.map((s) => s.variable.text);
  const unknown = Object.keys(overrides).filter((n) => !names.includes(n));
  if (unknown.length > 0) {
    const declared = names.length > 0
      ? `it declares ${names.map((n) => `$${n}`).join(", ")}`
      : "it declares none";
    throw new ParameterError(
      `the script has no parameter ${unknown.map((n) => `$${n}`).join(", ")} (${declared})`,
    );
  }
  const values = new Map<string, Value>();
  for (const step of steps) {
    const name = step.variable.text;
    let value: Value;
    try {
      value = evaluate(step.default, values);
    } catch (e) {
      if (!(e instanceof ScriptRuntimeError)) throw e;
      throw new ScriptSyntaxError([diagnosticAt(script.file, e.loc, e.message)], script.source);
    }
    if (Object.hasOwn(overrides, name)) {
      const override = overrides[name];
      if (!sameType(override, value)) {
        throw new ParameterError(
          `parameter $${name} takes ${article(typeName(value))} like its default ${
            formatValue(value)
          } (line ${step.loc.line}), not ${article(typeName(override))} (${formatValue(override)})`,
        );
      }
      value = override;
    }
    values.set(name, value);
  }
  return values;
}

function article(word: string): string {
  return `${/^[aeiou]/.test(word) ? "an" : "a"} ${word}`;
}

/**
 * The text of `--help-params`: each parameter with its default (the
 * default's value too when it is computed) and its description.
 *
 * @param script a parsed script
 * @returns lines for people (no trailing newline)
 */
export function formatParameterHelp(script: Script): string {
  const params = scriptParameters(script);
  if (params.length === 0) return `${script.file} declares no parameters`;
  let values: Map<string, Value> | undefined;
  try {
    values = resolveParameters(script);
  } catch {
    // A default that cannot be computed is shown as written.
  }
  const shown = params.map((p) => {
    const value = values?.get(p.name);
    const text = value === undefined ? "" : formatNested(value);
    return isLiteral(p.default) || text === "" ? p.default.source : `${p.default.source} (${text})`;
  });
  const nameWidth = Math.max(...params.map((p) => p.name.length));
  const valueWidth = Math.max(...shown.map((s) => s.length));
  const lines = params.map((p, i) =>
    `  ${p.name.padEnd(nameWidth)} = ${shown[i].padEnd(valueWidth)}${
      p.description ? `  # ${p.description}` : ""
    }`.trimEnd()
  );
  return [
    `Parameters of ${script.file} (override with --set NAME=VALUE):`,
    ...lines,
  ].join("\n");
}
