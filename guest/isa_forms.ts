/**
 * One representative of every instruction form of `guest/ISA.md`, with the
 * exact bytes the assembler must emit, as data: the assembler's tests check
 * the bytes, and the emulator's decoder tests can assemble each form and
 * check that the decoder reads it back (length and operands).
 *
 * The forms are listed per instruction family, as the assembler encodes
 * them: `guest/isa_forms/moves.ts`, `arith.ts` and `system.ts`.
 *
 * The expected bytes were cross-checked against GNU as 2.x (`as --64`,
 * Intel syntax) and `objdump -M intel`. Where the subset deliberately avoids
 * a shorter encoding gas would choose (accumulator forms `05`/`3C`/`A9`,
 * `B0+r`, `90+r` xchg), the `asm` text is a `.byte` line or a description.
 *
 * @module
 */

import { ARITH_FORMS } from "./isa_forms/arith.ts";
import type { IsaForm } from "./isa_forms/form.ts";
import { MOVE_FORMS } from "./isa_forms/moves.ts";
import { SYSTEM_FORMS } from "./isa_forms/system.ts";

export type { IsaForm } from "./isa_forms/form.ts";

/**
 * Every form of the subset, one representative each (several where the
 * ModRM/SIB/REX rules differ: rsp/r12 bases, rbp/r13 bases, no-base SIB,
 * RIP-relative, byte registers that need REX). Each entry is exactly one
 * instruction.
 *
 * @example Decoder round trip
 * ```ts
 * import { Assembler, ISA_FORMS } from "./mod.ts";
 * import { assertEquals } from "@std/assert";
 * for (const f of ISA_FORMS) {
 *   const a = new Assembler();
 *   f.emit(a);
 *   assertEquals([...a.assemble(0n).bytes], [...f.bytes], f.name);
 * }
 * ```
 */
export const ISA_FORMS: readonly IsaForm[] = [...MOVE_FORMS, ...ARITH_FORMS, ...SYSTEM_FORMS];
