/**
 * `mmu tdp|shadow` in a vm block (read by `build_vm.ts` into the VM's configuration).
 *
 * @module
 */
import type { Expr, Loc } from "../ast.ts";
import { MMU_MODES } from "../names.ts";
import type { MmuMode } from "../../vmm/types.ts";
import type { DeclDef } from "./statement.ts";
import { keywordSyntax } from "./syntax.ts";

/** An `mmu` declaration. */
export interface MmuDecl {
  kind: "mmu";
  loc: Loc;
  /** Any expression; a static one is checked before the run. */
  value: Expr;
}

/** The `mmu` declaration. */
export const MMU: DeclDef<MmuDecl> = {
  ...keywordSyntax("mmuDecl", "mmu", [{ expr: "value" }]),
  unique: true,
  check(decl, c) {
    c.wordValue(decl.value, MMU_MODES, "mmu");
  },
  describe(decl, draft) {
    draft.settings.mmu = draft.word(decl.value, MMU_MODES, "mmu") as MmuMode;
    draft.settingLocs.mmu = decl.loc;
  },
};
