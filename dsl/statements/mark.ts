/**
 * `mark ["label"]`: snapshots every stat the backend provides; a later
 * `stats` prints deltas since it.
 *
 * @module
 */
import type { Loc } from "../ast.ts";
import { maybeTok, tok, tokLoc } from "../cst.ts";
import * as T from "../tokens.ts";
import { parseStringImage } from "../tokens.ts";
import type { Vm } from "../../vmm/types.ts";
import type { StepDef } from "./statement.ts";

/** A `mark` step. */
export interface MarkStmt {
  kind: "mark";
  loc: Loc;
  label?: string;
}

/** The `mark` step. */
export const MARK: StepDef<MarkStmt> = {
  kinds: { mark: true },
  reserved: ["mark"],
  words: [],
  needsVm: true,
  grammar: ({ g, K }) =>
    g.RULE("markStep", () => {
      g.CONSUME(K.mark);
      g.OPTION(() => g.CONSUME(T.StringLit));
    }),
  build: {
    markStep(ctx): MarkStmt {
      const label = maybeTok(ctx, "StringLit");
      return {
        kind: "mark",
        loc: tokLoc(tok(ctx, "Kw_mark")),
        label: label ? parseStringImage(label.image) : undefined,
      };
    },
  },
  // Nothing to check but that there is a VM (`needsVm`).
  check() {},
  exec(step, r) {
    const current = r.vm(step);
    current.mark = { label: step.label ?? "", baseline: snapshot(current.vm) };
  },
};

function snapshot(vm: Vm): Map<string, bigint> {
  const values = new Map<string, bigint>();
  for (const name of vm.statNames()) values.set(name, vm.stat(name));
  return values;
}
