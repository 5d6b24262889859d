/**
 * The vector format of `native_test.ts`: every vector was produced by
 * executing the instruction natively (assembled with `as --64`, run from a
 * C harness after `popfq` of the input flags).
 *
 * @module
 */

/**
 * One instruction's vectors: its text, its encoding in hex, and vectors
 * `rax rbx rcx rdx rflags → rax rbx rcx rdx rflags mask`, in hex, where
 * `mask` holds the flags the SDM defines for that instruction and count.
 */
export type NativeVector = [text: string, code: string, vectors: string[]];
