/**
 * Guest memory shared by both backends: page geometry, the memslot table and
 * KVM's memslot rules.
 *
 * @module
 */
export * from "./layout.ts";
export * from "./slot_index.ts";
export * from "./slot_rules.ts";
export * from "./guest_range.ts";
export * from "./bitmap.ts";
export type { Backing, MemslotFlag, MemslotSpec } from "../types.ts";
