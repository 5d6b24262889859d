/**
 * `print EXPR, …`: prints values, separated by spaces.
 *
 * @module
 */
import type { Expr, Loc } from "../ast.ts";
import { nodes, tok, tokLoc } from "../cst.ts";
import * as T from "../tokens.ts";
import { formatValue } from "../values.ts";
import type { StepDef } from "./statement.ts";

/** A `print` step. */
export interface PrintStmt {
  kind: "print";
  loc: Loc;
  exprs: Expr[];
}

/** The `print` step. */
export const PRINT: StepDef<PrintStmt> = {
  kinds: { print: true },
  reserved: ["print"],
  words: [],
  needsVm: false,
  grammar: ({ g, K, expression }) =>
    g.RULE("printStep", () => {
      g.CONSUME(K.print);
      g.SUBRULE(expression);
      g.MANY(() => {
        g.CONSUME(T.Comma);
        g.SUBRULE2(expression);
      });
    }),
  build: {
    printStep(ctx, b): PrintStmt {
      return {
        kind: "print",
        loc: tokLoc(tok(ctx, "Kw_print")),
        exprs: nodes(ctx, "expression").map((n) => b.expr(n)),
      };
    },
  },
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
