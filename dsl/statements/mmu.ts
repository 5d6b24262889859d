/**
 * `mmu tdp|shadow` in a vm block (read by `build_vm.ts` into the VM's configuration).
 *
 * @module
 */
import { MMU_MODES } from "../names.ts";
import type { DeclDef } from "./statement.ts";
import { wordSetting, type WordSettingDecl } from "./word_setting.ts";

/** An `mmu` declaration. */
export type MmuDecl = WordSettingDecl<"mmu">;

/** The `mmu` declaration. */
export const MMU: DeclDef<MmuDecl> = wordSetting("mmu", "mmuDecl", MMU_MODES);
