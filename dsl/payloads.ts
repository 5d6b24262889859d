/**
 * The DSL's view of the built-in guest payloads (`guest/payloads/mod.ts`):
 * which names exist and whether a parameter set is valid. Kept in one file
 * so the checker and the interpreter ask the same question the same way.
 *
 * @module
 */
import { PAYLOADS, validatePayloadParams } from "../guest/payloads/mod.ts";

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

/** The memslot name of a device's shm region (a dot cannot occur in a script's slot names). */
export function deviceShmSlot(device: string): string {
  return `${device}.shm`;
}
