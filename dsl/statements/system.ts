/**
 * `system gpa A size S` in a vm block: where the guest's system region
 * (page tables, stack, payload) goes. Its layout is checked with the
 * memslots' (`layout.ts`); `build_vm.ts` reads it into the VM's configuration.
 *
 * @module
 */
import type { Expr, Loc } from "../ast.ts";
import { nodes, tok, tokLoc } from "../cst.ts";
import type { DeclDef } from "./statement.ts";

/** A `system` declaration. */
export interface SystemDecl {
  kind: "system";
  loc: Loc;
  gpa: Expr;
  size: Expr;
}

/** The `system` declaration. */
export const SYSTEM: DeclDef<SystemDecl> = {
  kinds: { system: true },
  reserved: ["system"],
  words: ["gpa", "size"],
  unique: true,
  grammar: ({ g, K, expression }) =>
    g.RULE("systemDecl", () => {
      g.CONSUME(K.system);
      g.CONSUME(K.gpa);
      g.SUBRULE(expression, { LABEL: "gpa" });
      g.CONSUME(K.size);
      g.SUBRULE2(expression, { LABEL: "size" });
    }),
  build: {
    systemDecl(ctx, b): SystemDecl {
      return {
        kind: "system",
        loc: tokLoc(tok(ctx, "Kw_system")),
        gpa: b.expr(nodes(ctx, "gpa")[0]),
        size: b.expr(nodes(ctx, "size")[0]),
      };
    },
  },
  // Its address and size are typed and checked with the layout (`declaredLayout`), once.
  check() {},
  describe(decl, draft) {
    draft.settings.system = {
      gpa: draft.int(decl.gpa, "gpa"),
      size: draft.int(decl.size, "size"),
    };
  },
};
