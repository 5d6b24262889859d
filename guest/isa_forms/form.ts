/**
 * The shape of one entry of `ISA_FORMS` and the helper the family lists
 * (`moves.ts`, `arith.ts`, `system.ts`) write their entries with.
 *
 * @module
 */

import type { Assembler } from "../assembler.ts";

/** One instruction form with a representative instance. */
export interface IsaForm {
  /** The form, in SDM-style notation, e.g. `add r/m64, imm8`. */
  readonly name: string;
  /** The instance in Intel syntax (as `as --64` accepts it, or a description for branches). */
  readonly asm: string;
  /** Emits the instance into an assembler (at origin 0). */
  readonly emit: (a: Assembler) => void;
  /** The exact encoding. */
  readonly bytes: readonly number[];
}

/**
 * One form from its expected bytes as hex text.
 *
 * @param name the form
 * @param asm the instance in Intel syntax
 * @param hex the bytes, e.g. `"48 89 c1"`
 * @param emit emits the instance
 * @returns the frozen form
 */
export function form(
  name: string,
  asm: string,
  hex: string,
  emit: (a: Assembler) => void,
): IsaForm {
  const bytes = hex.split(" ").filter((s) => s !== "").map((s) => parseInt(s, 16));
  return Object.freeze({ name, asm, emit, bytes: Object.freeze(bytes) });
}

/**
 * A byte as two hex digits (for forms whose bytes follow from a table).
 *
 * @param b the byte
 * @returns the text
 */
export function hex2(b: number): string {
  return b.toString(16).padStart(2, "0");
}
