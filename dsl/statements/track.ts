/**
 * `track NAME gpa A [size S]` / `untrack NAME`: write-tracking of a guest
 * range (default one page).
 *
 * @module
 */
import type { Expr, Loc, Name } from "../ast.ts";
import { name, nodes, tok, tokLoc } from "../cst.ts";
import * as T from "../tokens.ts";
import { SIZE_4K } from "../../guest/page_tables.ts";
import type { StepDef } from "./statement.ts";

/** A `track` step. */
export interface TrackStmt {
  kind: "track";
  loc: Loc;
  name: Name;
  gpa: Expr;
  size?: Expr;
}

/** An `untrack` step. */
export interface UntrackStmt {
  kind: "untrack";
  loc: Loc;
  name: Name;
}

/** The `track` step. */
export const TRACK: StepDef<TrackStmt> = {
  kinds: { track: true },
  reserved: ["track"],
  words: ["gpa", "size"],
  needsVm: true,
  grammar: ({ g, K, expression }) =>
    g.RULE("trackStep", () => {
      g.CONSUME(K.track);
      g.CONSUME(T.AnyWord, { LABEL: "name" });
      g.CONSUME(K.gpa);
      g.SUBRULE(expression, { LABEL: "gpa" });
      g.OPTION(() => {
        g.CONSUME(K.size);
        g.SUBRULE2(expression, { LABEL: "size" });
      });
    }),
  build: {
    trackStep(ctx, b): TrackStmt {
      return {
        kind: "track",
        loc: tokLoc(tok(ctx, "Kw_track")),
        name: name(tok(ctx, "name")),
        gpa: b.expr(nodes(ctx, "gpa")[0]),
        size: b.optExpr(ctx, "size"),
      };
    },
  },
  check(step, c, _ctx, vm) {
    c.expectInt(step.gpa, "track gpa");
    if (step.size) c.expectInt(step.size, "track size");
    vm?.trackers.add(step.name.text);
  },
  exec(step, r) {
    const vm = r.vm(step).vm;
    vm.track(
      step.name.text,
      r.int(step.gpa, "gpa"),
      step.size ? r.int(step.size, "size") : SIZE_4K,
    );
  },
};

/** The `untrack` step. */
export const UNTRACK: StepDef<UntrackStmt> = {
  kinds: { untrack: true },
  reserved: ["untrack"],
  words: [],
  needsVm: true,
  grammar: ({ g, K }) =>
    g.RULE("untrackStep", () => {
      g.CONSUME(K.untrack);
      g.CONSUME(T.AnyWord, { LABEL: "name" });
    }),
  build: {
    untrackStep(ctx): UntrackStmt {
      return { kind: "untrack", loc: tokLoc(tok(ctx, "Kw_untrack")), name: name(tok(ctx, "name")) };
    },
  },
  check(step, c, _ctx, vm) {
    if (vm && !c.lenient && !vm.trackers.has(step.name.text)) {
      c.error(
        step.name.loc,
        `unknown tracker '${step.name.text}' (register it with 'track' first)`,
      );
    }
  },
  exec(step, r) {
    r.vm(step).vm.untrack(step.name.text);
  },
};
