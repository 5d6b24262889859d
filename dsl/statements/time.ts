/**
 * `time { … } [-> $var]`: runs the body and stores the elapsed seconds on
 * the backend's clock (in `$elapsed` without an arrow): wall time on kvm,
 * the modelled time on the emulator (the advance of the latest of its
 * clocks); `$wall` always gets the host wall seconds.
 *
 * @module
 */
import type { Loc, Name, Stmt } from "../ast.ts";
import { maybeTok, nodes, tok, tokLoc, varName } from "../cst.ts";
import * as T from "../tokens.ts";
import type { StepDef } from "./statement.ts";

/** A `time` step. */
export interface TimeStmt {
  kind: "time";
  loc: Loc;
  body: Stmt[];
  variable: Name;
}

/** The `time` step. */
export const TIME: StepDef<TimeStmt> = {
  kinds: { time: true },
  reserved: ["time"],
  words: [],
  needsVm: false,
  grammar: ({ g, K, block }) =>
    /** `time { … } [-> $var]` (the variable defaults to `$elapsed`). */
    g.RULE("timeStep", () => {
      g.CONSUME(K.time);
      g.SUBRULE(block);
      g.OPTION(() => {
        g.CONSUME(T.Arrow);
        g.CONSUME(T.Variable);
      });
    }),
  build: {
    timeStep(ctx, b): TimeStmt {
      const loc = tokLoc(tok(ctx, "Kw_time"));
      const variable = maybeTok(ctx, "Variable");
      return {
        kind: "time",
        loc,
        body: b.body(nodes(ctx, "block")[0]),
        variable: variable ? varName(variable) : { text: "elapsed", loc },
      };
    },
  },
  check(step, c, ctx) {
    c.statements(step.body, ctx);
    c.assignable(step.variable);
    c.vars.set(step.variable.text, "float");
    c.vars.set("wall", "float");
  },
  async exec(step, r) {
    // The backend's clock is the current VM's when it has one (and is still current after the body).
    const vm = r.current?.vm;
    const modelled0 = vm?.modelledSeconds?.();
    const start = performance.now();
    await r.exec(step.body);
    const wall = (performance.now() - start) / 1000;
    const modelled1 = r.current?.vm === vm ? vm?.modelledSeconds?.() : undefined;
    const elapsed = modelled0 !== undefined && modelled1 !== undefined
      ? modelled1 - modelled0
      : wall;
    r.vars.set(step.variable.text, elapsed);
    r.vars.set("wall", wall);
  },
};
