/**
 * Static checks of a parsed script, run before anything touches a backend:
 * unknown names (memslots, devices, payloads, capabilities, quirks, flags,
 * stats, variables used before any `let`), layout errors (misaligned or
 * overlapping slots, slots over the system region), payload parameters,
 * type errors where types are known, and steps that need a VM outside one.
 *
 * Values that depend on variables (a slot size taken from a `for` list) are
 * not known here; the interpreter applies the same layout rules to them
 * when it creates the VM.
 *
 * @module
 */
import type { Decl, Expr, Loc, Name, Script, Step, Stmt, VmStmt } from "./ast.ts";
import { type Diagnostic, diagnosticAt } from "./diagnostics.ts";
import {
  BUILTIN_VARIABLES,
  ExprTyper,
  isBuiltinVariable,
  RESERVED_VARIABLES,
  type SType,
  TYPE_NAMES,
} from "./check_expr.ts";
import type { DeclaredLayout } from "./layout.ts";
import { knownOrSuggestion, STAT_NAMES } from "./names.ts";
import { declDef, stepDef, VM } from "./statements/mod.ts";
import { type Value, Word } from "./values.ts";

/** What the checker knows about the VM steps act on. */
export interface VmInfo {
  /** The vm block's name. */
  name: string;
  /** Its vCPU count, when constant. */
  vcpus?: bigint;
  /** Its memslots' names (declared or added by a step). */
  slots: Set<string>;
  /** Its devices' names. */
  devices: Set<string>;
  /** The write trackers registered so far. */
  trackers: Set<string>;
  /** Slots a `memslot NAME delete` step freed: their names may be declared again. */
  deleted: Set<string>;
  /** Whether it declares a guest (a `run` needs one). */
  hasGuest: boolean;
  /** Its built-in payload and the sync labels that payload emits (absent for a guest file). */
  payload?: { name: string; syncLabels: readonly string[] };
}

/** Where a statement sits. */
export interface Context {
  /** Inside a handler (no `run`, `vm` or nested handler there). */
  handler?: "memory_fault" | "sync";
  /** Inside `expect error` (no `vm` there). */
  inExpectError?: boolean;
}

/**
 * Checks of a vm block's declarations that need the whole block (a guest's
 * parameters against the layout), by declaration kind: the last one's wins.
 */
export type VmChecks = Map<string, (layout: DeclaredLayout, stmt: VmStmt) => void>;

/**
 * The checker: the state the statement modules' checks read and update
 * (the current VM, the variables' types, leniency inside `expect error`).
 */
export class Checker {
  /** The problems found so far. */
  readonly diagnostics: Diagnostic[] = [];
  readonly #script: Script;
  /** The VM later steps act on (none before the first vm block, or after a loop that owned one). */
  vm: VmInfo | null = null;
  /**
   * Inside `expect error`: naming a missing or duplicate slot, or a misaligned
   * address or size, is the point of the test (the kernel answers with an errno).
   */
  lenient = false;
  /** The variables known here, with their static types. */
  readonly vars: Map<string, SType> = new Map<string, SType>();
  /** Types expressions in {@linkcode Checker.vars}. */
  readonly types: ExprTyper = new ExprTyper(
    (loc, message) => this.error(loc, message),
    this.vars,
    (name, loc) => this.builtin(name, loc),
    (loc, what) => {
      if (!this.vm) {
        this.error(loc, `${what} needs a vm: declare one with 'vm NAME { … }' before it`);
      }
    },
  );

  constructor(script: Script) {
    this.#script = script;
  }

  /** The script being checked (a `param` must be one of its top-level statements). */
  get script(): Script {
    return this.#script;
  }

