/**
 * `ISA_FORMS` entries of the arithmetic family (`guest/asm/arith.ts`). The
 * eight ALU operations and the five shifts share their forms, so one
 * representative per form and operation is made from a table of `/n`
 * extensions (the opcode rules of the SDM: ALU `r/m, r` is n*8+1, `r, r/m`
 * n*8+3, immediates 80/81/83 with ModRM.reg = n; shifts C0/C1, D0/D1, D2/D3
 * with ModRM.reg = n); the forms that differ by operand (widths, extended
 * registers, memory, forced immediates) are listed one by one.
 *
 * @module
 */

import type { AluOp, ShiftOp } from "../assembler.ts";
import { byte, dword, imm, mem, qword, R, word } from "../operands.ts";
import { form, hex2, type IsaForm } from "./form.ts";

/** The ALU operations in the order of their `/n` (the SDM's group 1): n is the index. */
const ALU_OPS: readonly AluOp[] = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"];
const SHIFT_EXT: Readonly<Record<ShiftOp, number>> = { shl: 4, shr: 5, sar: 7, rol: 0, ror: 1 };

/** The seven representative forms of one ALU operation with `/n` = `n`. */
function aluForms(op: AluOp, n: number): IsaForm[] {
  const base = n << 3;
  return [
    form(
      `${op} r/m64, r64`,
      `${op} rcx, rax`,
      `48 ${hex2(base + 1)} c1`,
      (a) => a[op](R.rcx, R.rax),
    ),
    form(
      `${op} r/m8, r8`,
      `${op} byte ptr [rbx], dl`,
      `${hex2(base)} 13`,
      (a) => a[op](mem({ base: R.rbx }), R.dl),
    ),
    form(
      `${op} r64, r/m64`,
      `${op} rax, qword ptr [rsi+8]`,
      `48 ${hex2(base + 3)} 46 08`,
      (a) => a[op](R.rax, mem({ base: R.rsi, disp: 8 })),
    ),
    form(
      `${op} r8, r/m8`,
      `${op} al, byte ptr [rdi]`,
      `${hex2(base + 2)} 07`,
      (a) => a[op](R.al, mem({ base: R.rdi })),
    ),
    form(
      `${op} r/m64, imm8`,
      `${op} rcx, 5`,
      `48 83 ${hex2(0xc1 | base)} 05`,
      (a) => a[op](R.rcx, imm(5)),
    ),
    form(
      `${op} r/m64, imm32`,
      `${op} rdx, 0x12345`,
      `48 81 ${hex2(0xc2 | base)} 45 23 01 00`,
      (a) => a[op](R.rdx, imm(0x12345)),
    ),
    form(
      `${op} r/m8, imm8`,
      `${op} byte ptr [rax], 0x7f`,
      `80 ${hex2(base)} 7f`,
      (a) => a[op](byte({ base: R.rax }), imm(0x7f)),
    ),
  ];
}

/** The six representative forms of one shift or rotate with `/n` = `n`. */
function shiftForms(op: ShiftOp, n: number): IsaForm[] {
  const ext = n << 3;
  return [
    form(
      `${op} r/m64, imm8`,
      `${op} rax, 12`,
      `48 c1 ${hex2(0xc0 | ext)} 0c`,
      (a) => a[op](R.rax, imm(12)),
    ),
    form(
      `${op} r/m64, 1`,
      `${op} rcx, 1`,
      `48 d1 ${hex2(0xc1 | ext)}`,
      (a) => a[op](R.rcx, imm(1)),
    ),
    form(
      `${op} r/m64, cl`,
      `${op} rdx, cl`,
      `48 d3 ${hex2(0xc2 | ext)}`,
      (a) => a[op](R.rdx, R.cl),
    ),
    form(
      `${op} r/m8, imm8`,
      `${op} byte ptr [rax], 3`,
      `c0 ${hex2(ext)} 03`,
      (a) => a[op](byte({ base: R.rax }), imm(3)),
    ),
    form(`${op} r/m8, 1`, `${op} bl, 1`, `d0 ${hex2(0xc3 | ext)}`, (a) => a[op](R.bl, imm(1))),
    form(`${op} r/m8, cl`, `${op} sil, cl`, `40 d2 ${hex2(0xc6 | ext)}`, (a) => a[op](R.sil, R.cl)),
  ];
}

