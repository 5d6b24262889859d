/**
 * `mmu tdp|shadow` in a vm block (read by `build_vm.ts` into the VM's configuration).
 *
 * @module
 */
import type { Loc, Name } from "../ast.ts";
import { name, tok, tokLoc } from "../cst.ts";
import { MMU_MODES } from "../names.ts";
import * as T from "../tokens.ts";
import type { MmuMode } from "../../vmm/types.ts";
import type { DeclDef } from "./statement.ts";

/** An `mmu` declaration. */
export interface MmuDecl {
  kind: "mmu";
  loc: Loc;
  value: Name;
}

/** The `mmu` declaration. */
export const MMU: DeclDef<MmuDecl> = {
  kinds: { mmu: true },
  reserved: ["mmu"],
  words: [],
  unique: true,
  grammar: ({ g, K }) =>
    g.RULE("mmuDecl", () => {
      g.CONSUME(K.mmu);
      g.CONSUME(T.AnyWord, { LABEL: "value" });
    }),
  build: {
    mmuDecl(ctx): MmuDecl {
      return { kind: "mmu", loc: tokLoc(tok(ctx, "Kw_mmu")), value: name(tok(ctx, "value")) };
    },
  },
  check(decl, c) {
    c.oneOf(decl.value, MMU_MODES, "mmu");
  },
  describe(decl, draft) {
    draft.settings.mmu = decl.value.text as MmuMode;
    draft.settingLocs.mmu = decl.loc;
  },
};
