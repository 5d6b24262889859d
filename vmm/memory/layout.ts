/**
 * Page geometry for the VMM: the base and huge page sizes come from
 * `guest/page_tables.ts` (the lowest layer that needs them, which the guest
 * builder shares), with the number forms the backends index typed arrays by.
 *
 * @module
 */
import { SIZE_1G, SIZE_2M, SIZE_4K } from "../../guest/page_tables.ts";

export { SIZE_1G, SIZE_2M, SIZE_4K };

/** log2 of the x86 base page size. */
export const PAGE_SHIFT = 12;
/** The base page size in bytes as a number (typed-array arithmetic). */
export const PAGE_SIZE: number = Number(SIZE_4K);
/** The base page size in bytes as a bigint (guest-physical arithmetic at the `Vm` boundary). */
export const PAGE_BYTES: bigint = SIZE_4K;
/** The host page sizes a memslot's `hugepage` may name (4K, 2M, 1G). */
export const HUGEPAGE_SIZES: readonly bigint[] = [SIZE_4K, SIZE_2M, SIZE_1G];