  /** Reports a problem at `loc`. */
  error(loc: Loc, message: string): void {
    this.diagnostics.push(diagnosticAt(this.#script.file, loc, message));
  }

  /** `$backend` works anywhere (before any vm it is the backend auto would pick); `$mmu` and `$vcpus` need a vm. */
  builtin(name: string, loc: Loc): SType | undefined {
    if (!isBuiltinVariable(name)) return undefined;
    if (name !== "backend" && !this.vm) {
      this.error(loc, `$${name} needs a vm: declare one with 'vm NAME { … }' before it`);
    }
    return BUILTIN_VARIABLES[name];
  }

  /** A variable a step assigns: the built-ins cannot be. */
  assignable(variable: Name): void {
    if (isBuiltinVariable(variable.text)) {
      this.error(variable.loc, `$${variable.text} is read-only`);
    }
  }

  /**
   * A variable `let`, `for` (and `param`) introduce: not a built-in, not one
   * the language assigns (`$exit`, `$fault`, `$elapsed`, `$wall`).
   */
  declarable(variable: Name): void {
    if (isBuiltinVariable(variable.text)) return this.assignable(variable);
    const why = Object.hasOwn(RESERVED_VARIABLES, variable.text)
      ? RESERVED_VARIABLES[variable.text]
      : undefined;
    if (why !== undefined) {
      this.error(
        variable.loc,
        `$${variable.text} is a reserved name (${why}): choose another name (reserved: ${
          Object.keys(RESERVED_VARIABLES).map((n) => `$${n}`).join(", ")
        })`,
      );
    }
  }

  /** The value of an expression made of literals only, else undefined. */
  constant(expr: Expr): Value | undefined {
    return this.types.constant(expr);
  }

  /** Types `expr`, requires an integer, and returns its value when constant. */
  expectInt(expr: Expr, what: string): bigint | undefined {
    return this.types.expectInt(expr, what);
  }

  /** The static type of `expr`, reporting what is certainly wrong. */
  expr(expr: Expr): SType {
    return this.types.expr(expr);
  }

  /** Checks statements in order. */
  statements(stmts: readonly Stmt[], ctx: Context): void {
    for (const stmt of stmts) {
      if (stmt.kind === "vm") VM.check(stmt, this, ctx, this.vm);
      else this.step(stmt, ctx);
    }
  }

  /** A declaration of `vm`'s block, by its module. */
  decl(decl: Decl, vm: VmInfo, later: VmChecks): void {
    declDef(decl).check(decl, this, vm, later);
  }

  /** Whether a declaration may appear only once in a vm block. */
  declUnique(decl: Decl): boolean {
    return declDef(decl).unique;
  }

  /** Reports `name` unless it is one of `allowed`. */
  oneOf(name: Name, allowed: readonly string[], what: string): boolean {
    if (allowed.includes(name.text)) return true;
    this.error(name.loc, `unknown ${what} '${name.text}' (expected ${allowed.join(", ")})`);
    return false;
  }

  /**
   * A value that must be one of `allowed` (a bare word, or any expression):
   * checked here when it is static, else when the step runs. With `ints`, a
   * raw integer is allowed too (a capability's `args[0]`, whose rules the
   * backend applies).
   *
   * @returns the word when it is static and allowed
   */
  wordValue(
    expr: Expr,
    allowed: readonly string[],
    what: string,
    ints = false,
    unknown = (text: string) => `unknown ${what} '${text}' (expected ${allowed.join(", ")})`,
  ): string | undefined {
    const t = this.expr(expr);
    const v = this.constant(expr);
    const text = v instanceof Word ? v.text : typeof v === "string" ? v : undefined;
    if (text !== undefined) {
      if (allowed.includes(text)) return text;
      this.error(expr.loc, unknown(text));
      return undefined;
    }
    if (["unknown", "word", "string"].includes(t) || (ints && t === "int")) return undefined;
    this.error(
      expr.loc,
      `${what} must be ${ints ? "a word or an integer" : "a word"} (${allowed.join(", ")}), not ${
        TYPE_NAMES[t]
      }`,
    );
    return undefined;
  }

  /** Reports a step that needs a VM where there is none; returns the VM. */
  needVm(step: Step, what: string): VmInfo | null {
    if (!this.vm) {
      this.error(step.loc, `'${what}' needs a vm: declare one with 'vm NAME { … }' before it`);
    }
    return this.vm;
  }

  /** Reports a slot the VM does not have (except inside `expect error`). */
  knownSlot(vm: VmInfo | null, name: Name): void {
    if (vm && !this.lenient && !vm.slots.has(name.text)) {
      const known = [...vm.slots];
      this.error(
        name.loc,
        `unknown memslot '${name.text}' (vm '${vm.name}' has ${
          known.length ? known.join(", ") : "none"
        })`,
      );
    }
  }

  /** A step, by its module (after reporting a missing VM the step needs). */
  step(step: Step, ctx: Context): void {
    const keyword = this.#script.source.slice(step.loc.offset, step.loc.offset + step.loc.length);
    const def = stepDef(step);
    const vm = def.needsVm ? this.needVm(step, keyword) : this.vm;
    def.check(step, this, ctx, vm);
  }

  /** A `vm` inside a loop body lives for one iteration: after the loop there is none. */
  loopBody(body: readonly Stmt[], ctx: Context): void {
    // A variable assigned in one iteration may be read in the next: known (untyped) throughout.
    for (const name of assignedIn(body)) if (!this.vars.has(name)) this.vars.set(name, "unknown");
    this.statements(body, ctx);
    if (body.some((s) => s.kind === "vm")) this.vm = null;
  }

  /** Reports an unknown stat name. */
  statName(name: Name): void {
    if (!STAT_NAMES.has(name.text)) {
      this.error(
        name.loc,
        `unknown stat '${name.text}' (${knownOrSuggestion(name.text, STAT_NAMES)})`,
      );
    }
  }

  /** Checks the whole script; returns the problems in source order. */
  run(): Diagnostic[] {
    this.statements(this.#script.body, {});
    return this.diagnostics.sort((a, b) => a.offset - b.offset);
  }
}

/**
 * The variables statements assign anywhere inside them (`let`, `for`,
 * `time … -> $v`, in nested bodies too): every node with a `variable` name.
 */
function assignedIn(stmts: readonly Stmt[]): Set<string> {
  const names = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== "object" || node === null) return;
    const { kind, variable } = node as { kind?: unknown; variable?: { text?: unknown } };
    if (typeof kind === "string" && typeof variable?.text === "string") names.add(variable.text);
    for (const child of Object.values(node)) if (typeof child === "object") visit(child);
  };
  visit(stmts);
  return names;
}

/**
 * Checks a parsed script without running anything.
 *
 * @param script the script, from `parseScript`
 * @returns every problem found, in source order (empty when the script is valid)
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { checkScript } from "./check.ts";
 * import { parseScript } from "./parse.ts";
 * const script = parseScript("vm a { memslot ram gpa 0x100000 size 4K }\nmemslot rom delete");
 * assertEquals(checkScript(script).map((d) => d.message), ["unknown memslot 'rom' (vm 'a' has ram)"]);
 * ```
 */
export function checkScript(script: Script): Diagnostic[] {
  return new Checker(script).run();
}
