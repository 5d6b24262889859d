/**
 * The assembler/decoder round trip of `guest/ISA.md`: the emulator's decoder
 * reads back every form of {@linkcode ISA_FORMS} with the same length and
 * mnemonic.
 */
import { assert, assertEquals } from "@std/assert";
import { Assembler, ISA_FORMS } from "../../guest/mod.ts";
import { decode } from "../../vmm/emu/cpu/decode.ts";

/** The mnemonic the `asm` text names (`movabs` is `mov`; `rep` prefixes its string op). */
function mnemonicOf(asm: string): string | undefined {
  if (asm.startsWith(".byte")) return undefined;
  const words = asm.split(/[ ,]+/);
  if (words[0] === "rep") return words[1];
  if (words[0] === "movabs") return "mov";
  return words[0];
}

Deno.test("decode() reads back every ISA form with its length and mnemonic", () => {
  for (const f of ISA_FORMS) {
    const a = new Assembler();
    f.emit(a);
    const bytes = a.assemble(0n).bytes;
    const d = decode(bytes);
    assert(d, `${f.name}: not decoded`);
    assertEquals(d.len, bytes.length, `${f.name}: length`);
    const mn = mnemonicOf(f.asm);
    if (mn) assertEquals(d.mnemonic, mn, `${f.name}: mnemonic`);
  }
});

Deno.test("decode() reads the addressing modes of the ISA forms", () => {
  const byName = new Map(ISA_FORMS.map((f) => [f.name, f]));
  const mem = (name: string) => decode(new Uint8Array(byName.get(name)!.bytes))!.mem;
  assertEquals(mem("[rsp] needs SIB"), { base: 4, index: -1, scale: 1, disp: 0, ripRel: false });
  assertEquals(mem("[r13] needs disp8 0"), {
    base: 13,
    index: -1,
    scale: 1,
    disp: 0,
    ripRel: false,
  });
  assertEquals(mem("[r12+r13*4]"), { base: 12, index: 13, scale: 4, disp: 0, ripRel: false });
  assertEquals(mem("[rbp+r12*8] (r12 index)"), {
    base: 5,
    index: 12,
    scale: 8,
    disp: 0,
    ripRel: false,
  });
  assertEquals(mem("[r8+r9*2-8]"), { base: 8, index: 9, scale: 2, disp: -8, ripRel: false });
  assertEquals(mem("[r9*8+disp32] (no base, REX.X)"), {
    base: -1,
    index: 9,
    scale: 8,
    disp: 0x2000,
    ripRel: false,
  });
  assertEquals(mem("[disp32] absolute via SIB"), {
    base: -1,
    index: -1,
    scale: 1,
    disp: 0x1000,
    ripRel: false,
  });
  assertEquals(mem("[rip+disp32]"), { base: -1, index: -1, scale: 1, disp: 0x10, ripRel: true });
});
