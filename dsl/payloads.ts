/**
 * The DSL's view of the built-in guest payloads (`guest/payloads/mod.ts`):
 * which names exist, how script values become parameters, and whether a
 * parameter set is valid. Kept in one file so the checker and the
 * interpreter ask the same question the same way.
 *
 * @module
 */
import { PAYLOADS, validatePayloadParams } from "../guest/payloads/mod.ts";
import { type Value, Word } from "./values.ts";

export { deviceShmSlot } from "../guest/payloads/mod.ts";

/** Names of the built-in payloads. */
export function payloadNames(): string[] {
  return Object.keys(PAYLOADS);
}

/** Whether `name` is a built-in payload. */
export function isPayload(name: string): boolean {
  return Object.hasOwn(PAYLOADS, name);
}

/**
 * Problems with a payload's parameters, as sentences naming the parameter.
 *
 * @param name the payload
 * @param params the parameters (integers as bigint, words and strings as string)
 * @param slots the VM's memslots, device shm regions included (named `DEVICE.shm`)
 * @param vcpus the vCPU count when known
 */
export function payloadProblems(
  name: string,
  params: Readonly<Record<string, bigint | string>>,
  slots: readonly { name: string; gpa: bigint; size: bigint }[],
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
