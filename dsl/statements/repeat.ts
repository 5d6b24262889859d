/**
 * `repeat N { … }`: runs the body N times (a vm in the body lives for one
 * iteration).
 *
 * @module
 */
import type { Expr, Loc, Stmt } from "../ast.ts";
import { nodes, tok, tokLoc } from "../cst.ts";
import type { StepDef } from "./statement.ts";

/** A `repeat` step. */
export interface RepeatStmt {
  kind: "repeat";
  loc: Loc;
  count: Expr;
  body: Stmt[];
}

/** The `repeat` step. */
export const REPEAT: StepDef<RepeatStmt> = {
  kinds: { repeat: true },
  reserved: ["repeat"],
  words: [],
  needsVm: false,
  grammar: ({ g, K, block, expression }) =>
    g.RULE("repeatStep", () => {
      g.CONSUME(K.repeat);
      g.SUBRULE(expression);
      g.SUBRULE(block);
    }),
  build: {
    repeatStep(ctx, b): RepeatStmt {
      return {
        kind: "repeat",
        loc: tokLoc(tok(ctx, "Kw_repeat")),
        count: b.expr(nodes(ctx, "expression")[0]),
        body: b.body(nodes(ctx, "block")[0]),
      };
    },
  },
  check(step, c, ctx) {
    c.expectInt(step.count, "repeat count");
    c.loopBody(step.body, ctx);
  },
  async exec(step, r) {
    const n = r.int(step.count, "repeat count");
    for (let i = 0n; i < n; i++) await r.loopBody(step.body);
  },
};
