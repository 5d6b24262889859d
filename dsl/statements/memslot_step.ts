/**
 * `memslot NAME delete | move gpa A | flags ±F… | populate [offset O] [size S]
 * | write offset O value V | gpa A size S …`: changes a memslot of the
 * current VM at run time (the last form adds one).
 *
 * @module
 */
import type { Expr, Loc, Name } from "../ast.ts";
import type { Checker, VmInfo } from "../check.ts";
import { name, nodes, tok, tokLoc } from "../cst.ts";
import { ScriptRuntimeError } from "../evaluate.ts";
import { checkRegion } from "../layout.ts";
import { MEMSLOT_FLAGS } from "../names.ts";
import { U64_LIMIT } from "../runtime.ts";
import { slotSpec } from "../build_vm.ts";
import * as T from "../tokens.ts";
import { formatValue } from "../values.ts";
import { SIZE_4K } from "../../guest/page_tables.ts";
import type { MemslotFlag } from "../../vmm/types.ts";
import {
  declareSlot,
  flagNameRule,
  MEMSLOT_BODY_BUILD,
  memslotBodyRule,
  type MemslotDecl,
  SLOT_BODY_WORDS,
  slotAttributes,
} from "./memslot_body.ts";
import type { StepDef } from "./statement.ts";

/** A memslot change at run time. */
export type SlotOp =
  | { kind: "delete" }
  | { kind: "move"; gpa: Expr }
  | { kind: "flags"; add: Name[]; remove: Name[] }
  | { kind: "populate"; offset?: Expr; size?: Expr }
  | { kind: "write"; offset: Expr; value: Expr }
  | { kind: "add"; slot: MemslotDecl };

/** A `memslot NAME …` step. */
export interface MemslotStmt {
  kind: "memslot";
  loc: Loc;
  slot: Name;
  op: SlotOp;
}

/** The `memslot` step. */
export const MEMSLOT_STEP: StepDef<MemslotStmt> = {
  kinds: { memslot: true },
  reserved: ["memslot"],
  words: ["delete", "move", "flags", "populate", "offset", "write", "value", ...SLOT_BODY_WORDS],
  needsVm: true,
  grammar(env) {
    const { g, K, expression } = env;
    const flagName = flagNameRule(env);
    const memslotBody = memslotBodyRule(env);
    const memslotOp = g.RULE("memslotOp", () => {
      g.OR([
        { ALT: () => g.CONSUME(K.delete) },
        {
          ALT: () => {
            g.CONSUME(K.move);
            g.CONSUME(K.gpa);
            g.SUBRULE(expression, { LABEL: "moveGpa" });
          },
        },
        {
          ALT: () => {
            g.CONSUME(K.flags);
            g.MANY(() =>
              g.OR2([
                {
                  ALT: () => {
                    g.CONSUME(T.Plus);
                    g.SUBRULE(flagName, { LABEL: "addFlag" });
                  },
                },
                {
                  ALT: () => {
                    g.CONSUME(T.Minus);
                    g.SUBRULE2(flagName, { LABEL: "removeFlag" });
                  },
                },
              ])
            );
          },
        },
        {
          ALT: () => {
            g.CONSUME(K.populate);
            g.MANY2(() =>
              g.OR3([
                {
                  ALT: () => {
                    g.CONSUME(K.offset);
                    g.SUBRULE2(expression, { LABEL: "offset" });
                  },
                },
                {
                  ALT: () => {
                    g.CONSUME(K.size);
                    g.SUBRULE3(expression, { LABEL: "size" });
                  },
                },
              ])
            );
          },
        },
        {
          ALT: () => {
            g.CONSUME(K.write);
            g.CONSUME2(K.offset);
            g.SUBRULE4(expression, { LABEL: "writeOffset" });
            g.CONSUME(K.value);
            g.SUBRULE5(expression, { LABEL: "writeValue" });
          },
        },
        { ALT: () => g.SUBRULE(memslotBody) },
      ]);
    });
    return g.RULE("memslotStep", () => {
      g.CONSUME(K.memslot);
      g.CONSUME(T.AnyWord, { LABEL: "name" });
      g.SUBRULE(memslotOp);
    });
  },
  expected: { memslotOp: "delete, move, flags, populate, write or gpa" },
  build: {
    ...MEMSLOT_BODY_BUILD,
    memslotStep(ctx, b): MemslotStmt {
      return {
        kind: "memslot",
        loc: tokLoc(tok(ctx, "Kw_memslot")),
        slot: name(tok(ctx, "name")),
        op: b.visit(nodes(ctx, "memslotOp")[0], name(tok(ctx, "name"))) as SlotOp,
      };
    },
    memslotOp(ctx, b, slotName: Name): SlotOp {
      if (ctx.Kw_delete) return { kind: "delete" };
      if (ctx.Kw_move) return { kind: "move", gpa: b.expr(nodes(ctx, "moveGpa")[0]) };
      if (ctx.Kw_flags) {
        return {
          kind: "flags",
          add: nodes(ctx, "addFlag").map((n) => b.visit(n) as Name),
          remove: nodes(ctx, "removeFlag").map((n) => b.visit(n) as Name),
        };
      }
      if (ctx.Kw_populate) {
        return {
          kind: "populate",
          offset: b.optExpr(ctx, "offset"),
          size: b.optExpr(ctx, "size"),
        };
      }
      if (ctx.Kw_write) {
        return {
          kind: "write",
          offset: b.expr(nodes(ctx, "writeOffset")[0]),
          value: b.expr(nodes(ctx, "writeValue")[0]),
        };
      }
      const body = b.visit(nodes(ctx, "memslotBody")[0]) as Omit<MemslotDecl, "name">;
      return { kind: "add", slot: { name: slotName, ...body } };
    },
  },
  check(step, c, _ctx, vm) {
    memslotStep(c, step, vm);
  },
  exec(step, r) {
    const vm = r.vm(step).vm;
    const name = step.slot.text;
    const op = step.op;
    switch (op.kind) {
      case "delete":
        return vm.deleteMemslot(name);
      case "move":
        return vm.moveMemslot(name, r.int(op.gpa, "gpa"));
      case "flags":
        return vm.setMemslotFlags(
          name,
          op.add.map((f) => f.text as MemslotFlag),
          op.remove.map((f) => f.text as MemslotFlag),
        );
      case "populate":
        return vm.populate(
          name,
          op.offset ? r.int(op.offset, "offset") : undefined,
          op.size ? r.int(op.size, "size") : undefined,
        );
      case "write": {
        const value = r.eval(op.value);
        if (typeof value !== "bigint" || value < -(1n << 63n) || value >= U64_LIMIT) {
          throw new ScriptRuntimeError(
            op.value.loc,
            `value must be a 64-bit integer, not ${formatValue(value)}`,
          );
        }
        return vm.writeSlot(name, r.int(op.offset, "offset"), BigInt.asUintN(64, value));
      }
      case "add":
        vm.addMemslot(slotSpec(op.slot, r.vars));
        return;
    }
  },
};

