/**
 * The decoder: a round trip over the assembler's `ISA_FORMS` (every form of
 * `guest/ISA.md` with its exact bytes: the decoder must read each back with
 * its length, mnemonic and register operands), plus edge cases of prefixes,
 * REX and truncation on a hand-written byte list.
 */
import { assert, assertEquals } from "@std/assert";
import { ISA_FORMS } from "../../../../guest/isa_forms.ts";
import { decode, type DecodedInst, OPCODES } from "../../../../vmm/emu/cpu/mod.ts";

const R64 = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi"];
const R32 = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];
const R16 = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"];
const R8 = ["al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil"];
const R8H = ["al", "cl", "dl", "bl", "ah", "ch", "dh", "bh"];

function regName(n: number, size: number, rex: number): string {
  if (n >= 8) return `r${n}${size === 8 ? "" : size === 4 ? "d" : size === 2 ? "w" : "b"}`;
  if (size === 8) return R64[n];
  if (size === 4) return R32[n];
  if (size === 2) return R16[n];
  return (rex !== 0 ? R8 : R8H)[n];
}

/** Register names an instruction's explicit operands mention, as the assembler text would. */
function registersOf(d: DecodedInst): string[] {
  const out: string[] = [];
  const f = d.form;
  const parts = f.split(",");
  const opSize = (p: string) =>
    p.endsWith("b") ? 1 : p.endsWith("w") ? 2 : p.endsWith("d") ? 4 : p.endsWith("q") ? 8 : d.size;
  for (const p of parts) {
    if (p.startsWith("G") || p.startsWith("Z")) out.push(regName(d.reg, opSize(p), d.rex));
    else if ((p.startsWith("E") || p.startsWith("R")) && d.rm >= 0) {
      out.push(regName(d.rm, opSize(p), d.rex));
    } else if (["AL", "DX", "CL"].includes(p)) out.push(p.toLowerCase());
    else if (p.startsWith("C")) out.push(`cr${d.reg}`);
    else if (p === "eAX") out.push(d.size === 2 ? "ax" : "eax");
    else if (p === "rAX") out.push(regName(0, d.size, d.rex));
  }
  if (d.mem !== null) {
    if (d.mem.base >= 0) out.push(regName(d.mem.base, 8, 1));
    if (d.mem.index >= 0) out.push(regName(d.mem.index, 8, 1));
    if (d.mem.ripRel) out.push("rip");
  }
  return out.sort();
}

const ALL_REGS = new Set([
  ...R64,
  ...R32,
  ...R16,
  ...R8,
  ...R8H,
  "rip",
  "cr0",
  "cr2",
  "cr3",
  "cr4",
  ...Array.from({ length: 8 }, (_, i) => ["", "d", "w", "b"].map((s) => `r${i + 8}${s}`)).flat(),
]);

function registersInText(asm: string): string[] {
  return (asm.toLowerCase().match(/[a-z][a-z0-9]*/g) ?? []).slice(1).filter((w) => ALL_REGS.has(w))
    .sort();
}

