/**
 * `stats [NAME…]`: prints stats of the current VM (deltas since the last
 * `mark`, absolute values without one); without names, every stat the
 * backend provides.
 *
 * @module
 */
import type { Loc, Name } from "../ast.ts";
import * as T from "../tokens.ts";
import type { StepDef } from "./statement.ts";
import { keywordSyntax } from "./syntax.ts";

/** A `stats` step. */
export interface StatsStmt {
  kind: "stats";
  loc: Loc;
  names: Name[];
}

/** A stat name listed by the backend rather than the script: located at the step. */
function nameOnly(loc: Loc): (text: string) => Name {
  return (text) => ({ text, loc });
}

/** The `stats` step. */
export const STATS: StepDef<StatsStmt> = {
  ...keywordSyntax("statsStep", "stats", [{ names: "names", of: T.Ident }]),
  needsVm: true,
  check(step, c) {
    for (const n of step.names) c.statName(n);
  },
  exec(step, r) {
    const current = r.vm(step);
    const names = step.names.length > 0
      ? step.names
      : current.vm.statNames().map(nameOnly(step.loc));
    const stats: Record<string, bigint> = {};
    for (const name of names) {
      stats[name.text] = r.stat(current.vm, name) -
        (current.mark?.baseline.get(name.text) ?? 0n);
    }
    r.options.output.emit({
      event: "stats",
      vm: current.vm.name,
      backend: current.vm.backend,
      mark: current.mark ? current.mark.label : null,
      stats,
    });
  },
};
