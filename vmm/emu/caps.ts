/**
 * KVM_ENABLE_CAP and KVM_CAP_DISABLE_QUIRKS2 of the emulated VM: each
 * capability's rules and behaviour live in its module of `vmm/caps/`; this
 * resolves the value to its raw `args[0]` and applies the module's hook. A
 * word the capability does not know is EINVAL. The zap policy and the
 * dirty-log recovery mode are read at the moment of each delete/move or
 * `-dirty_log`, as mainline reads the SLOT_ZAP_ALL quirk.
 *
 * @module
 */
import { ERRNO_NUMBERS, ErrnoError } from "../errors.ts";
import {
  capArgOrEinval,
  type CapName,
  CAPS,
  type CapValue,
  type QuirkName,
  QUIRKS,
} from "../caps/mod.ts";
import type { EmuCapTarget } from "../caps/mod.ts";

const { EINVAL } = ERRNO_NUMBERS;

/**
 * Apply `cap NAME VALUE`.
 *
 * @param mmu the emulated VM's MMU
 * @param name the capability
 * @param value a word of the capability or its raw `args[0]`
 * @throws {ErrnoError} EINVAL for an unknown capability or word, else as the capability's rules say
 */
export function enableCap(mmu: EmuCapTarget, name: CapName, value: CapValue): void {
  if (!Object.hasOwn(CAPS, name)) {
    throw new ErrnoError("KVM_ENABLE_CAP", EINVAL, `unknown capability ${name}`);
  }
  CAPS[name].emu(mmu, capArgOrEinval(name, value));
}

/**
 * Apply `quirk NAME on|off` (KVM_CAP_DISABLE_QUIRKS2 clears the bit for `off`).
 *
 * @param mmu the emulated VM's MMU
 * @param name the quirk
 * @param on true keeps KVM's default
 * @throws {ErrnoError} EINVAL for an unknown quirk
 */
export function setQuirk(mmu: EmuCapTarget, name: QuirkName, on: boolean): void {
  if (!Object.hasOwn(QUIRKS, name)) {
    throw new ErrnoError("KVM_CAP_DISABLE_QUIRKS2", EINVAL, `unknown quirk ${name}`);
  }
  QUIRKS[name].emu(mmu, on);
}
