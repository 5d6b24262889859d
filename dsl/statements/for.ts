/**
 * `for $v in LIST { … }`: runs the body once per item (a vm in the body
 * lives for one iteration).
 *
 * @module
 */
import type { Expr, Loc, Name, Stmt } from "../ast.ts";
import { TYPE_NAMES } from "../check_expr.ts";
import { ScriptRuntimeError } from "../evaluate.ts";
import { typeName } from "../values.ts";
import type { StepDef } from "./statement.ts";
import { keywordSyntax } from "./syntax.ts";

/** A `for` step. */
export interface ForStmt {
  kind: "for";
  loc: Loc;
  variable: Name;
  list: Expr;
  body: Stmt[];
}

/** The `for` step. */
export const FOR: StepDef<ForStmt> = {
  ...keywordSyntax("forStep", "for", [
    { variable: "variable" },
    { word: "in" },
    { expr: "list" },
    { block: "body" },
  ]),
  needsVm: false,
  check(step, c, ctx) {
    const t = c.expr(step.list);
    if (t !== "list" && t !== "unknown") {
      c.error(step.list.loc, `'for' needs a list, not ${TYPE_NAMES[t]}`);
    }
    const items = step.list.kind === "list" ? step.list.items.map((i) => c.expr(i)) : [];
    const itemType = items.length > 0 && items.every((i) => i === items[0]) ? items[0] : "unknown";
    c.declarable(step.variable);
    c.vars.set(step.variable.text, itemType);
    c.loopBody(step.body, ctx);
  },
  async exec(step, r) {
    const list = r.eval(step.list);
    if (!Array.isArray(list)) {
      throw new ScriptRuntimeError(
        step.list.loc,
        `'for' needs a list, not a ${typeName(list)}`,
      );
    }
    for (const item of list) {
      r.vars.set(step.variable.text, item);
      await r.loopBody(step.body);
    }
  },
};
