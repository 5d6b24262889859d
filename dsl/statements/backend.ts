/**
 * `backend kvm|emu|auto` in a vm block (read by `build_vm.ts`; the CLI's
 * `--backend` overrides it).
 *
 * @module
 */
import type { Expr, Loc } from "../ast.ts";
import { nodes, tok, tokLoc } from "../cst.ts";
import { BACKEND_CHOICES } from "../names.ts";
import type { BackendChoice } from "../../vmm/create.ts";
import type { DeclDef } from "./statement.ts";

/** A `backend` declaration. */
export interface BackendDecl {
  kind: "backend";
  loc: Loc;
  /** Any expression; a static one is checked before the run. */
  value: Expr;
}

/** The `backend` declaration. */
export const BACKEND: DeclDef<BackendDecl> = {
  kinds: { backend: true },
  reserved: ["backend"],
  words: [],
  unique: true,
  grammar: ({ g, K, expression }) =>
    g.RULE("backendDecl", () => {
      g.CONSUME(K.backend);
      g.SUBRULE(expression, { LABEL: "value" });
    }),
  build: {
    backendDecl(ctx, b): BackendDecl {
      return {
        kind: "backend",
        loc: tokLoc(tok(ctx, "Kw_backend")),
        value: b.expr(nodes(ctx, "value")[0]),
      };
    },
  },
  check(decl, c) {
    c.wordValue(decl.value, BACKEND_CHOICES, "backend");
  },
  describe(decl, draft) {
    draft.settings.backend = draft.word(decl.value, BACKEND_CHOICES, "backend") as BackendChoice;
    draft.settingLocs.backend = decl.loc;
  },
};
