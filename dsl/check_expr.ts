/**
 * Static types of expressions for the checker: what an expression certainly
 * is (an integer, a string, an exit record …) or `unknown` when that depends
 * on run-time data. Only certain mistakes are reported, never guesses.
 *
 * @module
 */
import type { Expr, Loc } from "./ast.ts";
import { evaluate } from "./evaluate.ts";
import { arityError, functionOf, FUNCTIONS } from "./functions.ts";
import { EXIT_REASONS } from "./names.ts";
import type { Value } from "./values.ts";

/** Reports a problem at a location. */
export type Report = (loc: Loc, message: string) => void;

/** Static types of expressions; `unknown` when it depends on run-time data. */
export type SType =
  | "int"
  | "float"
  | "string"
  | "bool"
  | "word"
  | "reason"
  | "list"
  | "exit"
  | "dirty_log"
  | "memtype"
  | "migration"
  | "unknown";

/** Fields of each record kind with their types, in the order messages list them. */
const FIELD_TYPES: Readonly<Record<string, Readonly<Record<string, SType>>>> = {
  exit: {
    reason: "reason",
    vcpu: "int",
    port: "int",
    gpa: "int",
    len: "int",
    flags: "list",
    label: "string",
    value: "int",
    message: "string",
    rip: "int",
  },
  dirty_log: { pages: "int", first: "int", last: "int" },
  memtype: { type: "word", ipat: "bool" },
  migration: { pages: "int", bytes: "int", dirty: "int", hazards: "int", flushed: "int" },
};

/** How messages name each static type. */
export const TYPE_NAMES: Readonly<Record<SType, string>> = {
  int: "an integer",
  float: "a float",
  string: "a string",
  bool: "a boolean",
  word: "a word",
  reason: "an exit reason",
  list: "a list",
  exit: "an exit record",
  dirty_log: "a dirty-log record",
  memtype: "a memtype record",
  migration: "a migration record",
  unknown: "a value",
};

function isNumeric(t: SType): boolean {
  return t === "int" || t === "float" || t === "unknown";
}

/**
 * The built-in read-only variables and their types: `$backend` (`kvm` or
 * `emu`), `$mmu` (`tdp` or `shadow`) and `$vcpus` of the current VM.
 */
export const BUILTIN_VARIABLES: Readonly<Record<string, SType>> = {
  backend: "word",
  mmu: "word",
  vcpus: "int",
};

/**
 * The variable names `param`, `let` and `for` may not take, with what sets
 * each: the built-ins and the variables the language itself assigns.
 */
export const RESERVED_VARIABLES: Readonly<Record<string, string>> = {
  backend: "the current VM's backend",
  mmu: "the current VM's MMU",
  vcpus: "the current VM's vCPU count",
  exit: "set by 'run'",
  fault: "set inside 'on memory_fault { … }'",
  elapsed: "set by 'time { … }'",
  wall: "set by 'time { … }'",
};

/** Whether `$name` is a built-in (read-only) variable. */
export function isBuiltinVariable(name: string): boolean {
  return Object.hasOwn(BUILTIN_VARIABLES, name);
}

/**
 * Types a built-in variable at a use (and reports a use that cannot work
 * there, such as `$mmu` with no vm); undefined when `name` is not built in.
 */
export type BuiltinTyper = (name: string, loc: Loc) => SType | undefined;

/** Expression typing over the checker's variable table. */
export class ExprTyper {
  readonly #report: Report;
  readonly #vars: Map<string, SType>;
  readonly #builtin: BuiltinTyper;
  readonly #needsVm?: Report;

  /**
   * @param report where problems go
   * @param vars the variables assigned so far, with their types (shared with the checker)
   * @param builtin types the built-in variables (default: their types, never an error)
   * @param needsVm reports a function that reads the current VM where there is none
   */
  constructor(
    report: Report,
    vars: Map<string, SType>,
    builtin?: BuiltinTyper,
    needsVm?: Report,
  ) {
    this.#report = report;
    this.#vars = vars;
    this.#needsVm = needsVm;
    this.#builtin = builtin ??
      ((name) => (isBuiltinVariable(name) ? BUILTIN_VARIABLES[name] : undefined));
  }

