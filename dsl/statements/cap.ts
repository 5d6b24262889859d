/**
 * `cap NAME [VALUE]`: enables a capability, as a declaration of a vm block
 * (applied when the VM is built) or as a step (on the current VM).
 *
 * @module
 */
import type { Expr, Loc, Name } from "../ast.ts";
import type { Checker } from "../check.ts";
import { name, tok, tokLoc } from "../cst.ts";
import { capValue } from "../runtime.ts";
import { CAP_VALUES, knownOrSuggestion } from "../names.ts";
import * as T from "../tokens.ts";
import type { CapName } from "../../vmm/types.ts";
import type { Build, DeclDef, GrammarEnv, Rule, StepDef } from "./statement.ts";

/** `cap NAME [VALUE]`, the same node as a declaration and as a step. */
export interface CapStmt {
  kind: "cap";
  loc: Loc;
  name: Name;
  /** A word of the capability or its raw `args[0]` (any expression). */
  value: Expr;
}

/**
 * `cap NAME [VALUE]`: the value may be left out (`cap manual_dirty_log_protect`
 * means `on`), so it is taken only from the same line as the name.
 */
function capClause({ g, K, shared, expression }: GrammarEnv): Rule {
  return shared("capClause", () =>
    g.RULE("capClause", () => {
      g.CONSUME(K.cap);
      const capName = g.CONSUME(T.AnyWord, { LABEL: "name" });
      g.OPTION({
        GATE: () => g.LA(1).startLine === capName.endLine,
        DEF: () => g.SUBRULE(expression, { LABEL: "value" }),
      });
    }));
}

const BUILD: Readonly<Record<string, Build>> = {
  capClause(ctx, b): CapStmt {
    const capName = name(tok(ctx, "name"));
    return {
      kind: "cap",
      loc: tokLoc(tok(ctx, "Kw_cap")),
      name: capName,
      // `cap NAME` alone enables: the value reads `on`, located at the name.
      value: b.optExpr(ctx, "value") ??
        { kind: "word", value: "on", loc: capName.loc, source: "on" },
    };
  },
};

function cap(c: Checker, name: Name, value: Expr): void {
  const values = (CAP_VALUES as Record<string, readonly string[]>)[name.text];
  if (!values) {
    c.error(
      name.loc,
      `unknown capability '${name.text}' (${
        knownOrSuggestion(name.text, Object.keys(CAP_VALUES))
      })`,
    );
    return;
  }
  // An integer is the raw `args[0]`: the capability's own rules judge it (EINVAL).
  c.wordValue(
    value,
    values,
    `capability '${name.text}'`,
    true,
    (text) => `capability '${name.text}' takes ${values.join(", ")}, not '${text}'`,
  );
}

/** The `cap` step. */
export const CAP_STEP: StepDef<CapStmt> = {
  kinds: { cap: true },
  reserved: ["cap"],
  words: [],
  needsVm: true,
  grammar: capClause,
  build: BUILD,
  check(step, c) {
    cap(c, step.name, step.value);
  },
  exec(step, r) {
    const vm = r.vm(step).vm;
    vm.enableCap(step.name.text as CapName, capValue(r.eval(step.value), step.value));
  },
};

/** The `cap` declaration (applied by `build_vm.ts`, before quirks and memslots). */
export const CAP_DECL: DeclDef<CapStmt> = {
  kinds: { cap: true },
  reserved: ["cap"],
  words: [],
  unique: false,
  grammar: capClause,
  build: BUILD,
  check(decl, c) {
    cap(c, decl.name, decl.value);
  },
  describe(decl, draft) {
    draft.cap(decl.loc, decl.name.text as CapName, capValue(draft.eval(decl.value), decl.value));
  },
};
