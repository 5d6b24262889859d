/**
 * `quirk NAME on|off`: sets a KVM quirk, as a declaration of a vm block
 * (applied when the VM is built) or as a step (on the current VM).
 *
 * @module
 */
import type { Expr, Loc, Name } from "../ast.ts";
import type { Checker } from "../check.ts";
import { name, nodes, tok, tokLoc } from "../cst.ts";
import { wordValue } from "../runtime.ts";
import { QUIRKS } from "../names.ts";
import * as T from "../tokens.ts";
import type { QuirkName } from "../../vmm/types.ts";
import type { Build, DeclDef, GrammarEnv, Rule, StepDef } from "./statement.ts";

/** `quirk NAME on|off`, the same node as a declaration and as a step. */
export interface QuirkStmt {
  kind: "quirk";
  loc: Loc;
  name: Name;
  /** `on` or `off` (any expression). */
  value: Expr;
}

const SETTINGS = ["on", "off"];

function quirkClause({ g, K, shared, expression }: GrammarEnv): Rule {
  return shared("quirkClause", () =>
    g.RULE("quirkClause", () => {
      g.CONSUME(K.quirk);
      g.CONSUME(T.AnyWord, { LABEL: "name" });
      g.SUBRULE(expression, { LABEL: "value" });
    }));
}

const BUILD: Readonly<Record<string, Build>> = {
  quirkClause(ctx, b): QuirkStmt {
    return {
      kind: "quirk",
      loc: tokLoc(tok(ctx, "Kw_quirk")),
      name: name(tok(ctx, "name")),
      value: b.expr(nodes(ctx, "value")[0]),
    };
  },
};

function quirk(c: Checker, name: Name, value: Expr): void {
  c.oneOf(name, QUIRKS, "quirk");
  c.wordValue(value, SETTINGS, "quirk setting");
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
    const on = wordValue(r.eval(step.value), step.value, SETTINGS, "quirk setting") === "on";
    r.vm(step).vm.setQuirk(step.name.text as QuirkName, on);
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
    const on = draft.word(decl.value, SETTINGS, "quirk setting") === "on";
    draft.quirk(decl.loc, decl.name.text as QuirkName, on);
  },
};
