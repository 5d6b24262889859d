/**
 * The DSL's view of the built-in guest payloads (`guest/payloads/mod.ts`,
 * where each payload declares its parameters): which names exist, how
 * script values become parameters, and what the static checker can tell
 * about a parameter set before the run. At run time the same declarations
 * are checked once, by the builder (`vmm/builder.ts` → `guest/boot.ts`).
 *
 * @module
 */
import { type GivenParams, PAYLOADS, validatePayloadParams } from "../guest/payloads/mod.ts";
import { type Value, Word } from "./values.ts";

export { deviceShmSlot } from "../guest/payloads/mod.ts";

/** Names of the built-in payloads. */
export function payloadNames(): string[] {
  return Object.keys(PAYLOADS);
}

/** The sync labels a built-in payload emits, or undefined for an unknown payload. */
export function payloadSyncLabels(name: string): readonly string[] | undefined {
  return isPayload(name) ? PAYLOADS[name].syncLabels : undefined;
}

/** Whether `name` is a built-in payload. */
export function isPayload(name: string): boolean {
  return Object.hasOwn(PAYLOADS, name);
}

/**
 * Problems with a payload's parameters, as sentences naming the parameter.
 *
 * @param name the payload
 * @param params the parameters (integers as bigint, words and strings as
 *   string, null when not known before the run)
 * @param slots the VM's memslots, device shm regions included (named
 *   `DEVICE.shm`), or null when their layout is not known before the run
 * @param vcpus the vCPU count when known
 */
export function payloadProblems(
  name: string,
  params: GivenParams,
  slots: readonly { name: string; gpa: bigint; size: bigint }[] | null,
  vcpus?: number,
): string[] {
  return validatePayloadParams(name, params, slots, { vcpus });
}

/**
 * A script value as a payload parameter (integers as bigint, words and
 * strings as string), or undefined when a parameter cannot be that value.
 *
 * @param value the evaluated (or statically known) value
 */
export function payloadParam(value: Value | undefined): bigint | string | undefined {
  if (typeof value === "bigint" || typeof value === "string") return value;
  return value instanceof Word ? value.text : undefined;
}
