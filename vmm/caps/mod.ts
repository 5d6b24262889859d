/**
 * The capability registry: one module per capability (its DSL values as raw
 * `args[0]`, errno rules, emulator behaviour, kvm mapping, doc row) and the
 * quirks table. The DSL checker, both backends and the docs' tables derive
 * from here. A new capability is one module plus one line below.
 *
 * @module
 */
import type { CapDef } from "./cap.ts";
import { ERRNO_NUMBERS, ErrnoError } from "../errors.ts";
import { DIRTY_LOG_RECOVERY } from "./dirty_log_recovery.ts";
import { EAGER_PAGE_SPLIT } from "./eager_page_split.ts";
import { MANUAL_DIRTY_LOG_PROTECT } from "./manual_dirty_log_protect.ts";
import { MEMORY_FAULT_NOWAIT } from "./memory_fault_nowait.ts";
import { MEMSLOT_ZAP_CONTROL } from "./memslot_zap_control.ts";
import { PAGE_WRITE_TRACKING } from "./page_write_tracking.ts";
import { type QuirkName, QUIRKS } from "./quirks.ts";
import { X86_MEMORY_FAULT_EXIT } from "./x86_memory_fault_exit.ts";

export * from "./cap.ts";
export * from "./quirks.ts";

/** Every capability by DSL name. */
export const CAPS = {
  page_write_tracking: PAGE_WRITE_TRACKING,
  memslot_zap_control: MEMSLOT_ZAP_CONTROL,
  memory_fault_nowait: MEMORY_FAULT_NOWAIT,
  x86_memory_fault_exit: X86_MEMORY_FAULT_EXIT,
  dirty_log_recovery: DIRTY_LOG_RECOVERY,
  eager_page_split: EAGER_PAGE_SPLIT,
  manual_dirty_log_protect: MANUAL_DIRTY_LOG_PROTECT,
} as const satisfies Readonly<Record<string, CapDef>>;

/** A capability's DSL name. */
export type CapName = keyof typeof CAPS;

/**
 * A capability value as a script or library caller gives it: one of the
 * capability's words, or the raw `args[0]`.
 */
export type CapValue = string | bigint;

/**
 * The raw `args[0]` of a capability value: a word through the module's
 * table, an integer (or a decimal/hex string of one) as is.
 *
 * @param name the capability
 * @param value a word or a raw `args[0]`
 * @returns the raw value, or undefined for a word the capability does not know
 *
 * @example Usage
 * ```ts
 * import { capArg } from "./mod.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(capArg("memslot_zap_control", "zap_only_memslot"), 1n);
 * assertEquals(capArg("memslot_zap_control", 4n), 4n);
 * assertEquals(capArg("memslot_zap_control", "zap_some"), undefined);
 * ```
 */
export function capArg(name: CapName, value: CapValue): bigint | undefined {
  if (typeof value === "bigint") return value;
  const values: Readonly<Record<string, bigint>> = CAPS[name].values;
  if (Object.hasOwn(values, value)) return values[value];
  return /^(0|[1-9][0-9]*|0x[0-9a-f]+)$/i.test(value) ? BigInt(value) : undefined;
}

/**
 * Whether `name` is a capability the registry knows.
 *
 * @param name a DSL word
 * @returns true for a registered capability
 */
export function isCapName(name: string): name is CapName {
  return Object.hasOwn(CAPS, name);
}

/**
 * Whether `name` is a quirk the registry knows.
 *
 * @param name a DSL word
 * @returns true for a registered quirk
 */
export function isQuirkName(name: string): name is QuirkName {
  return Object.hasOwn(QUIRKS, name);
}

/**
 * {@linkcode capArg} as both backends' `KVM_ENABLE_CAP` sees it: a word the
 * capability does not know is EINVAL, as the kernel answers an unknown
 * `args[0]`, so both backends give the same errno.
 *
 * @param name the capability
 * @param value a word or a raw `args[0]`
 * @returns the raw `args[0]`
 * @throws {ErrnoError} EINVAL for an unknown word
 */
export function capArgOrEinval(name: CapName, value: CapValue): bigint {
  const arg0 = capArg(name, value);
  if (arg0 !== undefined) return arg0;
  throw new ErrnoError(
    "KVM_ENABLE_CAP",
    ERRNO_NUMBERS.EINVAL,
    `cap ${name}: unknown value "${value}" (expected ${Object.keys(CAPS[name].values).join(", ")})`,
  );
}
