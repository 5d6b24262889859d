/**
 * `memslot NAME gpa A size S [FLAGS] [backing B] [hugepage P]` in a vm
 * block (added by `build_vm.ts` after caps and quirks).
 *
 * @module
 */
import type { Loc } from "../ast.ts";
import { slotSpec } from "../build_vm.ts";
import { name, nodes, tok, tokLoc } from "../cst.ts";
import * as T from "../tokens.ts";
import {
  declareSlot,
  MEMSLOT_BODY_BUILD,
  memslotBodyRule,
  type MemslotDecl,
  SLOT_BODY_WORDS,
  slotAttributes,
} from "./memslot_body.ts";
import type { DeclDef } from "./statement.ts";

/** A `memslot` declaration. */
export interface MemslotDeclNode {
  kind: "memslot";
  loc: Loc;
  slot: MemslotDecl;
}

/** The `memslot` declaration. */
export const MEMSLOT_DECL: DeclDef<MemslotDeclNode> = {
  kinds: { memslot: true },
  reserved: ["memslot"],
  words: SLOT_BODY_WORDS,
  unique: false,
  grammar(env) {
    const { g, K } = env;
    const memslotBody = memslotBodyRule(env);
    return g.RULE("memslotDecl", () => {
      g.CONSUME(K.memslot);
      g.CONSUME(T.AnyWord, { LABEL: "name" });
      g.SUBRULE(memslotBody);
    });
  },
  build: {
    ...MEMSLOT_BODY_BUILD,
    memslotDecl(ctx, b): MemslotDeclNode {
      const body = b.visit(nodes(ctx, "memslotBody")[0]) as Omit<MemslotDecl, "name">;
      return {
        kind: "memslot",
        loc: tokLoc(tok(ctx, "Kw_memslot")),
        slot: { name: name(tok(ctx, "name")), ...body },
      };
    },
  },
  check(decl, c, vm) {
    const slot = decl.slot;
    declareSlot(c, vm, slot.name);
    slotAttributes(c, slot);
  },
  describe(decl, draft) {
    draft.memslot(decl.loc, slotSpec(decl.slot, draft.env.vars));
  },
};