function memslotStep(c: Checker, step: MemslotStmt, vm: VmInfo | null): void {
  const op = step.op;
  if (op.kind === "add") {
    if (vm) declareSlot(c, vm, step.slot);
    slotAttributes(c, op.slot);
    const gpa = c.expectInt(op.slot.gpa, "memslot gpa");
    const size = c.expectInt(op.slot.size, "memslot size");
    // Inside `expect error` a misaligned or empty slot is what the kernel is asked to reject.
    if (gpa !== undefined && size !== undefined && !c.lenient) {
      const region = {
        label: `memslot '${step.slot.text}'`,
        gpa,
        size,
        loc: step.slot.loc,
        gpaLoc: op.slot.gpa.loc,
        sizeLoc: op.slot.size.loc,
      };
      for (const p of checkRegion(region)) c.error(p.loc, p.message);
    }
    return;
  }
  c.knownSlot(vm, step.slot);
  switch (op.kind) {
    case "delete":
      vm?.deleted.add(step.slot.text);
      break;
    case "move": {
      const gpa = c.expectInt(op.gpa, "gpa");
      if (gpa !== undefined && gpa % SIZE_4K !== 0n && !c.lenient) {
        c.error(
          op.gpa.loc,
          `memslot '${step.slot.text}': gpa ${op.gpa.source} is not page aligned (4 KiB)`,
        );
      }
      break;
    }
    case "flags":
      for (const f of [...op.add, ...op.remove]) c.oneOf(f, MEMSLOT_FLAGS, "memslot flag");
      if (op.add.length + op.remove.length === 0) {
        c.error(step.loc, "'memslot … flags' needs at least one +FLAG or -FLAG");
      }
      break;
    case "populate":
      if (op.offset) c.expectInt(op.offset, "offset");
      if (op.size) c.expectInt(op.size, "size");
      break;
    case "write":
      c.expectInt(op.offset, "offset");
      c.expectInt(op.value, "value");
      break;
  }
}
