/**
 * Capabilities and quirks of the emulated VM, with KVM_ENABLE_CAP's errno
 * rules: an unknown value is EINVAL. Every cap may be set before and after
 * memslots exist, except where its own rule says otherwise
 * (`page_write_tracking off`); the zap policy and the dirty-log recovery
 * mode are read at the moment of each delete/move or `-dirty_log`, as
 * mainline reads the SLOT_ZAP_ALL quirk.
 *
 * @module
 */
import { ERRNO_NUMBERS, ErrnoError } from "../errors.ts";
import type { CapName, QuirkName } from "../types.ts";
import type { Mmu } from "./mmu/mmu.ts";

const { EINVAL } = ERRNO_NUMBERS;
const OP = "KVM_ENABLE_CAP";

function bad(name: string, value: string): ErrnoError {
  return new ErrnoError(OP, EINVAL, `${name}: unsupported value "${value}"`);
}

function onOff(name: string, value: string): boolean {
  if (value === "on" || value === "" || value === "1") return true;
  if (value === "off" || value === "0") return false;
  throw bad(name, value);
}

/** Apply `cap NAME VALUE`. */
export function enableCap(mmu: Mmu, name: CapName, value: string): void {
  const caps = mmu.caps;
  switch (name) {
    case "page_write_tracking":
      mmu.tracking.setPolicy(value);
      return;
    case "memslot_zap_control":
      if (value === "zap_all") caps.zapOnlyMemslot = false;
      else if (value === "zap_only_memslot") caps.zapOnlyMemslot = true;
      else throw bad(name, value);
      return;
    case "memory_fault_nowait":
      caps.memoryFaultNowait = onOff(name, value);
      return;
    case "x86_memory_fault_exit":
      if (value === "absent_mapping" || value === "on") caps.memoryFaultExit = true;
      else if (value === "off" || value === "0") caps.memoryFaultExit = false;
      else throw bad(name, value);
      return;
    case "dirty_log_recovery":
      if (value === "zap") caps.recoverInPlace = false;
      else if (value === "in_place") caps.recoverInPlace = true;
      else throw bad(name, value);
      return;
    case "manual_dirty_log_protect":
      caps.manualProtect = onOff(name, value);
      return;
    default:
      throw new ErrnoError(OP, EINVAL, `unknown capability ${name as string}`);
  }
}

/** Apply `quirk NAME on|off` (KVM_CAP_DISABLE_QUIRKS2 clears the bit for `off`). */
export function setQuirk(mmu: Mmu, name: QuirkName, on: boolean): void {
  switch (name) {
    case "slot_zap_all":
      mmu.caps.zapOnlyMemslot = !on;
      return;
    case "ignore_guest_pat":
      mmu.memtype.ignoreGuestPat = on;
      return;
    case "cd_nw_cleared":
      mmu.memtype.cdNwCleared = on;
      return;
    default:
      throw new ErrnoError(
        "KVM_CAP_DISABLE_QUIRKS2",
        EINVAL,
        `unknown quirk ${name as string}`,
      );
  }
}
