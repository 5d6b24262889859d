/**
 * `repeat N { … }`: runs the body N times (a vm in the body lives for one
 * iteration).
 *
 * @module
 */
import type { Expr, Loc, Stmt } from "../ast.ts";
import type { StepDef } from "./statement.ts";
import { keywordSyntax } from "./syntax.ts";

/** A `repeat` step. */
export interface RepeatStmt {
  kind: "repeat";
  loc: Loc;
  count: Expr;
  body: Stmt[];
}

/** The `repeat` step. */
export const REPEAT: StepDef<RepeatStmt> = {
  ...keywordSyntax("repeatStep", "repeat", [
    { expr: "count" },
    { block: "body" },
  ]),
  needsVm: false,
  check(step, c, ctx) {
    c.expectInt(step.count, "repeat count");
    c.loopBody(step.body, ctx);
  },
  async exec(step, r) {
    const n = r.int(step.count, "repeat count");
    for (let i = 0n; i < n; i++) await r.loopBody(step.body);
  },
};