  /** The value of an expression made of literals only, else undefined. */
  constant(expr: Expr): Value | undefined {
    if (containsVariable(expr)) return undefined;
    try {
      return evaluate(expr, new Map());
    } catch {
      return undefined;
    }
  }

  /** Types `expr`, requires an integer, and returns its value when constant. */
  expectInt(expr: Expr, what: string): bigint | undefined {
    const t = this.expr(expr);
    if (t !== "int" && t !== "unknown") {
      this.#report(expr.loc, `${what} must be an integer, not ${TYPE_NAMES[t]}`);
      return undefined;
    }
    const v = this.constant(expr);
    return typeof v === "bigint" ? v : undefined;
  }

  /** The static type of an expression, reporting what is certainly wrong. */
  expr(expr: Expr): SType {
    switch (expr.kind) {
      case "int":
        return "int";
      case "float":
        return "float";
      case "string":
        return "string";
      case "word":
        return expr.value === "true" || expr.value === "false" ? "bool" : "word";
      case "var": {
        const builtin = this.#builtin(expr.name, expr.loc);
        if (builtin !== undefined) return builtin;
        const t = this.#vars.get(expr.name);
        if (t !== undefined) return t;
        const hint: Record<string, string> = {
          exit: "$exit is set by 'run': there is no run before this point",
          fault: "$fault only has a value inside 'on memory_fault { … }'",
          elapsed: "$elapsed is set by 'time { … }': there is none before this point",
        };
        this.#report(
          expr.loc,
          hint[expr.name] ?? `variable '$${expr.name}' is used before any 'let' assigns it`,
        );
        // Report once: later uses see it as defined.
        this.#vars.set(expr.name, "unknown");
        return "unknown";
      }
      case "field": {
        const t = this.expr(expr.target);
        if (t === "unknown") return "unknown";
        const fields = FIELD_TYPES[t];
        if (!fields) {
          this.#report(
            expr.field.loc,
            `'${expr.target.source}' is ${TYPE_NAMES[t]}: it has no fields`,
          );
          return "unknown";
        }
        const ft = fields[expr.field.text];
        if (!ft) {
          this.#report(
            expr.field.loc,
            `${expr.target.source} has no field '${expr.field.text}' (fields: ${
              Object.keys(fields).join(", ")
            })`,
          );
          return "unknown";
        }
        return ft;
      }
      case "list":
        for (const item of expr.items) this.expr(item);
        return "list";
      case "call": {
        const types = expr.args.map((a) => this.expr(a));
        const def = functionOf(expr.fn);
        if (typeof def === "string") {
          this.#report(expr.fn.loc, def);
          return "unknown";
        }
        const arity = arityError(def, expr.fn, expr.args.length);
        if (arity) {
          this.#report(expr.loc, arity);
          return "unknown";
        }
        if (def.dynamic) this.#needsVm?.(expr.loc, `${expr.fn.text}()`);
        return def.type(expr, { types, report: this.#report });
      }
      case "unary":
        if (expr.op === "not") {
          this.operand(expr.operand, "not", ["bool", "int"]);
          return "bool";
        }
        if (expr.op === "~") {
          this.operand(expr.operand, "~", ["int"]);
          return "int";
        }
        return this.operand(expr.operand, "-", ["int", "float"]);
      case "binary":
        return this.binary(expr as Expr & { kind: "binary" });
    }
  }

  /** Checks an operand against the types an operator takes; returns its type. */
  operand(expr: Expr, op: string, allowed: readonly SType[]): SType {
    const t = this.expr(expr);
    if (t !== "unknown" && !allowed.includes(t)) {
      const need = allowed.includes("float")
        ? "numbers"
        : allowed.includes("bool")
        ? "booleans"
        : "integers";
      this.#report(expr.loc, `'${op}' needs ${need} but '${expr.source}' is ${TYPE_NAMES[t]}`);
    }
    return t;
  }

  binary(expr: Expr & { kind: "binary" }): SType {
    const { op, left, right } = expr;
    switch (op) {
      case "and":
      case "or":
        this.operand(left, op, ["bool", "int"]);
        this.operand(right, op, ["bool", "int"]);
        return "bool";
      case "==":
      case "!=": {
        const a = this.expr(left);
        const b = this.expr(right);
        this.reasonWord(a, right);
        this.reasonWord(b, left);
        return "bool";
      }
      case "<":
      case "<=":
      case ">":
      case ">=": {
        const a = this.expr(left);
        const b = this.expr(right);
        if (!(a === "string" && b === "string")) {
          for (const [t, e] of [[a, left], [b, right]] as const) {
            if (!isNumeric(t)) {
              this.#report(e.loc, `'${op}' needs numbers but '${e.source}' is ${TYPE_NAMES[t]}`);
            }
          }
        }
        return "bool";
      }
      case "+": {
        const a = this.expr(left);
        const b = this.expr(right);
        if (a === "string" && b === "string") return "string";
        return this.arith(op, [a, left], [b, right]);
      }
      case "-":
      case "*":
      case "/":
      case "%":
        return this.arith(op, [this.expr(left), left], [this.expr(right), right]);
      default:
        this.operand(left, op, ["int"]);
        this.operand(right, op, ["int"]);
        return "int";
    }
  }

  arith(op: string, ...sides: [SType, Expr][]): SType {
    for (const [t, e] of sides) {
      if (!isNumeric(t)) {
        this.#report(e.loc, `'${op}' needs numbers but '${e.source}' is ${TYPE_NAMES[t]}`);
      }
    }
    const types = sides.map(([t]) => t);
    if (types.includes("float")) return "float";
    return types.every((t) => t === "int") ? "int" : "unknown";
  }

  /** `$exit.reason == don`: the word must be an exit reason. */
  reasonWord(t: SType, other: Expr): void {
    if (t !== "reason") return;
    const text = other.kind === "word" || other.kind === "string" ? other.value : undefined;
    if (text !== undefined && !EXIT_REASONS.includes(text)) {
      this.#report(other.loc, `'${text}' is not an exit reason (${EXIT_REASONS.join(", ")})`);
    }
  }
}

