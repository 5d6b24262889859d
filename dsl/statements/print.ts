/**
 * `print EXPR, …`: prints values, separated by spaces.
 *
 * @module
 */
import type { Expr, Loc } from "../ast.ts";
import * as T from "../tokens.ts";
import { formatValue } from "../values.ts";
import type { StepDef } from "./statement.ts";
import { keywordSyntax } from "./syntax.ts";

/** A `print` step. */
export interface PrintStmt {
  kind: "print";
  loc: Loc;
  exprs: Expr[];
}

/** The `print` step. */
export const PRINT: StepDef<PrintStmt> = {
  ...keywordSyntax("printStep", "print", [{ exprs: "exprs", separator: T.Comma }]),
  needsVm: false,
  check(step, c) {
    for (const e of step.exprs) c.expr(e);
  },
  exec(step, r) {
    const values = step.exprs.map((e) => r.eval(e));
    r.options.output.emit({
      event: "print",
      text: values.map(formatValue).join(" "),
      values,
    });
  },
};
