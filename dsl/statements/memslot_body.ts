/**
 * What a memslot declaration and a run-time `memslot NAME gpa …` share: the
 * `gpa A size S [FLAGS] [backing B] [hugepage P]` grammar, its AST and the
 * checks of its attributes.
 *
 * @module
 */
import type { Expr, Name } from "../ast.ts";
import type { Checker, VmInfo } from "../check.ts";
import { maybeTok, name, nodes, tok } from "../cst.ts";
import { TYPE_NAMES } from "../check_expr.ts";
import { BACKINGS, HUGEPAGE_SIZES, MEMSLOT_FLAGS } from "../names.ts";
import * as T from "../tokens.ts";
import type { Build, GrammarEnv, Rule } from "./statement.ts";

/** `memslot NAME gpa A size S [FLAGS] [backing B] [hugepage P]`. */
export interface MemslotDecl {
  /** The slot's name. */
  name: Name;
  /** Its guest physical address. */
  gpa: Expr;
  /** Its size in bytes. */
  size: Expr;
  /** Its flags (`readonly`, `dirty_log`, …). */
  flags: Name[];
  /** `flags EXPR`: the whole set, as a list (`flags [dirty_log, readonly]`). */
  flagList?: Expr;
  /** What backs it (anonymous memory by default; any expression). */
  backing?: Expr;
  /** The host page size backing it. */
  hugepage?: Expr;
}

/** The keywords of a memslot body. */
export const SLOT_BODY_WORDS: readonly string[] = [
  "gpa",
  "size",
  "backing",
  "hugepage",
  "dirty_log",
  "flags",
];

/** A memslot flag: a plain name, or `dirty_log` (which is also a keyword). */
export function flagNameRule({ g, K, shared }: GrammarEnv): Rule {
  return shared("flagName", () =>
    g.RULE("flagName", () => {
      g.OR([
        { ALT: () => g.CONSUME(T.Ident) },
        { ALT: () => g.CONSUME(K.dirty_log) },
      ]);
    }));
}

/** `gpa A size S` then flags, `backing B`, `hugepage P` in any order. */
export function memslotBodyRule(env: GrammarEnv): Rule {
  const { g, K, expression, shared } = env;
  const flagName = flagNameRule(env);
  return shared("memslotBody", () =>
    g.RULE("memslotBody", () => {
      g.CONSUME(K.gpa);
      g.SUBRULE(expression, { LABEL: "gpa" });
      g.CONSUME(K.size);
      g.SUBRULE2(expression, { LABEL: "size" });
      g.MANY(() =>
        g.OR([
          { ALT: () => g.SUBRULE(flagName, { LABEL: "flag" }) },
          {
            ALT: () => {
              g.CONSUME(K.backing);
              g.SUBRULE4(expression, { LABEL: "backing" });
            },
          },
          {
            ALT: () => {
              g.CONSUME(K.flags);
              g.SUBRULE5(expression, { LABEL: "flagList" });
            },
          },
          {
            ALT: () => {
              g.CONSUME(K.hugepage);
              g.SUBRULE3(expression, { LABEL: "hugepage" });
            },
          },
        ])
      );
    }));
}

/** CST → AST of the shared rules. */
export const MEMSLOT_BODY_BUILD: Readonly<Record<string, Build>> = {
  memslotBody(ctx, b): Omit<MemslotDecl, "name"> {
    return {
      gpa: b.expr(nodes(ctx, "gpa")[0]),
      size: b.expr(nodes(ctx, "size")[0]),
      flags: nodes(ctx, "flag").map((n) => b.visit(n) as Name),
      flagList: b.optExpr(ctx, "flagList"),
      backing: b.optExpr(ctx, "backing"),
      hugepage: b.optExpr(ctx, "hugepage"),
    };
  },
  flagName(ctx): Name {
    return name(maybeTok(ctx, "Ident") ?? tok(ctx, "Kw_dirty_log"));
  },
};

/** The flags, backing and host page size of a memslot, declared or added as a step. */
export function slotAttributes(c: Checker, slot: MemslotDecl): void {
  for (const flag of slot.flags) c.oneOf(flag, MEMSLOT_FLAGS, "memslot flag");
  if (slot.flagList) {
    const list = slot.flagList;
    if (slot.flags.length > 0) {
      c.error(list.loc, "'flags [ … ]' sets the whole set: do not also list flags one by one");
    }
    const t = c.expr(list);
    if (list.kind === "list") {
      for (const item of list.items) c.wordValue(item, MEMSLOT_FLAGS, "memslot flag");
    } else if (t !== "list" && t !== "unknown") {
      c.error(
        list.loc,
        `'flags' needs a list of flags (e.g. [dirty_log, readonly]), not ${TYPE_NAMES[t]}`,
      );
    }
  }
  if (slot.backing) c.wordValue(slot.backing, BACKINGS, "backing");
  if (slot.hugepage) {
    const p = c.expectInt(slot.hugepage, "hugepage");
    // Inside `expect error` a bad size is what the backend is asked to reject (EINVAL).
    if (p !== undefined && !HUGEPAGE_SIZES.includes(p) && !c.lenient) {
      c.error(slot.hugepage.loc, `hugepage must be 4K, 2M or 1G, not ${slot.hugepage.source}`);
    }
  }
}

/** A slot name the VM gets (declared, or added as a step). */
export function declareSlot(c: Checker, vm: VmInfo, name: Name): void {
  // A deleted slot's name is free again (KVM_MR_DELETE frees the slot; re-adding is allowed).
  const freed = vm.deleted.delete(name.text);
  if (!c.lenient && !freed && (vm.slots.has(name.text) || vm.devices.has(name.text))) {
    c.error(name.loc, `memslot '${name.text}' is declared twice in vm '${vm.name}'`);
  }
  vm.slots.add(name.text);
}
