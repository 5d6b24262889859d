/**
 * `track NAME gpa A [size S]` / `untrack NAME`: write-tracking of a guest
 * range (default one page).
 *
 * @module
 */
import type { Expr, Loc, Name } from "../ast.ts";
import { SIZE_4K } from "../../guest/page_tables.ts";
import type { StepDef } from "./statement.ts";
import { keywordSyntax } from "./syntax.ts";

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
  ...keywordSyntax("trackStep", "track", [
    { name: "name" },
    { word: "gpa" },
    { expr: "gpa" },
    { optional: [{ word: "size" }, { expr: "size" }] },
  ]),
  needsVm: true,
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
  ...keywordSyntax("untrackStep", "untrack", [
    { name: "name" },
  ]),
  needsVm: true,
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
