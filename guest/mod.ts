/**
 * The guest side of the VMM: the x86-64 assembler, the built-in payloads,
 * the boot image builder and the ucall ABI.
 *
 * @example Build a boot image
 * ```ts
 * import { buildBootImage } from "./mod.ts";
 * import { assertEquals } from "@std/assert";
 * const image = buildBootImage({
 *   guest: { kind: "payload", name: "spin", params: {} },
 *   slots: [],
 *   vcpus: 2,
 * });
 * assertEquals(image.vcpus.length, 2);
 * ```
 *
 * @module
 */

export * from "./assembler.ts";
export * from "./operands.ts";
export * from "./isa_forms.ts";
export * from "./ucall.ts";
export type * from "./image.ts";
export * from "./boot.ts";
export * from "./segments.ts";
export {
  type Mapping,
  mergeRanges,
  PageTables,
  patFlags,
  PTE,
  PTE_ADDR_MASK,
  SIZE_1G,
  SIZE_2M,
  SIZE_4K,
  tablePagesUpperBound,
} from "./page_tables.ts";
export * from "./payloads/mod.ts";
