/**
 * Expression evaluation: exact integer arithmetic on `bigint`, floats only
 * where a float comes in, enum words compared as text. Pure: the same
 * expression in the same variables always gives the same value, which lets
 * an expectation failure re-evaluate operands to show them.
 *
 * @module
 */
import type { Expr, Loc } from "./ast.ts";
import { arityError, CallError, type FunctionHost, functionOf } from "./functions.ts";
import {
  exceedsIntLimit,
  MAX_INT_BITS,
  RecordValue,
  typeName,
  type Value,
  valuesEqual,
  Word,
} from "./values.ts";

/** An error of the script itself found while running it (division by zero, a type mismatch). */
export class ScriptRuntimeError extends Error {
  /** Where in the script. */
  readonly loc: Loc;
  /**
   * Creates the instance.
   *
   * @param loc where in the script
   * @param message what went wrong
   */
  constructor(loc: Loc, message: string) {
    super(message);
    this.name = "ScriptRuntimeError";
    this.loc = loc;
  }
}

/**
 * The variable store: one scope for the whole script; the interpreter's
 * also gives the functions that read the backend (`stat()`, `has_cap()`)
 * their access to it.
 */
export interface Variables extends Map<string, Value> {
  /** What `stat()` and `has_cap()` read (none: they are a run-time error). */
  readonly host?: FunctionHost;
}

function fail(expr: Expr, message: string): never {
  throw new ScriptRuntimeError(expr.loc, message);
}

/** Whether a value counts as true (`expect`, `and`, `or`, `not`). */
export function truthy(value: Value, expr: Expr): boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "bigint") return value !== 0n;
  return fail(expr, `expected a boolean but '${expr.source}' is a ${typeName(value)}`);
}

function numeric(value: Value, expr: Expr, op: string): bigint | number {
  if (typeof value === "bigint" || typeof value === "number") return value;
  return fail(expr, `'${op}' needs numbers but '${expr.source}' is a ${typeName(value)}`);
}

function integer(value: Value, expr: Expr, op: string): bigint {
  if (typeof value === "bigint") return value;
  return fail(expr, `'${op}' needs integers but '${expr.source}' is a ${typeName(value)}`);
}

/** `value`, unless it is beyond the integer limit: then a located error, not an engine failure. */
function bounded(value: bigint, expr: Expr, op: string): bigint {
  if (exceedsIntLimit(value)) {
    fail(expr, `the result of '${op}' exceeds the integer limit of ${MAX_INT_BITS} bits`);
  }
  return value;
}

function arithmetic(op: string, a: bigint | number, b: bigint | number, expr: Expr): Value {
  if (typeof a === "bigint" && typeof b === "bigint") {
    return bounded(exact(op, a, b, expr), expr, op);
  }
  return inexact(op, Number(a), Number(b));
}

function exact(op: string, a: bigint, b: bigint, expr: Expr): bigint {
  switch (op) {
    case "+":
      return a + b;
    case "-":
      return a - b;
    case "*":
      return a * b;
    case "/":
      if (b === 0n) fail(expr, `division by zero in '${expr.source}'`);
      return a / b;
    default:
      if (b === 0n) fail(expr, `division by zero in '${expr.source}'`);
      return a % b;
  }
}

/** The longest string a script may build (`+` in a loop doubles a string each time). */
export const MAX_STRING_LENGTH = 1 << 20;

function inexact(op: string, x: number, y: number): number {
  switch (op) {
    case "+":
      return x + y;
    case "-":
      return x - y;
    case "*":
      return x * y;
    case "/":
      return x / y;
    default:
      return x % y;
  }
}

function compare(op: string, a: Value, b: Value, expr: Expr): boolean {
  if (op === "==") return valuesEqual(a, b);
  if (op === "!=") return !valuesEqual(a, b);
  let x: bigint | number | string;
  let y: bigint | number | string;
  if (typeof a === "string" && typeof b === "string") {
    x = a;
    y = b;
  } else {
    x = numeric(a, expr.kind === "binary" ? expr.left : expr, op);
    y = numeric(b, expr.kind === "binary" ? expr.right : expr, op);
  }
  switch (op) {
    case "<":
      return x < y;
    case "<=":
      return x <= y;
    case ">":
      return x > y;
    default:
      return x >= y;
  }
}

/**
 * Evaluates an expression.
 *
 * @param expr the expression
 * @param vars the script's variables
 * @returns its value
 * @throws {ScriptRuntimeError} on a type mismatch, an undefined variable or division by zero
 *
 * @example 64-bit arithmetic is exact
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { evaluate } from "./evaluate.ts";
 * import { parseScript } from "./parse.ts";
 * const step = parseScript("print 0xffff_ffff_ffff_ffff + 1").body[0];
 * if (step.kind !== "print") throw new Error("unreachable");
 * assertEquals(evaluate(step.exprs[0], new Map()), 18446744073709551616n);
 * ```
 */
