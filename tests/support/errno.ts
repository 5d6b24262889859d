/**
 * The errno name a call fails with: the one helper the tests use for
 * `ErrnoError` assertions.
 *
 * @module
 */
import { assertThrows } from "@std/assert";
import { ErrnoError } from "../../vmm/errors.ts";

/**
 * Calls `f`, which must throw an {@linkcode ErrnoError}, and returns its errno name.
 *
 * @param f the call that must fail
 * @returns the errno name, e.g. `EINVAL`
 */
export function errnoOf(f: () => unknown): string {
  return assertThrows(f, ErrnoError).errno;
}
