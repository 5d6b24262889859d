/**
 * `mark ["label"]`: snapshots every stat the backend provides; a later
 * `stats` prints deltas since it.
 *
 * @module
 */
import type { Loc } from "../ast.ts";
import type { Vm } from "../../vmm/types.ts";
import type { StepDef } from "./statement.ts";
import { keywordSyntax } from "./syntax.ts";

/** A `mark` step. */
export interface MarkStmt {
  kind: "mark";
  loc: Loc;
  label?: string;
}

/** The `mark` step. */
export const MARK: StepDef<MarkStmt> = {
  ...keywordSyntax("markStep", "mark", [{ optional: [{ string: "label" }] }]),
  needsVm: true,
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
