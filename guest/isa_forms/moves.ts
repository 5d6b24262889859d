/**
 * `ISA_FORMS` entries of the data-movement family (`guest/asm/moves.ts`):
 * `mov` in every operand kind and addressing mode (the ModRM/SIB/REX rules:
 * rsp/r12 and rbp/r13 bases, no-base SIB, `[disp32]`, RIP-relative, byte
 * registers that need REX), immediates, control registers, `movzx`/`movsx`/
 * `movsxd`, `lea`, `xchg`, `push`, `pop`.
 *
 * @module
 */

import { byte, CR, dword, imm, mem, type MemOptions, qword, R, word } from "../operands.ts";
import { form, type IsaForm } from "./form.ts";

/**
 * `mov rax, qword ptr [m]` in every addressing mode: the form, the memory
 * operand as Intel syntax writes it, the expected bytes, and the operand.
 */
const ADDRESSING: readonly (readonly [string, string, string, MemOptions])[] = [
  ["[base+disp8]", "[rcx+0x10]", "48 8b 41 10", { base: R.rcx, disp: 0x10 }],
  ["[base-disp8]", "[rcx-8]", "48 8b 41 f8", { base: R.rcx, disp: -8 }],
  ["[base+disp32]", "[rdx+0x12345678]", "48 8b 82 78 56 34 12", { base: R.rdx, disp: 0x12345678 }],
  ["[rsp] needs SIB", "[rsp]", "48 8b 04 24", { base: R.rsp }],
  ["[rsp+disp8]", "[rsp+8]", "48 8b 44 24 08", { base: R.rsp, disp: 8 }],
  ["[r12] needs SIB", "[r12]", "49 8b 04 24", { base: R.r12 }],
  ["[r12+disp32]", "[r12+0x1000]", "49 8b 84 24 00 10 00 00", { base: R.r12, disp: 0x1000 }],
  ["[rbp] needs disp8 0", "[rbp+0]", "48 8b 45 00", { base: R.rbp }],
  ["[rbp+disp8]", "[rbp+8]", "48 8b 45 08", { base: R.rbp, disp: 8 }],
  ["[r13] needs disp8 0", "[r13+0]", "49 8b 45 00", { base: R.r13 }],
  ["[r13+disp32]", "[r13+0x200]", "49 8b 85 00 02 00 00", { base: R.r13, disp: 0x200 }],
  ["[base+index*8]", "[rax+rcx*8]", "48 8b 04 c8", { base: R.rax, index: R.rcx, scale: 8 }],
  ["[base+index*1+disp8]", "[rbx+rdx*1+4]", "48 8b 44 13 04", {
    base: R.rbx,
    index: R.rdx,
    scale: 1,
    disp: 4,
  }],
  ["[rsp+index*2+disp32]", "[rsp+rax*2+0x1000]", "48 8b 84 44 00 10 00 00", {
    base: R.rsp,
    index: R.rax,
    scale: 2,
    disp: 0x1000,
  }],
  ["[r12+r13*4]", "[r12+r13*4]", "4b 8b 04 ac", { base: R.r12, index: R.r13, scale: 4 }],
  ["[rbp+r12*8] (r12 index)", "[rbp+r12*8+0]", "4a 8b 44 e5 00", {
    base: R.rbp,
    index: R.r12,
    scale: 8,
  }],
  ["[r13+index] needs disp8 0", "[r13+rcx*1+0]", "49 8b 44 0d 00", { base: R.r13, index: R.rcx }],
  ["[index*scale+disp32] (no base)", "[rcx*4+0x100]", "48 8b 04 8d 00 01 00 00", {
    index: R.rcx,
    scale: 4,
    disp: 0x100,
  }],
  ["[r9*8+disp32] (no base, REX.X)", "[r9*8+0x2000]", "4a 8b 04 cd 00 20 00 00", {
    index: R.r9,
    scale: 8,
    disp: 0x2000,
  }],
  ["[rip+disp32]", "[rip+0x10]", "48 8b 05 10 00 00 00", { rip: true, disp: 0x10 }],
];

