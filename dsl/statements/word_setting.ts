/**
 * A vm-block setting that is one word of a fixed list (`backend kvm`,
 * `mmu shadow`): `backend.ts` and `mmu.ts` are each one call of
 * {@linkcode wordSetting}, which checks the word, stores it in the draft's
 * settings and remembers where it was declared (for errors opening the VM).
 *
 * @module
 */
import type { Expr, Loc } from "../ast.ts";
import type { VmDraft } from "../build_vm.ts";
import type { DeclDef } from "./statement.ts";
import { keywordSyntax } from "./syntax.ts";

/** The word settings and their values. */
type WordSettings = Required<Pick<VmDraft["settings"], "backend" | "mmu">>;

/** A word-setting declaration. */
export interface WordSettingDecl<K extends keyof WordSettings> {
  kind: K;
  loc: Loc;
  /** Any expression; a static one is checked before the run. */
  value: Expr;
}

/**
 * The declaration module of one word setting.
 *
 * @param keyword the setting's keyword, also its AST kind and its key in the settings
 * @param rule the grammar rule's name
 * @param choices the words it accepts
 * @returns the module's definition
 */
export function wordSetting<K extends keyof WordSettings>(
  keyword: K,
  rule: string,
  choices: readonly WordSettings[K][],
): DeclDef<WordSettingDecl<K>> {
  return {
    ...keywordSyntax(rule, keyword, [{ expr: "value" }]),
    unique: true,
    check(decl, c) {
      c.wordValue(decl.value, choices, keyword);
    },
    describe(decl, draft) {
      const settings: Partial<WordSettings> = draft.settings;
      settings[keyword] = draft.word(decl.value, choices, keyword) as WordSettings[K];
      draft.settingLocs[keyword] = decl.loc;
    },
  };
}