/** The variable reads (`$name`) of an expression, in source order. */
export function variablesOf(expr: Expr): (Expr & { kind: "var" })[] {
  switch (expr.kind) {
    case "var":
      return [expr];
    case "field":
      return variablesOf(expr.target);
    case "list":
      return expr.items.flatMap(variablesOf);
    case "call":
      return expr.args.flatMap(variablesOf);
    case "unary":
      return variablesOf(expr.operand);
    case "binary":
      return [...variablesOf(expr.left), ...variablesOf(expr.right)];
    default:
      return [];
  }
}

/** Whether an expression calls a function that reads the backend (`stat()`, `has_cap()`). */
function callsDynamic(expr: Expr): boolean {
  switch (expr.kind) {
    case "call":
      return (Object.hasOwn(FUNCTIONS, expr.fn.text) && FUNCTIONS[expr.fn.text].dynamic === true) ||
        expr.args.some(callsDynamic);
    case "field":
      return callsDynamic(expr.target);
    case "list":
      return expr.items.some(callsDynamic);
    case "unary":
      return callsDynamic(expr.operand);
    case "binary":
      return callsDynamic(expr.left) || callsDynamic(expr.right);
    default:
      return false;
  }
}

/** Whether an expression's value is not known statically: it reads a variable or the backend. */
function containsVariable(expr: Expr): boolean {
  return variablesOf(expr).length > 0 || callsDynamic(expr);
}