/** The data-movement forms. */
export const MOVE_FORMS: readonly IsaForm[] = [
  form("mov r/m64, r64", "mov rcx, rax", "48 89 c1", (a) => a.mov(R.rcx, R.rax)),
  form("mov r/m32, r32", "mov ecx, eax", "89 c1", (a) => a.mov(R.ecx, R.eax)),
  form("mov r/m16, r16", "mov cx, ax", "66 89 c1", (a) => a.mov(R.cx, R.ax)),
  form("mov r/m8, r8", "mov cl, al", "88 c1", (a) => a.mov(R.cl, R.al)),
  form(
    "mov r/m8, r8 (sil needs REX)",
    "mov byte ptr [rbx], sil",
    "40 88 33",
    (a) => a.mov(mem({ base: R.rbx }), R.sil),
  ),
  form("mov r/m8, r8 (r8b/dil)", "mov r8b, dil", "41 88 f8", (a) => a.mov(R.r8b, R.dil)),
  form("mov r/m64, r64 (ext regs)", "mov r9, r15", "4d 89 f9", (a) => a.mov(R.r9, R.r15)),
  form(
    "mov m64, r64",
    "mov qword ptr [rax], rbx",
    "48 89 18",
    (a) => a.mov(mem({ base: R.rax }), R.rbx),
  ),
  form(
    "mov m32, r32",
    "mov dword ptr [rdi+8], ecx",
    "89 4f 08",
    (a) => a.mov(mem({ base: R.rdi, disp: 8 }), R.ecx),
  ),
  form(
    "mov m16, r16",
    "mov word ptr [rsi+0x1234], dx",
    "66 89 96 34 12 00 00",
    (a) => a.mov(mem({ base: R.rsi, disp: 0x1234 }), R.dx),
  ),
  form(
    "mov r64, m64",
    "mov rax, qword ptr [rbx]",
    "48 8b 03",
    (a) => a.mov(R.rax, mem({ base: R.rbx })),
  ),
  form(
    "mov r32, m32",
    "mov r10d, dword ptr [r11]",
    "45 8b 13",
    (a) => a.mov(R.r10d, mem({ base: R.r11 })),
  ),
  form(
    "mov r16, m16",
    "mov ax, word ptr [rcx]",
    "66 8b 01",
    (a) => a.mov(R.ax, mem({ base: R.rcx })),
  ),
  form("mov r8, m8", "mov dl, byte ptr [rsi]", "8a 16", (a) => a.mov(R.dl, mem({ base: R.rsi }))),
  form(
    "mov r8, m8 (REX for dil)",
    "mov dil, byte ptr [rax]",
    "40 8a 38",
    (a) => a.mov(R.dil, mem({ base: R.rax })),
  ),
  ...ADDRESSING.map(([name, operand, hex, spec]) =>
    form(name, `mov rax, qword ptr ${operand}`, hex, (a) => a.mov(R.rax, mem(spec)))
  ),
  form(
    "[r8+r9*2-8]",
    "mov r10, qword ptr [r8+r9*2-8]",
    "4f 8b 54 48 f8",
    (a) => a.mov(R.r10, mem({ base: R.r8, index: R.r9, scale: 2, disp: -8 })),
  ),
  form(
    "[disp32] absolute via SIB",
    "mov rax, qword ptr ds:0x1000",
    "48 8b 04 25 00 10 00 00",
    (a) => a.mov(R.rax, mem({ disp: 0x1000 })),
  ),
  form(
    "mov r32, imm32 (B8+r)",
    "mov eax, 0x12345678",
    "b8 78 56 34 12",
    (a) => a.mov(R.eax, imm(0x12345678)),
  ),
  form(
    "mov r32, imm32 (ext reg)",
    "mov r9d, 0x1000",
    "41 b9 00 10 00 00",
    (a) => a.mov(R.r9d, imm(0x1000)),
  ),
  form(
    "mov r64, imm64 (REX.W B8+r)",
    "movabs rcx, 0x123456789abcdef0",
    "48 b9 f0 de bc 9a 78 56 34 12",
    (a) => a.mov(R.rcx, imm(0x123456789abcdef0n)),
  ),
  form(
    "mov r64, imm64 (ext reg)",
    "movabs r15, 0x100000000",
    "49 bf 00 00 00 00 01 00 00 00",
    (a) => a.mov(R.r15, imm(0x100000000n)),
  ),
  form(
    "mov r64, imm64 (forced)",
    "movabs rax, 0x1000",
    "48 b8 00 10 00 00 00 00 00 00",
    (a) => a.mov(R.rax, imm(0x1000, 64)),
  ),
  form(
    "mov r/m64, imm32 (C7, sign-extended)",
    "mov rax, 0x1000",
    "48 c7 c0 00 10 00 00",
    (a) => a.mov(R.rax, imm(0x1000)),
  ),
  form(
    "mov r/m64, imm32 negative",
    "mov rcx, -1",
    "48 c7 c1 ff ff ff ff",
    (a) => a.mov(R.rcx, imm(-1)),
  ),
  form(
    "mov m64, imm32",
    "mov qword ptr [r15], 2",
    "49 c7 07 02 00 00 00",
    (a) => a.mov(qword({ base: R.r15 }), imm(2)),
  ),
  form(
    "mov m32, imm32",
    "mov dword ptr [rax+4], 0x12345678",
    "c7 40 04 78 56 34 12",
    (a) => a.mov(dword({ base: R.rax, disp: 4 }), imm(0x12345678)),
  ),
  form(
    "mov r/m16, imm16",
    "mov word ptr [rax], 0x1234",
    "66 c7 00 34 12",
    (a) => a.mov(word({ base: R.rax }), imm(0x1234)),
  ),
  form(
    "mov r16, imm16 (66 C7 /0)",
    ".byte 0x66,0xc7,0xc2,0x00,0x10",
    "66 c7 c2 00 10",
    (a) => a.mov(R.dx, imm(0x1000)),
  ),
  form(
    "mov r/m8, imm8 (C6 /0)",
    "mov byte ptr [rax], 0x5a",
    "c6 00 5a",
    (a) => a.mov(byte({ base: R.rax }), imm(0x5a)),
  ),
  form("mov r8, imm8 (C6 /0)", ".byte 0xc6,0xc0,0x7f", "c6 c0 7f", (a) => a.mov(R.al, imm(0x7f))),
  form(
    "movzx r32, r/m8",
    "movzx eax, byte ptr [rsi]",
    "0f b6 06",
    (a) => a.movzx(R.eax, byte({ base: R.rsi })),
  ),
  form("movzx r64, r8", "movzx rax, cl", "48 0f b6 c1", (a) => a.movzx(R.rax, R.cl)),
  form(
    "movzx r32, r/m16",
    "movzx ecx, word ptr [rdi]",
    "0f b7 0f",
    (a) => a.movzx(R.ecx, word({ base: R.rdi })),
  ),
  form("movzx r64, r16", "movzx r8, dx", "4c 0f b7 c2", (a) => a.movzx(R.r8, R.dx)),
  form(
    "movsx r64, r/m8",
    "movsx rax, byte ptr [rbx]",
    "48 0f be 03",
    (a) => a.movsx(R.rax, byte({ base: R.rbx })),
  ),
  form("movsx r32, r8 (sil)", "movsx eax, sil", "40 0f be c6", (a) => a.movsx(R.eax, R.sil)),
  form(
    "movsx r64, r/m16",
    "movsx rdx, word ptr [rcx+2]",
    "48 0f bf 51 02",
    (a) => a.movsx(R.rdx, word({ base: R.rcx, disp: 2 })),
  ),
  form("movsxd r64, r/m32", "movsxd rax, ecx", "48 63 c1", (a) => a.movsxd(R.rax, R.ecx)),
  form(
    "movsxd r64, m32",
    "movsxd r11, dword ptr [rsp+4]",
    "4c 63 5c 24 04",
    (a) => a.movsxd(R.r11, dword({ base: R.rsp, disp: 4 })),
  ),
  form(
    "lea r64, m",
    "lea rax, [rbx+rcx*8+0x10]",
    "48 8d 44 cb 10",
    (a) => a.lea(R.rax, mem({ base: R.rbx, index: R.rcx, scale: 8, disp: 0x10 })),
  ),
  form(
    "lea r64, [rip+disp32]",
    "lea rsi, [rip+0x100]",
    "48 8d 35 00 01 00 00",
    (a) => a.lea(R.rsi, mem({ rip: true, disp: 0x100 })),
  ),
  form(
    "lea r32, m",
    "lea eax, [rdi+1]",
    "8d 47 01",
    (a) => a.lea(R.eax, mem({ base: R.rdi, disp: 1 })),
  ),
  form(
    "xchg r/m64, r64",
    "xchg qword ptr [rax], rcx",
    "48 87 08",
    (a) => a.xchg(mem({ base: R.rax }), R.rcx),
  ),
  form("xchg r/m32, r32", ".byte 0x87,0xd1", "87 d1", (a) => a.xchg(R.ecx, R.edx)),
  form(
    "xchg r/m64, r64 (rax, no 90+r)",
    ".byte 0x48,0x87,0xc8",
    "48 87 c8",
    (a) => a.xchg(R.rax, R.rcx),
  ),
  form("push r64", "push rbx", "53", (a) => a.push(R.rbx)),
  form("push r64 (ext)", "push r12", "41 54", (a) => a.push(R.r12)),
  form("pop r64", "pop rbp", "5d", (a) => a.pop(R.rbp)),
  form("pop r64 (ext)", "pop r15", "41 5f", (a) => a.pop(R.r15)),
  form("push imm32", "push 0x12345678", "68 78 56 34 12", (a) => a.push(imm(0x12345678))),
  form("mov r64, cr0", "mov rax, cr0", "0f 20 c0", (a) => a.mov(R.rax, CR.cr0)),
  form("mov r64, cr2", "mov rbx, cr2", "0f 20 d3", (a) => a.mov(R.rbx, CR.cr2)),
  form("mov r64, cr3", "mov r9, cr3", "41 0f 20 d9", (a) => a.mov(R.r9, CR.cr3)),
  form("mov r64, cr4", "mov rcx, cr4", "0f 20 e1", (a) => a.mov(R.rcx, CR.cr4)),
  form("mov cr0, r64", "mov cr0, rax", "0f 22 c0", (a) => a.mov(CR.cr0, R.rax)),
  form("mov cr3, r64", "mov cr3, rdx", "0f 22 da", (a) => a.mov(CR.cr3, R.rdx)),
  form("mov cr3, r64 (ext)", "mov cr3, r8", "41 0f 22 d8", (a) => a.mov(CR.cr3, R.r8)),
  form("mov cr4, r64", "mov cr4, rcx", "0f 22 e1", (a) => a.mov(CR.cr4, R.rcx)),
  form(
    "lea r64, [rip+label]",
    "lea rax, [rip+0] (label right after)",
    "48 8d 05 00 00 00 00",
    (a) => {
      a.lea(R.rax, mem({ label: "t" }));
      a.label("t");
    },
  ),
];
