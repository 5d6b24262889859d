/**
 * Page geometry and memory-type defaults shared by both backends, the DSL
 * and the tests: the one place that says how big a page is.
 *
 * @module
 */

/** log2 of the x86 base page size. */
export const PAGE_SHIFT = 12;
/** The x86 base page size in bytes (number, for typed-array arithmetic). */
export const PAGE_SIZE = 4096;
/** {@linkcode PAGE_SIZE} as a bigint, for guest-physical arithmetic at the `Vm` boundary. */
export const PAGE_BYTES = 4096n;
/** A 2 MiB huge page in bytes. */
export const HUGE_2M = 2n << 20n;
/** A 1 GiB huge page in bytes. */
export const HUGE_1G = 1n << 30n;
/** The host page sizes a memslot's `hugepage` may name (4K, 2M, 1G). */
export const HUGEPAGE_SIZES: readonly bigint[] = [PAGE_BYTES, HUGE_2M, HUGE_1G];

/**
 * IA32_PAT at reset (SDM vol. 3 "PAT initialization"): WB, WT, UC-, UC in
 * entries 0-3 and again in 4-7. KVM's vCPU reset value is the same.
 */
export const PAT_RESET = 0x0007040600070406n;