/** The arithmetic and logic forms. */
export const ARITH_FORMS: readonly IsaForm[] = [
  ...ALU_OPS.flatMap((op, n) => aluForms(op, n)),
  form("add r/m32, r32", "add ecx, eax", "01 c1", (a) => a.add(R.ecx, R.eax)),
  form("add r/m16, r16", "add cx, ax", "66 01 c1", (a) => a.add(R.cx, R.ax)),
  form("add r/m32, imm8 (ext)", "add r9d, -1", "41 83 c1 ff", (a) => a.add(R.r9d, imm(-1))),
  form(
    "add r/m16, imm8",
    "add word ptr [rax], 1",
    "66 83 00 01",
    (a) => a.add(word({ base: R.rax }), imm(1)),
  ),
  form("add r/m16, imm16", "add bx, 0x1234", "66 81 c3 34 12", (a) => a.add(R.bx, imm(0x1234))),
  form(
    "add r/m64, imm32 (rax, not 05)",
    ".byte 0x48,0x81,0xc0,0x00,0x10,0x00,0x00",
    "48 81 c0 00 10 00 00",
    (a) => a.add(R.rax, imm(0x1000)),
  ),
  form(
    "add r/m64, imm32 (forced)",
    ".byte 0x48,0x81,0xc1,0x05,0x00,0x00,0x00",
    "48 81 c1 05 00 00 00",
    (a) => a.add(R.rcx, imm(5, 32)),
  ),
  form(
    "cmp m64, imm8",
    "cmp qword ptr [r15+8], 0",
    "49 83 7f 08 00",
    (a) => a.cmp(qword({ base: R.r15, disp: 8 }), imm(0)),
  ),
  form(
    "cmp r/m8, imm8 (al, not 3C)",
    ".byte 0x80,0xf8,0x0a",
    "80 f8 0a",
    (a) => a.cmp(R.al, imm(10)),
  ),
  form(
    "and r/m64, imm32 (negative)",
    "and rcx, -4096",
    "48 81 e1 00 f0 ff ff",
    (a) => a.and(R.rcx, imm(-4096)),
  ),
  form(
    "sub r/m64, imm32 (r12)",
    "sub r12, 0x1000",
    "49 81 ec 00 10 00 00",
    (a) => a.sub(R.r12, imm(0x1000)),
  ),
  form("xor r/m32, r32 (zeroing)", "xor eax, eax", "31 c0", (a) => a.xor(R.eax, R.eax)),
  form("test r/m64, r64", "test rax, rcx", "48 85 c8", (a) => a.test(R.rax, R.rcx)),
  form("test r/m8, r8", "test cl, dl", "84 d1", (a) => a.test(R.cl, R.dl)),
  form(
    "test r/m32, r32",
    "test dword ptr [rax], ebx",
    "85 18",
    (a) => a.test(mem({ base: R.rax }), R.ebx),
  ),
  form(
    "test r/m64, imm32",
    "test rcx, 0x100",
    "48 f7 c1 00 01 00 00",
    (a) => a.test(R.rcx, imm(0x100)),
  ),
  form(
    "test r/m8, imm8",
    "test byte ptr [rsi], 1",
    "f6 06 01",
    (a) => a.test(byte({ base: R.rsi }), imm(1)),
  ),
  form(
    "test r/m64, imm32 (rax, not A9)",
    ".byte 0x48,0xf7,0xc0,0x01,0x00,0x00,0x00",
    "48 f7 c0 01 00 00 00",
    (a) => a.test(R.rax, imm(1)),
  ),
  form("test r/m16, imm16", "test dx, 0x8000", "66 f7 c2 00 80", (a) => a.test(R.dx, imm(0x8000))),
  form("inc r/m64", "inc rax", "48 ff c0", (a) => a.inc(R.rax)),
  form("inc r/m8", "inc byte ptr [rbx]", "fe 03", (a) => a.inc(byte({ base: R.rbx }))),
  form("inc r/m32 (ext)", "inc r8d", "41 ff c0", (a) => a.inc(R.r8d)),
  form("dec r/m64", "dec rcx", "48 ff c9", (a) => a.dec(R.rcx)),
  form("dec r/m8", "dec dl", "fe ca", (a) => a.dec(R.dl)),
  form(
    "dec m64",
    "dec qword ptr [rsp+8]",
    "48 ff 4c 24 08",
    (a) => a.dec(qword({ base: R.rsp, disp: 8 })),
  ),
  form("not r/m64", "not rax", "48 f7 d0", (a) => a.not(R.rax)),
  form("not r/m8", "not byte ptr [rcx]", "f6 11", (a) => a.not(byte({ base: R.rcx }))),
  form("neg r/m64", "neg rdx", "48 f7 da", (a) => a.neg(R.rdx)),
  form("neg r/m32", "neg r11d", "41 f7 db", (a) => a.neg(R.r11d)),
  form("neg r/m8", "neg bl", "f6 db", (a) => a.neg(R.bl)),
  form("mul r/m64", "mul rcx", "48 f7 e1", (a) => a.mul(R.rcx)),
  form("mul r/m32", "mul dword ptr [rax]", "f7 20", (a) => a.mul(dword({ base: R.rax }))),
  form("imul r/m64 (one operand)", "imul rbx", "48 f7 eb", (a) => a.imul(R.rbx)),
  form("div r/m64", "div r9", "49 f7 f1", (a) => a.div(R.r9)),
  form("div r/m16", "div cx", "66 f7 f1", (a) => a.div(R.cx)),
  form("idiv r/m64", "idiv qword ptr [rsi]", "48 f7 3e", (a) => a.idiv(qword({ base: R.rsi }))),
  form("imul r64, r/m64", "imul rax, rcx", "48 0f af c1", (a) => a.imul(R.rax, R.rcx)),
  form(
    "imul r32, m32",
    "imul edx, dword ptr [rbx+4]",
    "0f af 53 04",
    (a) => a.imul(R.edx, mem({ base: R.rbx, disp: 4 })),
  ),
  form(
    "imul r64, r/m64, imm8",
    "imul rax, rdi, 8",
    "48 6b c7 08",
    (a) => a.imul(R.rax, R.rdi, imm(8)),
  ),
  form(
    "imul r64, r/m64, imm32",
    "imul r10, r11, 0x1000",
    "4d 69 d3 00 10 00 00",
    (a) => a.imul(R.r10, R.r11, imm(0x1000)),
  ),
  form(
    "imul r16, r/m16, imm16",
    "imul ax, cx, 0x300",
    "66 69 c1 00 03",
    (a) => a.imul(R.ax, R.cx, imm(0x300)),
  ),
  ...Object.entries(SHIFT_EXT).flatMap(([op, n]) => shiftForms(op as ShiftOp, n)),
  form("shl r/m32, imm8 (ext)", "shl r8d, 4", "41 c1 e0 04", (a) => a.shl(R.r8d, imm(4))),
  form(
    "shr r/m16, cl",
    "shr word ptr [rbx], cl",
    "66 d3 2b",
    (a) => a.shr(word({ base: R.rbx }), R.cl),
  ),
  form(
    "shl r/m64, imm8 1 (forced C1)",
    ".byte 0x48,0xc1,0xe0,0x01",
    "48 c1 e0 01",
    (a) => a.shl(R.rax, imm(1, 8)),
  ),
];
