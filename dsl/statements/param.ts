/**
 * `param $NAME = EXPR`: a script parameter with its default, which the
 * CLI's `--set NAME=VALUE` (or `runScript`'s `parameters`) overrides.
 *
 * Parameters are declared at the top level, before any use of their name,
 * once each; a default may use literals and earlier parameters only, so
 * every parameter's value is known before the script runs (the JSON `meta`
 * event lists them). Resolving the values is `params.ts`'s job; the step
 * itself only assigns the resolved value.
 *
 * @module
 */
import type { Expr, Loc, Name } from "../ast.ts";
import type { Checker } from "../check.ts";
import { RESERVED_VARIABLES, variablesOf } from "../check_expr.ts";
import * as T from "../tokens.ts";
import type { StepDef } from "./statement.ts";
import { keywordSyntax } from "./syntax.ts";

/** A `param` step. */
export interface ParamStmt {
  kind: "param";
  loc: Loc;
  variable: Name;
  default: Expr;
}

/** The parameters each checker has seen so far, by name. */
const DECLARED = new WeakMap<Checker, Map<string, ParamStmt>>();

/** The `param` step. */
export const PARAM: StepDef<ParamStmt> = {
  ...keywordSyntax("paramStep", "param", [
    { variable: "variable" },
    { token: T.Assign },
    { expr: "default" },
  ]),
  needsVm: false,
  check(step, c) {
    let declared = DECLARED.get(c);
    if (!declared) DECLARED.set(c, declared = new Map());
    const name = step.variable.text;
    if (!c.script.body.includes(step)) {
      c.error(
        step.loc,
        "'param' must be at the top level of the script (not in a loop, 'if', handler or block)",
      );
      // Nothing else to say: a loop body's assignments are known throughout it, so the
      // "comes after its first use" rule would only repeat this one.
      return;
    }
    const first = declared.get(name);
    if (first) {
      c.error(
        step.variable.loc,
        `parameter $${name} declared twice (first at line ${first.variable.loc.line})`,
      );
    } else if (Object.hasOwn(RESERVED_VARIABLES, name)) {
      c.error(step.variable.loc, `$${name} is reserved: a parameter cannot take that name`);
    } else if (c.vars.has(name)) {
      c.error(
        step.variable.loc,
        `'param $${name}' comes after $${name} is first used or assigned: declare a parameter before its first use`,
      );
    }
    const others = variablesOf(step.default).filter((v) => !declared.has(v.name));
    for (const v of others) {
      c.error(
        v.loc,
        `a parameter's default may use only literals and earlier parameters, and ${v.source} is not one`,
      );
    }
    const type = others.length > 0 ? "unknown" : c.expr(step.default);
    if (!first) declared.set(name, step);
    if (!Object.hasOwn(RESERVED_VARIABLES, name)) c.vars.set(name, type);
  },
  exec(step, r) {
    const name = step.variable.text;
    r.vars.set(name, r.options.parameters?.get(name) ?? r.eval(step.default));
  },
};
