/**
 * The registry of built-in guest payloads and the validation of their
 * parameters. Adding a payload = one module exporting its
 * {@linkcode PayloadDef} (parameters, sync labels, needs, code) + one line
 * in {@linkcode PAYLOADS}.
 *
 * @module
 */

import { BOOT_SIM } from "./boot_sim.ts";
import { DIRTY_WRITER } from "./dirty_writer.ts";
import { FW_BOOT } from "./fw_boot.ts";
import { GPU_FILL } from "./gpu_fill.ts";
import {
  type GivenParams,
  PayloadParamError,
  type Resolution,
  type ResolvedParams,
  resolveParams,
  type SlotRef,
} from "./params.ts";
import type { PayloadDef } from "./payload.ts";
import { PT_WRITE } from "./pt_write.ts";
import { READ_SWEEP } from "./read_sweep.ts";
import { SPIN } from "./spin.ts";
import { TOUCH } from "./touch.ts";
import { WRITE_SWEEP } from "./write_sweep.ts";

export * from "./params.ts";
export type * from "./payload.ts";
export { touchedPages, xorshift64 } from "./touch.ts";
export { dirtyWriterShare } from "./dirty_writer.ts";
export { GPU_FILL_PAT_INDEX, MSR_IA32_PAT, PAT_RESET, PAT_TYPES, patValue } from "./gpu_fill.ts";

/** Every built-in payload by name. */
export const PAYLOADS: Readonly<Record<string, PayloadDef>> = Object.freeze({
  write_sweep: WRITE_SWEEP,
  read_sweep: READ_SWEEP,
  touch: TOUCH,
  boot_sim: BOOT_SIM,
  fw_boot: FW_BOOT,
  dirty_writer: DIRTY_WRITER,
  spin: SPIN,
  pt_write: PT_WRITE,
  gpu_fill: GPU_FILL,
});

/** Options of {@linkcode resolvePayloadParams}. */
export interface PayloadCheckOptions {
  /** The vCPU count, when known (some payloads divide the work by it). */
  vcpus?: number;
}

/**
 * Resolves a payload's parameters: types, defaults, ranges, slot/device
 * names, then the payload's own checks (those only when every value and the
 * memslots are known).
 *
 * @param name the payload
 * @param params the parameters as the DSL gives them (`null`: not known yet)
 * @param slots the VM's memslots (a device's shm memslot named `<device>.shm`), null when not known
 * @param options the vCPU count when known
 * @returns the resolved parameters, or errors
 */
export function resolvePayloadParams(
  name: string,
  params: GivenParams,
  slots: readonly SlotRef[] | null,
  options: PayloadCheckOptions = {},
): Resolution {
  const def = Object.hasOwn(PAYLOADS, name) ? PAYLOADS[name] : undefined;
  if (!def) {
    return { errors: [`unknown payload "${name}" (known: ${Object.keys(PAYLOADS).join(", ")})`] };
  }
  const r = resolveParams(name, def.params, params, slots);
  if (!r.params) return r;
  const errors = def.check(r.params, options.vcpus);
  return errors.length ? { errors } : r;
}

/** A payload with its parameters resolved: what the boot image is built from. */
export interface ResolvedPayload {
  /** The payload. */
  def: PayloadDef;
  /** Its parameters, defaults applied and slots looked up. */
  params: ResolvedParams;
}

/**
 * Resolves a payload's parameters (see {@linkcode resolvePayloadParams}),
 * throwing when they do not fit.
 *
 * @param name the payload
 * @param params the parameters as the DSL gives them
 * @param slots the VM's memslots (a device's shm memslot named `<device>.shm`)
 * @param options the vCPU count
 * @returns the payload and its resolved parameters
 * @throws {PayloadParamError} with every problem
 */
export function resolvePayload(
  name: string,
  params: Readonly<Record<string, bigint | string>>,
  slots: readonly SlotRef[],
  options: PayloadCheckOptions = {},
): ResolvedPayload {
  const r = resolvePayloadParams(name, params, slots, options);
  if (!r.params) throw new PayloadParamError(r.errors);
  return { def: PAYLOADS[name], params: r.params };
}

/**
 * Checks a payload's parameters for the DSL checker: as much as is known
 * before the run (see {@linkcode resolvePayloadParams}).
 *
 * @param name the payload
 * @param params the parameters as the DSL gives them (`null`: not known yet)
 * @param slots the VM's memslots (a device's shm memslot named `<device>.shm`), null when not known
 * @param options the vCPU count when known
 * @returns error messages naming the parameter (empty when valid)
 *
 * @example Usage
 * ```ts
 * import { validatePayloadParams } from "./mod.ts";
 * import { assertEquals } from "@std/assert";
 * const slots = [{ name: "ram", gpa: 0x100000n, size: 0x4000000n }];
 * assertEquals(validatePayloadParams("write_sweep", { slot: "ram" }, slots), []);
 * assertEquals(validatePayloadParams("write_sweep", { slot: "rom" }, slots), [
 *   'write_sweep: parameter "slot" names no memslot "rom"',
 * ]);
 * ```
 */
export function validatePayloadParams(
  name: string,
  params: GivenParams,
  slots: readonly SlotRef[] | null,
  options: PayloadCheckOptions = {},
): string[] {
  return resolvePayloadParams(name, params, slots, options).errors;
}
