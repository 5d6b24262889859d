/**
 * `mmu tdp|shadow` in a vm block (read by `build_vm.ts` into the VM's configuration).
 *
 * @module
 */
import type { Expr, Loc } from "../ast.ts";
import { nodes, tok, tokLoc } from "../cst.ts";
import { MMU_MODES } from "../names.ts";
import type { MmuMode } from "../../vmm/types.ts";
import type { DeclDef } from "./statement.ts";

/** An `mmu` declaration. */
export interface MmuDecl {
  kind: "mmu";
  loc: Loc;
  /** Any expression; a static one is checked before the run. */
  value: Expr;
}

/** The `mmu` declaration. */
export const MMU: DeclDef<MmuDecl> = {
  kinds: { mmu: true },
  reserved: ["mmu"],
  words: [],
  unique: true,
  grammar: ({ g, K, expression }) =>
    g.RULE("mmuDecl", () => {
      g.CONSUME(K.mmu);
      g.SUBRULE(expression, { LABEL: "value" });
    }),
  build: {
    mmuDecl(ctx, b): MmuDecl {
      return {
        kind: "mmu",
        loc: tokLoc(tok(ctx, "Kw_mmu")),
        value: b.expr(nodes(ctx, "value")[0]),
      };
    },
  },
  check(decl, c) {
    c.wordValue(decl.value, MMU_MODES, "mmu");
  },
  describe(decl, draft) {
    draft.settings.mmu = draft.word(decl.value, MMU_MODES, "mmu") as MmuMode;
    draft.settingLocs.mmu = decl.loc;
  },
};
