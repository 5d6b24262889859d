/**
 * `quirk NAME on|off`: sets a KVM quirk, as a declaration of a vm block
 * (applied when the VM is built) or as a step (on the current VM).
 *
 * @module
 */
import type { Loc, Name } from "../ast.ts";
import type { Checker } from "../check.ts";
import { name, tok, tokLoc } from "../cst.ts";
import { QUIRKS } from "../names.ts";
import * as T from "../tokens.ts";
import type { QuirkName } from "../../vmm/types.ts";
import type { Build, DeclDef, GrammarEnv, Rule, StepDef } from "./statement.ts";

/** `quirk NAME on|off`, the same node as a declaration and as a step. */
export interface QuirkStmt {
  kind: "quirk";
  loc: Loc;
  name: Name;
  value: Name;
}

function quirkClause({ g, K, shared }: GrammarEnv): Rule {
  return shared("quirkClause", () =>
    g.RULE("quirkClause", () => {
      g.CONSUME(K.quirk);
      g.CONSUME(T.AnyWord, { LABEL: "name" });
      g.CONSUME2(T.AnyWord, { LABEL: "value" });
    }));
}

const BUILD: Readonly<Record<string, Build>> = {
  quirkClause(ctx): QuirkStmt {
    return {
      kind: "quirk",
      loc: tokLoc(tok(ctx, "Kw_quirk")),
      name: name(tok(ctx, "name")),
      value: name(tok(ctx, "value")),
    };
  },
};

function quirk(c: Checker, name: Name, value: Name): void {
  c.oneOf(name, QUIRKS, "quirk");
  c.oneOf(value, ["on", "off"], "quirk setting");
}

/** The `quirk` step. */
export const QUIRK_STEP: StepDef<QuirkStmt> = {
  kinds: { quirk: true },
  reserved: ["quirk"],
  words: [],
  needsVm: true,
  grammar: quirkClause,
  build: BUILD,
  check(step, c) {
    quirk(c, step.name, step.value);
  },
  exec(step, r) {
    r.vm(step).vm.setQuirk(step.name.text as QuirkName, step.value.text === "on");
  },
};

/** The `quirk` declaration (applied by `build_vm.ts`, after caps, before memslots). */
export const QUIRK_DECL: DeclDef<QuirkStmt> = {
  kinds: { quirk: true },
  reserved: ["quirk"],
  words: [],
  unique: false,
  grammar: quirkClause,
  build: BUILD,
  check(decl, c) {
    quirk(c, decl.name, decl.value);
  },
  describe(decl, draft) {
    draft.quirk(decl.loc, decl.name.text as QuirkName, decl.value.text === "on");
  },
};
