/**
 * `let $v = EXPR | stat NAME [vcpu N] | memtype gpa A | memslot S read offset O
 * | dirty_log S [clear] | migrate S… [clflush]`: assigns a variable (all but
 * the first read the current VM; `migrate` lives in `migrate.ts`).
 *
 * @module
 */
import type { Expr, Loc, Name } from "../ast.ts";
import type { Checker, VmInfo } from "../check.ts";
import type { SType } from "../check_expr.ts";
import { name, nodes, tok, tokLoc, varName } from "../cst.ts";
import type { Interpreter } from "../interpreter.ts";
import { dirtyRecord } from "../runtime.ts";
import * as T from "../tokens.ts";
import { RecordValue, type Value, Word } from "../values.ts";
import {
  buildMigrateClause,
  checkMigrate,
  execMigrate,
  type MigrateClause,
  migrateClause,
} from "./migrate.ts";
import type { StepDef } from "./statement.ts";

/** What `let` assigns. */
export type LetValue =
  | { kind: "expr"; expr: Expr }
  | { kind: "stat"; name: Name; vcpu?: Expr }
  | { kind: "memtype"; gpa: Expr }
  | { kind: "slot_read"; slot: Name; offset: Expr }
  | { kind: "dirty_log"; slot: Name; clear: boolean }
  | { kind: "migrate"; clause: MigrateClause };

/** A `let` step. */
export interface LetStmt {
  kind: "let";
  loc: Loc;
  variable: Name;
  value: LetValue;
}

/** The `let` step. */
export const LET: StepDef<LetStmt> = {
  kinds: { let: true },
  reserved: ["let"],
  words: ["stat", "vcpu", "memtype", "gpa", "memslot", "read", "offset", "dirty_log", "clear"],
  needsVm: false,
  grammar(env) {
    const { g, K, expression } = env;
    const migrate = migrateClause(env);
    const letValue = g.RULE("letValue", () => {
      g.OR({
        IGNORE_AMBIGUITIES: true,
        DEF: [
          {
            ALT: () => {
              g.CONSUME(K.stat);
              g.CONSUME(T.AnyWord, { LABEL: "stat" });
              g.OPTION(() => {
                g.CONSUME(K.vcpu);
                g.SUBRULE(expression, { LABEL: "vcpu" });
              });
            },
          },
          {
            ALT: () => {
              g.CONSUME(K.memtype);
              g.CONSUME(K.gpa);
              g.SUBRULE2(expression, { LABEL: "memtypeGpa" });
            },
          },
          {
            ALT: () => {
              g.CONSUME(K.memslot);
              g.CONSUME2(T.AnyWord, { LABEL: "readSlot" });
              g.CONSUME(K.read);
              g.CONSUME(K.offset);
              g.SUBRULE3(expression, { LABEL: "readOffset" });
            },
          },
          {
            ALT: () => {
              g.CONSUME(K.dirty_log);
              g.CONSUME3(T.AnyWord, { LABEL: "dirtySlot" });
              g.OPTION2(() => g.CONSUME(K.clear));
            },
          },
          { ALT: () => g.SUBRULE5(migrate, { LABEL: "migrate" }) },
          { ALT: () => g.SUBRULE4(expression, { LABEL: "expr" }) },
        ],
      });
    });
    return g.RULE("letStep", () => {
      g.CONSUME(K.let);
      g.CONSUME(T.Variable);
      g.CONSUME(T.Assign);
      g.SUBRULE(letValue);
    });
  },
  expected: { letValue: "a value" },
  build: {
    letStep(ctx, b): LetStmt {
      return {
        kind: "let",
        loc: tokLoc(tok(ctx, "Kw_let")),
        variable: varName(tok(ctx, "Variable")),
        value: b.visit(nodes(ctx, "letValue")[0]) as LetValue,
      };
    },
    letValue(ctx, b): LetValue {
      if (ctx.Kw_stat) {
        return { kind: "stat", name: name(tok(ctx, "stat")), vcpu: b.optExpr(ctx, "vcpu") };
      }
      if (ctx.Kw_memtype) return { kind: "memtype", gpa: b.expr(nodes(ctx, "memtypeGpa")[0]) };
      if (ctx.Kw_memslot) {
        return {
          kind: "slot_read",
          slot: name(tok(ctx, "readSlot")),
          offset: b.expr(nodes(ctx, "readOffset")[0]),
        };
      }
      if (ctx.Kw_dirty_log) {
        return { kind: "dirty_log", slot: name(tok(ctx, "dirtySlot")), clear: !!ctx.Kw_clear };
      }
      if (ctx.migrate) {
        return { kind: "migrate", clause: buildMigrateClause(b, nodes(ctx, "migrate")[0]) };
      }
      return { kind: "expr", expr: b.expr(nodes(ctx, "expr")[0]) };
    },
  },
  check(step, c, _ctx, vm) {
    c.declarable(step.variable);
    c.vars.set(step.variable.text, letType(c, step, vm));
  },
  exec(step, r) {
    r.vars.set(step.variable.text, letValue(r, step, step.value));
  },
};

function letType(c: Checker, step: LetStmt, vm: VmInfo | null): SType {
  const value = step.value;
  if (value.kind === "expr") return c.expr(value.expr);
  if (!vm) c.needVm(step, `let … = ${value.kind === "slot_read" ? "memslot" : value.kind}`);
  switch (value.kind) {
    case "stat":
      c.statName(value.name);
      if (value.vcpu) c.expectInt(value.vcpu, "vcpu");
      return "int";
    case "memtype":
      c.expectInt(value.gpa, "gpa");
      return "memtype";
    case "slot_read":
      c.knownSlot(vm, value.slot);
      c.expectInt(value.offset, "offset");
      return "int";
    case "dirty_log":
      c.knownSlot(vm, value.slot);
      return "dirty_log";
    case "migrate":
      checkMigrate(c, vm, value.clause);
      return "migration";
  }
}

function letValue(r: Interpreter, step: LetStmt, value: LetValue): Value {
  if (value.kind === "expr") return r.eval(value.expr);
  const vm = r.vm(step).vm;
  switch (value.kind) {
    case "stat": {
      const vcpu = value.vcpu ? Number(r.int(value.vcpu, "vcpu")) : undefined;
      return r.stat(vm, value.name, vcpu);
    }
    case "memtype": {
      const t = vm.memtype(r.int(value.gpa, "gpa"));
      return new RecordValue(
        "memtype",
        new Map<string, Value>([["type", new Word(t.type)], ["ipat", t.ipat]]),
      );
    }
    case "slot_read":
      return vm.readSlot(value.slot.text, r.int(value.offset, "offset"));
    case "dirty_log":
      return dirtyRecord(vm.getDirtyLog(value.slot.text, value.clear));
    case "migrate":
      return execMigrate(r, step, value.clause);
  }
}
