/**
 * `migrate SLOT… [clflush]` and `let $m = migrate SLOT… [clflush]`: one pass
 * of a live migration's copy phase over every page of the named slots
 * (`Vm.migrate`, `vmm/migrate.ts`). The record has `pages`, `bytes`,
 * `dirty` (pages the dirty logs reported since the last pass) and, on the
 * emulator, `hazards` (pages read while the guest mapped them non-WB) and
 * `flushed` (pages flushed first, with `clflush`). A bare `migrate` runs
 * the pass and drops the record (e.g. to start a dirty-log round).
 *
 * The last word `clflush` is the option, so a slot cannot be named so.
 *
 * @module
 */
import type { CstNode } from "npm:chevrotain@^11.2.0";
import type { Loc, Name } from "../ast.ts";
import type { Checker, VmInfo } from "../check.ts";
import { name, nodes, tok, tokLoc, toks } from "../cst.ts";
import type { Interpreter } from "../interpreter.ts";
import * as T from "../tokens.ts";
import { RecordValue, type Value } from "../values.ts";
import type { AstBuilder } from "../visitor.ts";
import type { GrammarEnv, Rule, StepDef } from "./statement.ts";

/** The words after `migrate`. */
export interface MigrateClause {
  /** Where `migrate` is. */
  loc: Loc;
  /** The slots, in the order named. */
  slots: Name[];
  /** Whether each non-WB page is flushed before it is read. */
  clflush: boolean;
}

/** A bare `migrate` step. */
export interface MigrateStmt {
  kind: "migrate";
  loc: Loc;
  clause: MigrateClause;
}

/** The `migrate SLOT… [clflush]` rule, shared with `let` (defined once). */
export function migrateClause({ g, K, shared }: GrammarEnv): Rule {
  return shared("migrateClause", () =>
    g.RULE("migrateClause", () => {
      g.CONSUME(K.migrate);
      g.MANY(() => g.CONSUME(T.AnyWord));
    }));
}

/** CST → AST of a {@linkcode migrateClause} node. */
export function buildMigrateClause(b: AstBuilder, node: CstNode): MigrateClause {
  return b.visit(node) as MigrateClause;
}

/** Static checks: at least one slot, each known. */
export function checkMigrate(c: Checker, vm: VmInfo | null, clause: MigrateClause): void {
  if (clause.slots.length === 0) c.error(clause.loc, "migrate: name at least one memslot");
  for (const slot of clause.slots) c.knownSlot(vm, slot);
}

/** Runs the pass on the current VM; the `migration` record. */
export function execMigrate(
  r: Interpreter,
  at: Parameters<Interpreter["vm"]>[0],
  clause: MigrateClause,
): RecordValue {
  const pass = r.vm(at).vm.migrate(clause.slots.map((s) => s.text), {
    clflush: clause.clflush,
  });
  const fields = new Map<string, Value>([
    ["pages", pass.pages],
    ["bytes", pass.bytes],
    ["dirty", pass.dirty],
  ]);
  if (pass.hazards !== undefined) fields.set("hazards", pass.hazards);
  if (pass.flushed !== undefined) fields.set("flushed", pass.flushed);
  return new RecordValue("migration", fields);
}

/** The bare `migrate` step. */
export const MIGRATE: StepDef<MigrateStmt> = {
  kinds: { migrate: true },
  reserved: ["migrate"],
  words: [],
  needsVm: true,
  expected: { migrateClause: "memslot names" },
  grammar: (env) => env.g.RULE("migrateStep", () => env.g.SUBRULE(migrateClause(env))),
  build: {
    migrateStep(ctx, b): MigrateStmt {
      const clause = buildMigrateClause(b, nodes(ctx, "migrateClause")[0]);
      return { kind: "migrate", loc: clause.loc, clause };
    },
    migrateClause(ctx): MigrateClause {
      const words = toks(ctx, "AnyWord").map(name);
      const clflush = words.at(-1)?.text === "clflush";
      return {
        loc: tokLoc(tok(ctx, "Kw_migrate")),
        slots: clflush ? words.slice(0, -1) : words,
        clflush,
      };
    },
  },
  check(step, c, _ctx, vm) {
    checkMigrate(c, vm, step.clause);
  },
  exec(step, r) {
    execMigrate(r, step, step.clause);
  },
};
