/**
 * `backend kvm|emu|auto` in a vm block (read by `build_vm.ts`; the CLI's
 * `--backend` overrides it).
 *
 * @module
 */
import { BACKEND_CHOICES } from "../names.ts";
import type { DeclDef } from "./statement.ts";
import { wordSetting, type WordSettingDecl } from "./word_setting.ts";

/** A `backend` declaration. */
export type BackendDecl = WordSettingDecl<"backend">;

/** The `backend` declaration. */
export const BACKEND: DeclDef<BackendDecl> = wordSetting("backend", "backendDecl", BACKEND_CHOICES);
