/**
 * `system gpa A size S` in a vm block: where the guest's system region
 * (page tables, stack, payload) goes. Its layout is checked with the
 * memslots' (`layout.ts`); `build_vm.ts` reads it into the VM's configuration.
 *
 * @module
 */
import type { Expr, Loc } from "../ast.ts";
import type { DeclDef } from "./statement.ts";
import { keywordSyntax } from "./syntax.ts";

/** A `system` declaration. */
export interface SystemDecl {
  kind: "system";
  loc: Loc;
  gpa: Expr;
  size: Expr;
}

/** The `system` declaration. */
export const SYSTEM: DeclDef<SystemDecl> = {
  ...keywordSyntax("systemDecl", "system", [
    { word: "gpa" },
    { expr: "gpa" },
    { word: "size" },
    { expr: "size" },
  ]),
  unique: true,
  // Its address and size are typed and checked with the layout (`declaredLayout`), once.
  check() {},
  describe(decl, draft) {
    draft.settings.system = {
      gpa: draft.int(decl.gpa, "gpa"),
      size: draft.int(decl.size, "size"),
    };
  },
};
