/**
 * Test support: a built-in payload as a {@linkcode GuestSpec}, and loading
 * one into a VM, in one call (the tests' most repeated setup).
 *
 * @module
 */
import { loadGuest } from "../../vmm/builder.ts";
import type { GuestSpec, Vm } from "../../vmm/types.ts";

/** A payload's parameters as the DSL gives them. */
export type PayloadParams = Readonly<Record<string, bigint | string>>;

/**
 * The guest spec of a built-in payload.
 *
 * @param name the payload, e.g. `write_sweep`
 * @param params its parameters
 * @returns `{ kind: "payload", name, params }`
 */
export function payload(name: string, params: PayloadParams = {}): GuestSpec {
  return { kind: "payload", name, params };
}

/**
 * Loads a built-in payload into a VM (`loadGuest` with {@linkcode payload}).
 *
 * @param vm the VM, its memslots added
 * @param name the payload
 * @param params its parameters
 */
export function loadPayload(vm: Vm, name: string, params: PayloadParams = {}): void {
  loadGuest(vm, payload(name, params));
}