export function evaluate(expr: Expr, vars: Variables): Value {
  switch (expr.kind) {
    case "int":
    case "float":
    case "string":
      return expr.value;
    case "word":
      if (expr.value === "true") return true;
      if (expr.value === "false") return false;
      return new Word(expr.value);
    case "var": {
      const value = vars.get(expr.name);
      if (value === undefined) fail(expr, `variable '$${expr.name}' has no value yet`);
      return value;
    }
    case "field": {
      const target = evaluate(expr.target, vars);
      if (!(target instanceof RecordValue)) {
        fail(expr, `'${expr.target.source}' is a ${typeName(target)}, not a record`);
      }
      const value = target.fields.get(expr.field.text);
      if (value === undefined) {
        fail(
          expr,
          `${target.kind} record '${expr.target.source}' has no field '${expr.field.text}' (fields: ${
            [...target.fields.keys()].join(", ")
          })`,
        );
      }
      return value;
    }
    case "list":
      return expr.items.map((item) => evaluate(item, vars));
    case "call":
      return call(expr as Expr & { kind: "call" }, vars);
    case "unary": {
      const value = evaluate(expr.operand, vars);
      if (expr.op === "not") return !truthy(value, expr.operand);
      if (expr.op === "~") return bounded(~integer(value, expr.operand, "~"), expr, "~");
      const n = numeric(value, expr.operand, "-");
      return typeof n === "bigint" ? bounded(-n, expr, "-") : -n;
    }
    case "binary":
      return evaluateBinary(expr as Expr & { kind: "binary" }, vars);
  }
}

function call(expr: Expr & { kind: "call" }, vars: Variables): Value {
  const def = functionOf(expr.fn);
  if (typeof def === "string") fail(expr, def);
  const arity = arityError(def, expr.fn, expr.args.length);
  if (arity) fail(expr, arity);
  const args = expr.args.map((a) => evaluate(a, vars));
  try {
    return def.evaluate(args, expr, vars.host);
  } catch (e) {
    if (e instanceof CallError) throw new ScriptRuntimeError(e.loc, e.message);
    throw e;
  }
}

function evaluateBinary(expr: Expr & { kind: "binary" }, vars: Variables): Value {
  const { op, left, right } = expr;
  if (op === "and") {
    return truthy(evaluate(left, vars), left) && truthy(evaluate(right, vars), right);
  }
  if (op === "or") {
    return truthy(evaluate(left, vars), left) || truthy(evaluate(right, vars), right);
  }
  const a = evaluate(left, vars);
  const b = evaluate(right, vars);
  switch (op) {
    case "==":
    case "!=":
    case "<":
    case "<=":
    case ">":
    case ">=":
      return compare(op, a, b, expr);
    case "+":
      if (typeof a === "string" && typeof b === "string") {
        if (a.length + b.length > MAX_STRING_LENGTH) {
          fail(expr, `the string made by '+' would exceed ${MAX_STRING_LENGTH} characters`);
        }
        return a + b;
      }
      return arithmetic(op, numeric(a, left, op), numeric(b, right, op), expr);
    case "-":
    case "*":
    case "/":
    case "%":
      return arithmetic(op, numeric(a, left, op), numeric(b, right, op), expr);
    case "<<":
    case ">>": {
      const x = integer(a, left, op);
      const n = integer(b, right, op);
      if (n < 0n) fail(right, `negative shift count ${n}`);
      // Past the limit `>>` gives 0 or -1 and `<<` overflows (or is 0 << n): never shift by more.
      const count = n > BigInt(MAX_INT_BITS) ? BigInt(MAX_INT_BITS) + 1n : n;
      if (op === ">>") return x >> count;
      if (x !== 0n && count > BigInt(MAX_INT_BITS)) {
        fail(right, `shift count ${n} exceeds the integer limit of ${MAX_INT_BITS} bits`);
      }
      return bounded(x << count, expr, op);
    }
    case "&":
      return integer(a, left, op) & integer(b, right, op);
    case "|":
      return integer(a, left, op) | integer(b, right, op);
  }
}

/**
 * The sub-expressions worth showing when `expr` is false: the non-literal
 * sides of its comparisons (descending through `and`, `or`, `not`).
 */
export function operandsOf(expr: Expr): Expr[] {
  if (expr.kind === "binary" && (expr.op === "and" || expr.op === "or")) {
    return [...operandsOf(expr.left), ...operandsOf(expr.right)];
  }
  if (expr.kind === "unary" && expr.op === "not") return operandsOf(expr.operand);
  if (expr.kind === "binary" && ["==", "!=", "<", "<=", ">", ">="].includes(expr.op)) {
    return [expr.left, expr.right].filter(isInteresting);
  }
  return isInteresting(expr) ? [expr] : [];
}

function isInteresting(expr: Expr): boolean {
  return !["int", "float", "string", "word"].includes(expr.kind);
}