Deno.test("decode() reads back every ISA_FORMS encoding: length, mnemonic, registers", () => {
  assert(ISA_FORMS.length > 100);
  for (const f of ISA_FORMS) {
    const bytes = new Uint8Array(f.bytes);
    // Some forms are short sequences (a branch over nops): decode all of them.
    let off = 0;
    let first: DecodedInst | null = null;
    while (off < bytes.length) {
      const d = decode(bytes, off);
      assert(d !== null, `${f.name}: cannot decode ${f.bytes} at ${off}`);
      first ??= d;
      off += d.len;
    }
    assertEquals(off, bytes.length, f.name);
    const d = first!;
    const asm = f.asm.startsWith(".byte") ? f.name : f.asm;
    let mnemonic = asm.split(/\s+/)[0].replace(/^movabs$/, "mov");
    if (mnemonic === "rep") mnemonic = asm.split(/\s+/)[1];
    assertEquals(d.mnemonic, mnemonic, `${f.name} (${f.asm})`);
    if (!f.asm.startsWith(".byte") && !/\(/.test(f.asm)) {
      assertEquals(registersOf(d), registersInText(f.asm), `${f.name} (${f.asm})`);
    }
  }
});

Deno.test("decode() handles prefixes, REX, SIB special cases and truncation", () => {
  const d = (hex: string) => decode(new Uint8Array(hex.match(/../g)!.map((h) => parseInt(h, 16))));
  // mov rax, [r13 + r12*4 + 0x10]
  const sib = d("4b8b44a510")!;
  assertEquals(sib.mem, { base: 13, index: 12, scale: 4, disp: 0x10, ripRel: false });
  assertEquals(sib.reg, 0);
  // mov rax, [rcx*8 + 0x100] (no base)
  assertEquals(d("488b04cd00010000")!.mem, {
    base: -1,
    index: 1,
    scale: 8,
    disp: 0x100,
    ripRel: false,
  });
  // mov rax, [0x1234] (absolute via SIB)
  assertEquals(d("488b042534120000")!.mem, {
    base: -1,
    index: -1,
    scale: 1,
    disp: 0x1234,
    ripRel: false,
  });
  // mov rax, [rip - 4]
  assertEquals(d("488b05fcffffff")!.mem!.ripRel, true);
  // mov rax, [rsp] needs SIB with index 4 = none
  assertEquals(d("488b0424")!.mem, { base: 4, index: -1, scale: 1, disp: 0, ripRel: false });
  // 66 REX.W: REX.W wins
  assertEquals(d("664801d8")!.size, 8);
  // mov r64, imm64
  const mi = d("48b8efcdab8967452301")!;
  assertEquals([mi.imm, mi.immHi], [0x89abcdef | 0, 0x01234567]);
  // pause, rep stosq
  assertEquals(d("f390")!.mnemonic, "pause");
  assertEquals(d("f348ab")!.mnemonic, "stosq");
  assert(d("f348ab")!.rep);
  // cqo / cdqe / cdq
  assertEquals(d("4899")!.mnemonic, "cqo");
  assertEquals(d("4898")!.mnemonic, "cdqe");
  assertEquals(d("99")!.mnemonic, "cdq");
  // truncated and unsupported
  assertEquals(d("48"), null);
  assertEquals(d("488b"), null);
  assertEquals(d("0f0b"), null, "ud2");
  assertEquals(d("f0480118"), null, "lock");
  assertEquals(d("f348ffc0"), null, "rep on a non-string instruction");
  assertEquals(d("8d c0".replace(" ", "")), null, "lea with a register operand");
  // 15-byte limit: 14 prefixes + nop is 15 bytes, 15 prefixes + nop is too long.
  assertEquals(d("66".repeat(14) + "90")!.len, 15);
  assertEquals(d("66".repeat(15) + "90"), null);
});

Deno.test("OPCODES covers each opcode of guest/ISA.md", () => {
  const have = new Set(OPCODES.map((o) => o.opcode));
  for (let op = 0; op < 0x40; op++) if ((op & 7) < 4) assert(have.has(op), op.toString(16));
  const listed = [0x80, 0x81, 0x83, 0x84, 0x85, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8d, 0x63, 0x68];
  listed.push(0x69, 0x6b, 0xc0, 0xc1, 0xd0, 0xd1, 0xd2, 0xd3, 0xc3, 0xc6, 0xc7, 0xe2, 0xe8, 0xe9);
  listed.push(0xeb, 0xec, 0xed, 0xee, 0xef, 0xe4, 0xe5, 0xe6, 0xe7, 0xf4, 0x90, 0xf6, 0xf7);
  listed.push(0xfa, 0xfb, 0xfe, 0xff, 0x98, 0x99, 0xa4, 0xaa, 0xab, 0xb8);
  listed.push(0x0fb6, 0x0fb7, 0x0fbe, 0x0fbf, 0x0faf, 0x0fa2, 0x0f31, 0x0f20, 0x0f22, 0x0f01);
  listed.push(0x0f30, 0x0f32, 0x0f80, 0x0f8f, 0x70, 0x7f, 0x50, 0x58);
  for (const op of listed) assert(have.has(op), op.toString(16));
});

Deno.test("OPCODES rows: one handler each, one row per opcode and /reg, branches end blocks", () => {
  const seen = new Set<string>();
  for (const o of OPCODES) {
    const name = `${o.opcode.toString(16)}/${o.ext} ${o.mnemonic}`;
    assert((o.emit === null) !== (o.run === null), `${name}: exactly one of emit and run`);
    const key = `${o.opcode}/${o.ext}`;
    assert(!seen.has(key), `${name}: a second row for the same opcode and /reg`);
    seen.add(key);
    if (o.branch !== null) assert(o.ends && o.emit !== null, `${name}: a branch ends its block`);
    if (o.f3 === "rep") assert(o.run !== null, `${name}: rep string ops run alone`);
  }
  // A group opcode has only /reg rows, a plain opcode only its -1 row.
  const plain = new Set(OPCODES.filter((o) => o.ext < 0).map((o) => o.opcode));
  for (const o of OPCODES) {
    if (o.ext >= 0) assert(!plain.has(o.opcode), `${o.opcode.toString(16)} mixes group and plain`);
  }
});
