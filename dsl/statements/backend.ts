/**
 * `backend kvm|emu|auto` in a vm block (read by `build_vm.ts`; the CLI's
 * `--backend` overrides it).
 *
 * @module
 */
import type { Loc, Name } from "../ast.ts";
import { name, tok, tokLoc } from "../cst.ts";
import { BACKEND_CHOICES } from "../names.ts";
import * as T from "../tokens.ts";
import type { BackendChoice } from "../../vmm/create.ts";
import type { DeclDef } from "./statement.ts";

/** A `backend` declaration. */
export interface BackendDecl {
  kind: "backend";
  loc: Loc;
  value: Name;
}

/** The `backend` declaration. */
export const BACKEND: DeclDef<BackendDecl> = {
  kinds: { backend: true },
  reserved: ["backend"],
  words: [],
  unique: true,
  grammar: ({ g, K }) =>
    g.RULE("backendDecl", () => {
      g.CONSUME(K.backend);
      g.CONSUME(T.AnyWord, { LABEL: "value" });
    }),
  build: {
    backendDecl(ctx): BackendDecl {
      return {
        kind: "backend",
        loc: tokLoc(tok(ctx, "Kw_backend")),
        value: name(tok(ctx, "value")),
      };
    },
  },
  check(decl, c) {
    c.oneOf(decl.value, BACKEND_CHOICES, "backend");
  },
  describe(decl, draft) {
    draft.settings.backend = decl.value.text as BackendChoice;
    draft.settingLocs.backend = decl.loc;
  },
};
