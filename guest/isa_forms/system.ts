/**
 * `ISA_FORMS` entries of control flow, port I/O and system instructions
 * (`guest/asm/system.ts`): indirect and relative branches (every `jcc`
 * condition in rel8 and rel32, each branching to itself), `in`/`out`,
 * `invlpg`, and the instructions without operands.
 *
 * @module
 */

import type { NoOperandOp } from "../assembler.ts";
import { type Cond, imm, mem, qword, R } from "../operands.ts";
import { form, hex2, type IsaForm } from "./form.ts";

/** The instructions without operands and their bytes (`rep_stosb` is `rep stosb`). */
const NO_OPERAND_BYTES: readonly (readonly [NoOperandOp, string])[] = [
  ["cqo", "48 99"],
  ["cdqe", "48 98"],
  ["ret", "c3"],
  ["hlt", "f4"],
  ["nop", "90"],
  ["pause", "f3 90"],
  ["cpuid", "0f a2"],
  ["rdtsc", "0f 31"],
  ["wrmsr", "0f 30"],
  ["rdmsr", "0f 32"],
  ["cli", "fa"],
  ["sti", "fb"],
  ["rep_stosb", "f3 aa"],
  ["rep_stosq", "f3 48 ab"],
  ["rep_movsb", "f3 a4"],
];

/** `jcc` to itself: rel8 is 70+cc fe, rel32 is 0f 80+cc with -6. */
function jccForms(cond: Cond, cc: number): IsaForm[] {
  const self = (size: "rel8" | "rel32") => (a: Parameters<IsaForm["emit"]>[0]) => {
    a.label("t");
    a.jcc(cond, "t", size);
  };
  return [
    form(`j${cond} rel8`, `j${cond} .-0 (rel8, to itself)`, `${hex2(0x70 + cc)} fe`, self("rel8")),
    form(
      `j${cond} rel32`,
      `j${cond} near (rel32, to itself)`,
      `0f ${hex2(0x80 + cc)} fa ff ff ff`,
      self("rel32"),
    ),
  ];
}

/** The SDM's names of the 16 conditions in cc order (the index is cc; the assembler also takes aliases). */
const SDM_CONDITIONS = "o no b ae e ne be a s ns p np l ge le g".split(" ") as Cond[];

/** The control-flow, I/O and system forms. */
export const SYSTEM_FORMS: readonly IsaForm[] = [
  form("jmp r/m64", "jmp rax", "ff e0", (a) => a.jmp(R.rax)),
  form("jmp r/m64 (ext)", "jmp r11", "41 ff e3", (a) => a.jmp(R.r11)),
  form(
    "jmp m64",
    "jmp qword ptr [rbx+8]",
    "ff 63 08",
    (a) => a.jmp(qword({ base: R.rbx, disp: 8 })),
  ),
  form("call r/m64", "call rcx", "ff d1", (a) => a.call(R.rcx)),
  form(
    "call m64",
    "call qword ptr [rip+0x20]",
    "ff 15 20 00 00 00",
    (a) => a.call(mem({ rip: true, disp: 0x20, width: 64 })),
  ),
  form("in al, dx", "in al, dx", "ec", (a) => a.in(R.al, R.dx)),
  form("in ax, dx", "in ax, dx", "66 ed", (a) => a.in(R.ax, R.dx)),
  form("in eax, dx", "in eax, dx", "ed", (a) => a.in(R.eax, R.dx)),
  form("in al, imm8", "in al, 0x60", "e4 60", (a) => a.in(R.al, imm(0x60))),
  form("in eax, imm8", "in eax, 0x71", "e5 71", (a) => a.in(R.eax, imm(0x71))),
  form("out dx, al", "out dx, al", "ee", (a) => a.out(R.dx, R.al)),
  form("out dx, ax", "out dx, ax", "66 ef", (a) => a.out(R.dx, R.ax)),
  form("out dx, eax", "out dx, eax", "ef", (a) => a.out(R.dx, R.eax)),
  form("out imm8, al", "out 0x80, al", "e6 80", (a) => a.out(imm(0x80), R.al)),
  form("out imm8, eax", "out 0xf4, eax", "e7 f4", (a) => a.out(imm(0xf4), R.eax)),
  form("invlpg m", "invlpg [rax]", "0f 01 38", (a) => a.invlpg(mem({ base: R.rax }))),
  form(
    "invlpg m (ext base, disp)",
    "invlpg [r10+0x1000]",
    "41 0f 01 ba 00 10 00 00",
    (a) => a.invlpg(mem({ base: R.r10, disp: 0x1000 })),
  ),
  ...NO_OPERAND_BYTES.map(([op, bytes]) => {
    const asm = op.replace("_", " ");
    return form(asm, asm, bytes, (a) => a[op]());
  }),
  ...SDM_CONDITIONS.flatMap((cond, cc) => jccForms(cond, cc)),
  form("jmp rel8", "jmp (rel8, to itself)", "eb fe", (a) => {
    a.label("t");
    a.jmp("t", "rel8");
  }),
  form("jmp rel32", "jmp near (rel32, to itself)", "e9 fb ff ff ff", (a) => {
    a.label("t");
    a.jmp("t", "rel32");
  }),
  form("jmp rel8 forward", "jmp +0 (next instruction)", "eb 00", (a) => {
    a.jmp("t");
    a.label("t");
  }),
  form("call rel32", "call +0 (next instruction)", "e8 00 00 00 00", (a) => {
    a.call("t");
    a.label("t");
  }),
  form("loop rel8", "loop (to itself)", "e2 fe", (a) => {
    a.label("t");
    a.loop("t");
  }),
];
