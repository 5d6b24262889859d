/**
 * Counting the set bits of dirty bitmaps (one bit per page, as
 * KVM_GET_DIRTY_LOG lays them out): the one popcount both backends, the
 * migration loop and the tests use.
 *
 * @module
 */

/**
 * The set bits of a 32-bit word.
 *
 * @param x the word (read as unsigned 32 bits)
 * @returns how many bits are set
 */
export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/**
 * The set bits of a bitmap: how many pages a dirty log marks.
 *
 * @param bitmap the bitmap
 * @returns how many bits are set
 */
export function bitsSet(bitmap: Uint8Array): number {
  let n = 0;
  for (const b of bitmap) n += popcount32(b);
  return n;
}
