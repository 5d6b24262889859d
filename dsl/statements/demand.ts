/**
 * `demand uffd SLOT [minor] [handlers N]`: serves the slot's pages on demand
 * (userfaultfd), with N handler threads. `minor` registers the slot's shared
 * memory (backing `memfd`) in MINOR mode, answered with UFFDIO_CONTINUE.
 *
 * @module
 */
import type { Expr, Loc, Name } from "../ast.ts";
import { name, tok, tokLoc } from "../cst.ts";
import * as T from "../tokens.ts";
import type { StepDef } from "./statement.ts";

/** A `demand` step. */
export interface DemandStmt {
  kind: "demand";
  loc: Loc;
  mode: Name;
  slot: Name;
  /** `minor`: MINOR mode over the slot's memfd (UFFDIO_CONTINUE). */
  minor: boolean;
  handlers?: Expr;
}

/** The `demand` step. */
export const DEMAND: StepDef<DemandStmt> = {
  kinds: { demand: true },
  reserved: ["demand"],
  words: ["handlers", "minor"],
  needsVm: true,
  grammar: ({ g, K, expression }) =>
    g.RULE("demandStep", () => {
      g.CONSUME(K.demand);
      g.CONSUME(T.AnyWord, { LABEL: "mode" });
      g.CONSUME2(T.AnyWord, { LABEL: "slot" });
      g.OPTION2(() => g.CONSUME(K.minor));
      g.OPTION(() => {
        g.CONSUME(K.handlers);
        g.SUBRULE(expression, { LABEL: "handlers" });
      });
    }),
  build: {
    demandStep(ctx, b): DemandStmt {
      return {
        kind: "demand",
        loc: tokLoc(tok(ctx, "Kw_demand")),
        mode: name(tok(ctx, "mode")),
        slot: name(tok(ctx, "slot")),
        minor: ctx.Kw_minor !== undefined,
        handlers: b.optExpr(ctx, "handlers"),
      };
    },
  },
  check(step, c, _ctx, vm) {
    c.oneOf(step.mode, ["uffd"], "demand mode");
    c.knownSlot(vm, step.slot);
    if (step.handlers) c.expectInt(step.handlers, "handlers");
  },
  exec(step, r) {
    const vm = r.vm(step).vm;
    vm.demandUffd(
      step.slot.text,
      step.handlers ? Number(r.int(step.handlers, "handlers")) : 1,
      { minor: step.minor },
    );
  },
};
