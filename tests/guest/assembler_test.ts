import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  Assembler,
  byte,
  CONDITIONS,
  imm,
  ISA_FORMS,
  labelImm,
  mem,
  qword,
  R,
} from "../../guest/mod.ts";

function asm(emit: (a: Assembler) => void, origin = 0n): number[] {
  const a = new Assembler();
  emit(a);
  return [...a.assemble(origin).bytes];
}

function hex(bytes: readonly number[]): string {
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

Deno.test("ISA_FORMS: every form assembles to its expected bytes", () => {
  for (const f of ISA_FORMS) {
    assertEquals(hex(asm(f.emit)), hex(f.bytes), `${f.name}: ${f.asm}`);
  }
});

Deno.test("ISA_FORMS: names are unique and every form has bytes", () => {
  const names = new Set(ISA_FORMS.map((f) => f.name));
  assertEquals(names.size, ISA_FORMS.length);
  for (const f of ISA_FORMS) assert(f.bytes.length > 0, f.name);
});

/** Strips legacy prefixes and REX to find the opcode (with 0F escape) of an encoding. */
function opcodeOf(bytes: readonly number[]): string {
  let i = 0;
  while (bytes[i] === 0x66 || bytes[i] === 0xf3) i++;
  if ((bytes[i] & 0xf0) === 0x40) i++;
  if (bytes[i] === 0x0f) return `0f ${bytes[i + 1].toString(16).padStart(2, "0")}`;
  return bytes[i].toString(16).padStart(2, "0");
}

Deno.test("ISA_FORMS: covers every opcode of guest/ISA.md", () => {
  const seen = new Set(ISA_FORMS.map((f) => opcodeOf(f.bytes)));
  const required: string[] = [];
  for (let op = 0; op < 8; op++) {
    for (let form = 0; form < 4; form++) {
      required.push((op * 8 + form).toString(16).padStart(2, "0"));
    }
  }
  required.push(
    ..."80 81 83 84 85 f6 f7 fe ff 6b 69 c0 c1 d0 d1 d2 d3 99 98".split(" "),
    ..."88 89 8a 8b c6 c7 63 8d 87 68 eb e9 e8 c3 e2".split(" "),
    ..."ec ed ee ef e4 e5 e6 e7 f4 90 fa fb aa ab a4".split(" "),
    ..."0f b6 0f b7 0f be 0f bf 0f af 0f a2 0f 31 0f 20 0f 22 0f 01 0f 30 0f 32".match(/0f ../g)!,
  );
  for (let r = 0; r < 8; r++) required.push((0xb8 + r).toString(16));
  for (let cc = 0; cc < 16; cc++) {
    required.push((0x70 + cc).toString(16), `0f ${(0x80 + cc).toString(16)}`);
  }
  for (const op of required) {
    if (op.startsWith("b8") || /^b[9-f]$/.test(op)) continue; // B8+r: checked below
    assert(seen.has(op), `no ISA form uses opcode ${op}`);
  }
  assert([...seen].some((s) => /^b[8-f]$/.test(s)), "no mov r, imm (B8+r) form");
  assert([...seen].some((s) => /^5[0-7]$/.test(s)), "no push r64 (50+r) form");
  assert([...seen].some((s) => /^5[8-f]$/.test(s)), "no pop r64 (58+r) form");
  // pause and the rep forms keep their F3 prefix.
  for (const want of ["f3 90", "f3 aa", "f3 48 ab", "f3 a4"]) {
    assert(ISA_FORMS.some((f) => hex(f.bytes) === want), `missing ${want}`);
  }
});

Deno.test("Assembler chooses rel8 when the target is in reach, rel32 otherwise", () => {
  const near = asm((a) => {
    a.label("top");
    for (let i = 0; i < 100; i++) a.nop();
    a.jmp("top");
  });
  assertEquals(near.slice(100), [0xeb, (256 - 102) & 0xff]);
  const far = asm((a) => {
    a.label("top");
    for (let i = 0; i < 200; i++) a.nop();
    a.jcc("ne", "top");
  });
  // 0F 85 rel32: -(200 + 6)
  assertEquals(far.slice(200), [0x0f, 0x85, ...le32(-206)]);
});

Deno.test("Assembler grows a forward branch when code in between grows", () => {
  // 126 bytes in between still reach with rel8; 128 do not, so the jmp becomes E9 rel32.
  const bytes = asm((a) => {
    a.jmp("end");
    a.space(126);
    a.label("end");
    a.hlt();
  });
  assertEquals(bytes.slice(0, 2), [0xeb, 126]);
  const longer = asm((a) => {
    a.jmp("end");
    a.space(128);
    a.label("end");
    a.hlt();
  });
  assertEquals(longer.slice(0, 5), [0xe9, ...le32(128)]);
});

Deno.test("Assembler rejects a forced rel8 out of reach", () => {
  assertThrows(
    () =>
      asm((a) => {
        a.label("top");
        a.space(300);
        a.jmp("top", "rel8");
      }),
    RangeError,
    "rel8",
  );
  assertThrows(
    () =>
      asm((a) => {
        a.label("top");
        a.space(300);
        a.loop("top");
      }),
    RangeError,
  );
});

Deno.test("Assembler resolves labels at the origin", () => {
  const a = new Assembler();
  a.mov(R.rax, imm(0x1000));
  a.label("loop");
  a.mov(mem({ base: R.rax }), R.rbx);
  a.add(R.rax, imm(4096));
  a.cmp(R.rax, R.rcx);
  a.jcc("b", "loop");
  a.out_dx_eax();
  a.hlt();
  const { bytes, labels } = a.assemble(0x8000n);
  assertEquals(labels.get("loop"), 0x8007n);
  assertEquals(
    hex([...bytes]),
    "48 c7 c0 00 10 00 00 48 89 18 48 81 c0 00 10 00 00 48 39 c8 72 f1 ef f4",
  );
});

Deno.test("Assembler: rip-relative label operands, label immediates, strings, data", () => {
  const a = new Assembler();
  const msg = a.cstring("pass");
  assertEquals(a.cstring("pass"), msg); // interned once
  a.lea(R.rax, mem({ label: msg }));
  a.mov(R.rbx, mem({ label: "data", disp: 8 }));
  a.mov(R.rcx, labelImm("data"));
  a.align(8, 0);
  a.label("data");
  a.dq(0x1122334455667788n, labelImm("data", 4n));
  const { bytes, labels } = a.assemble(0x1000n);
  const data = labels.get("data")!;
  const str = labels.get(msg)!;
  // lea rax, [rip + (str - 0x1007)]
  assertEquals([...bytes.slice(0, 3)], [0x48, 0x8d, 0x05]);
  assertEquals(readLe(bytes, 3, 4), str - 0x1007n);
  // mov rbx, [rip + data + 8 - 0x100e]
  assertEquals([...bytes.slice(7, 10)], [0x48, 0x8b, 0x1d]);
  assertEquals(readLe(bytes, 10, 4), data + 8n - 0x100en);
  // movabs rcx, data
  assertEquals([...bytes.slice(14, 16)], [0x48, 0xb9]);
  assertEquals(readLe(bytes, 16, 8), data);
  assertEquals(data % 8n, 0n);
  const at = Number(data - 0x1000n);
  assertEquals(readLe(bytes, at, 8), 0x1122334455667788n);
  assertEquals(readLe(bytes, at + 8, 8), data + 4n);
  // The pool comes last: "pass\0".
  assertEquals([...bytes.slice(Number(str - 0x1000n))], [0x70, 0x61, 0x73, 0x73, 0]);
});

Deno.test("Assembler: db/dw/dd/asciz emit little-endian data", () => {
  assertEquals(
    asm((a) => {
      a.db(1, 0xff);
      a.dw(0x1234);
      a.dd(0xdeadbeef);
      a.asciz("hi");
    }),
    [1, 0xff, 0x34, 0x12, 0xef, 0xbe, 0xad, 0xde, 0x68, 0x69, 0],
  );
});

Deno.test("Assembler: all 16 condition codes encode as 70+cc", () => {
  const codes = new Set(Object.values(CONDITIONS));
  assertEquals(codes.size, 16);
  assertEquals(
    asm((a) => {
      a.label("t");
      a.jcc("nz", "t");
    }),
    [0x75, 0xfe],
  );
  assertEquals(
    asm((a) => {
      a.label("t");
      a.jcc("nle", "t");
    }),
    [0x7f, 0xfe],
  );
});

Deno.test("Assembler rejects operands outside the subset", () => {
  const a = new Assembler();
  assertThrows(() => mem({ base: R.rax, index: R.rsp }), RangeError, "rsp");
  assertThrows(() => mem({ base: R.eax }), RangeError, "64-bit");
  assertThrows(() => mem({ disp: 2 ** 31 }), RangeError);
  assertThrows(() => a.mov(R.rax, R.ecx), TypeError, "sizes");
  assertThrows(() => a.mov(mem({ base: R.rax }), mem({ base: R.rbx })), TypeError);
  assertThrows(() => a.add(mem({ base: R.rax }), imm(1)), TypeError, "width");
  assertThrows(() => a.add(R.rax, imm(0x80000000)), RangeError);
  assertThrows(() => a.mov(byte({ base: R.rax }), imm(256)), RangeError);
  assertThrows(() => a.shl(R.rax, R.cx), TypeError);
  assertThrows(() => a.in(R.rax, R.dx), TypeError);
  assertThrows(() => a.out(R.cx, R.al), TypeError);
  assertThrows(() => a.mul(R.al), TypeError);
  assertThrows(() => a.push(R.eax), TypeError);
  assertThrows(() => a.movzx(R.al, R.cl), TypeError);
  a.label("x");
  assertThrows(() => a.label("x"), RangeError, "redefine");
  const b = new Assembler();
  b.jmp("nowhere");
  assertThrows(() => b.assemble(), RangeError, "nowhere");
});

Deno.test("Assembler: mov r64, imm picks C7 for imm32 and B8+r for imm64", () => {
  assertEquals(hex(asm((a) => a.mov(R.rax, imm(-2)))), "48 c7 c0 fe ff ff ff");
  assertEquals(hex(asm((a) => a.mov(R.rax, imm(0x80000000)))), "48 b8 00 00 00 80 00 00 00 00");
  assertEquals(
    hex(asm((a) => a.mov(R.r8, imm(0xffffffffffffffffn)))),
    "49 c7 c0 ff ff ff ff",
  );
  assertEquals(
    hex(asm((a) => a.mov(qword({ base: R.r15, disp: 16 }), imm(-1)))),
    "49 c7 47 10 ff ff ff ff",
  );
});

function le32(v: number): number[] {
  return [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff];
}

function readLe(bytes: Uint8Array, at: number, size: number): bigint {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i]);
  return size === 4 ? BigInt.asIntN(32, v) : v;
}
