/**
 * `if EXPR { … } [else if EXPR { … }]* [else { … }]`: runs the first branch
 * whose condition (a boolean) holds.
 *
 * @module
 */
import type { Expr, Loc, Stmt } from "../ast.ts";
import type { Checker, Context, VmInfo } from "../check.ts";
import type { SType } from "../check_expr.ts";
import { TYPE_NAMES } from "../check_expr.ts";
import { nodes, tok, tokLoc } from "../cst.ts";
import { ScriptRuntimeError } from "../evaluate.ts";
import { typeName } from "../values.ts";
import type { Rule, StepDef } from "./statement.ts";

/** One `if` / `else if` branch: its condition and the steps it guards. */
export interface IfBranch {
  /** A boolean. */
  condition: Expr;
  /** The steps it guards. */
  body: Stmt[];
}

/** An `if` step. */
export interface IfStmt {
  kind: "if";
  loc: Loc;
  branches: IfBranch[];
  otherwise?: Stmt[];
}

/** The `if` step. */
export const IF: StepDef<IfStmt> = {
  kinds: { if: true },
  reserved: ["if"],
  words: ["else"],
  needsVm: false,
  grammar({ g, K, block, expression, deeper }) {
    /** `if EXPR { … } [else if EXPR { … }]* [else { … }]`: an `else if` nests another ifStep. */
    const ifStep: Rule = g.RULE("ifStep", () => {
      g.CONSUME(K.if);
      g.SUBRULE(expression, { LABEL: "condition" });
      g.SUBRULE(block, { LABEL: "then" });
      g.OPTION(() => {
        g.CONSUME(K.else);
        g.OR([
          { ALT: () => deeper(() => g.SUBRULE2(ifStep, { LABEL: "elseIf" })) },
          { ALT: () => g.SUBRULE2(block, { LABEL: "otherwise" }) },
        ]);
      });
    });
    return ifStep;
  },
  build: {
    ifStep(ctx, b): IfStmt {
      const branches: IfBranch[] = [{
        condition: b.expr(nodes(ctx, "condition")[0]),
        body: b.body(nodes(ctx, "then")[0]),
      }];
      const elseIf = nodes(ctx, "elseIf")[0];
      const otherwise = nodes(ctx, "otherwise")[0];
      if (elseIf) {
        const inner = b.visit(elseIf) as IfStmt;
        branches.push(...inner.branches);
        return { kind: "if", loc: tokLoc(tok(ctx, "Kw_if")), branches, otherwise: inner.otherwise };
      }
      return {
        kind: "if",
        loc: tokLoc(tok(ctx, "Kw_if")),
        branches,
        otherwise: otherwise ? b.body(otherwise) : undefined,
      };
    },
  },
  check: ifStep,
  async exec(step, r) {
    for (const branch of step.branches) {
      const value = r.eval(branch.condition);
      if (typeof value !== "boolean") {
        throw new ScriptRuntimeError(
          branch.condition.loc,
          `'if' needs a boolean but '${branch.condition.source}' is ${
            /^[aeiou]/.test(typeName(value)) ? "an" : "a"
          } ${typeName(value)}`,
        );
      }
      if (value) return await r.exec(branch.body);
    }
    if (step.otherwise) await r.exec(step.otherwise);
  },
};

/**
 * The VM after an `if` whose branches may each open one (`vm` inside `if`,
 * for backend-specific VMs): the one VM when every branch leaves the same,
 * else what any of them may have (their slots, devices, trackers), so no
 * later step is reported for a name only one branch declares. No VM only
 * when no branch leaves one.
 */
function mergedVm(vms: readonly (VmInfo | null)[]): VmInfo | null {
  const present = vms.filter((v): v is VmInfo => v !== null);
  if (present.length === 0) return null;
  if (present.every((v) => v === present[0])) return present[0];
  const union = (pick: (v: VmInfo) => Set<string>) => new Set(present.flatMap((v) => [...pick(v)]));
  const vcpus = present.every((v) => v.vcpus === present[0].vcpus) ? present[0].vcpus : undefined;
  return {
    name: [...new Set(present.map((v) => v.name))].join("' or '"),
    vcpus,
    slots: union((v) => v.slots),
    devices: union((v) => v.devices),
    trackers: union((v) => v.trackers),
    deleted: union((v) => v.deleted),
    hasGuest: present.some((v) => v.hasGuest),
  };
}

/**
 * Each branch is checked from the variables known before the `if`; after
 * it, a variable assigned in any branch is known (with its type when every
 * branch that assigns it agrees, else `unknown`).
 */
function ifStep(step: IfStmt, c: Checker, ctx: Context): void {
  const before = new Map(c.vars);
  const vmBefore = c.vm;
  const restore = () => {
    c.vars.clear();
    for (const [k, v] of before) c.vars.set(k, v);
    c.vm = vmBefore;
  };
  const after: Map<string, SType>[] = [];
  const vms: (VmInfo | null)[] = [];
  for (const branch of step.branches) {
    // Conditions assign nothing, so each is typed in the variables known before the `if`.
    restore();
    const t = c.expr(branch.condition);
    if (t !== "bool" && t !== "unknown") {
      c.error(
        branch.condition.loc,
        `'if' needs a boolean but '${branch.condition.source}' is ${TYPE_NAMES[t]}`,
      );
    }
    c.statements(branch.body, ctx);
    after.push(new Map(c.vars));
    vms.push(c.vm);
  }
  restore();
  if (step.otherwise) c.statements(step.otherwise, ctx);
  after.push(new Map(c.vars));
  vms.push(c.vm);
  c.vm = mergedVm(vms);
  c.vars.clear();
  for (const state of after) {
    for (const [k, v] of state) {
      const seen = c.vars.get(k);
      c.vars.set(k, seen === undefined || seen === v ? v : "unknown");
    }
  }
}
