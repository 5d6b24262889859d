/**
 * Flag and result semantics checked against the real CPU: every vector was
 * produced by executing the instruction natively (assembled with `as --64`,
 * run from a C harness after `popfq` of the input flags). Each vector is
 * `rax rbx rcx rdx rflags → rax rbx rcx rdx rflags mask`, in hex, where
 * `mask` holds the flags the SDM defines for that instruction and count.
 */
import { assertEquals } from "@std/assert";
import { flatMachine, hexBytes } from "../../../../vmm/emu/cpu/flat_mmu.ts";
import type { NativeVector } from "./native_vector.ts";
import { VECTORS_FORMS } from "./native_vectors_forms.ts";
import { VECTORS_NARROW } from "./native_vectors_narrow.ts";
import { VECTORS_WIDE } from "./native_vectors_wide.ts";

function check(text: string, code: string, v: string): void {
  const f = v.split(" ").map((x) => BigInt("0x" + x));
  const { cpu } = flatMachine({
    code: hexBytes(code + "f4"),
    gprs: { rax: f[0], rbx: f[1], rcx: f[2], rdx: f[3] },
    rflags: f[4],
  });
  const stop = cpu.run(10);
  assertEquals(stop.kind, "hlt", text);
  const got = [cpu.gpr(0), cpu.gpr(3), cpu.gpr(1), cpu.gpr(2)];
  assertEquals(got, f.slice(5, 9), `${text} with ${v}`);
  const mask = f[10];
  assertEquals(cpu.rflags() & mask, f[9] & mask, `${text} flags with ${v}`);
  assertEquals(cpu.rflags() & 2n, 2n, "RFLAGS bit 1");
}

Deno.test("emu cpu matches native results and flags for every ALU form", () => {
  for (const [text, code, vectors] of VECTORS) {
    for (const v of vectors) check(text, code, v);
  }
});

// The tables, in their original order: 64/32-bit, 16/8-bit, then the other forms.
const VECTORS: NativeVector[] = [...VECTORS_WIDE, ...VECTORS_NARROW, ...VECTORS_FORMS];
