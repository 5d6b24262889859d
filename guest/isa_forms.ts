/**
 * One representative of every instruction form of `guest/ISA.md`, with the
 * exact bytes the assembler must emit, as data: the assembler's tests check
 * the bytes, and the emulator's decoder tests can assemble each form and
 * check that the decoder reads it back (length and operands).
 *
 * The expected bytes were cross-checked against GNU as 2.x (`as --64`,
 * Intel syntax) and `objdump -M intel`. Where the subset deliberately avoids
 * a shorter encoding gas would choose (accumulator forms `05`/`3C`/`A9`,
 * `B0+r`, `90+r` xchg), the `asm` text is a `.byte` line or a description.
 *
 * @module
 */

import type { Assembler } from "./assembler.ts";
import { byte, CR, dword, imm, mem, qword, R, word } from "./operands.ts";

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

function form(name: string, asm: string, hex: string, emit: (a: Assembler) => void): IsaForm {
  const bytes = hex.split(" ").filter((s) => s !== "").map((s) => parseInt(s, 16));
  return Object.freeze({ name, asm, emit, bytes: Object.freeze(bytes) });
}

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
export const ISA_FORMS: readonly IsaForm[] = [
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
  form(
    "[base+disp8]",
    "mov rax, qword ptr [rcx+0x10]",
    "48 8b 41 10",
    (a) => a.mov(R.rax, mem({ base: R.rcx, disp: 0x10 })),
  ),
  form(
    "[base-disp8]",
    "mov rax, qword ptr [rcx-8]",
    "48 8b 41 f8",
    (a) => a.mov(R.rax, mem({ base: R.rcx, disp: -8 })),
  ),
  form(
    "[base+disp32]",
    "mov rax, qword ptr [rdx+0x12345678]",
    "48 8b 82 78 56 34 12",
    (a) => a.mov(R.rax, mem({ base: R.rdx, disp: 0x12345678 })),
  ),
  form(
    "[rsp] needs SIB",
    "mov rax, qword ptr [rsp]",
    "48 8b 04 24",
    (a) => a.mov(R.rax, mem({ base: R.rsp })),
  ),
  form(
    "[rsp+disp8]",
    "mov rax, qword ptr [rsp+8]",
    "48 8b 44 24 08",
    (a) => a.mov(R.rax, mem({ base: R.rsp, disp: 8 })),
  ),
  form(
    "[r12] needs SIB",
    "mov rax, qword ptr [r12]",
    "49 8b 04 24",
    (a) => a.mov(R.rax, mem({ base: R.r12 })),
  ),
  form(
    "[r12+disp32]",
    "mov rax, qword ptr [r12+0x1000]",
    "49 8b 84 24 00 10 00 00",
    (a) => a.mov(R.rax, mem({ base: R.r12, disp: 0x1000 })),
  ),
  form(
    "[rbp] needs disp8 0",
    "mov rax, qword ptr [rbp+0]",
    "48 8b 45 00",
    (a) => a.mov(R.rax, mem({ base: R.rbp })),
  ),
  form(
    "[rbp+disp8]",
    "mov rax, qword ptr [rbp+8]",
    "48 8b 45 08",
    (a) => a.mov(R.rax, mem({ base: R.rbp, disp: 8 })),
  ),
  form(
    "[r13] needs disp8 0",
    "mov rax, qword ptr [r13+0]",
    "49 8b 45 00",
    (a) => a.mov(R.rax, mem({ base: R.r13 })),
  ),
  form(
    "[r13+disp32]",
    "mov rax, qword ptr [r13+0x200]",
    "49 8b 85 00 02 00 00",
    (a) => a.mov(R.rax, mem({ base: R.r13, disp: 0x200 })),
  ),
  form(
    "[base+index*8]",
    "mov rax, qword ptr [rax+rcx*8]",
    "48 8b 04 c8",
    (a) => a.mov(R.rax, mem({ base: R.rax, index: R.rcx, scale: 8 })),
  ),
  form(
    "[base+index*1+disp8]",
    "mov rax, qword ptr [rbx+rdx*1+4]",
    "48 8b 44 13 04",
    (a) => a.mov(R.rax, mem({ base: R.rbx, index: R.rdx, scale: 1, disp: 4 })),
  ),
  form(
    "[rsp+index*2+disp32]",
    "mov rax, qword ptr [rsp+rax*2+0x1000]",
    "48 8b 84 44 00 10 00 00",
    (a) => a.mov(R.rax, mem({ base: R.rsp, index: R.rax, scale: 2, disp: 0x1000 })),
  ),
  form(
    "[r12+r13*4]",
    "mov rax, qword ptr [r12+r13*4]",
    "4b 8b 04 ac",
    (a) => a.mov(R.rax, mem({ base: R.r12, index: R.r13, scale: 4 })),
  ),
  form(
    "[rbp+r12*8] (r12 index)",
    "mov rax, qword ptr [rbp+r12*8+0]",
    "4a 8b 44 e5 00",
    (a) => a.mov(R.rax, mem({ base: R.rbp, index: R.r12, scale: 8 })),
  ),
  form(
    "[r13+index] needs disp8 0",
    "mov rax, qword ptr [r13+rcx*1+0]",
    "49 8b 44 0d 00",
    (a) => a.mov(R.rax, mem({ base: R.r13, index: R.rcx })),
  ),
  form(
    "[r8+r9*2-8]",
    "mov r10, qword ptr [r8+r9*2-8]",
    "4f 8b 54 48 f8",
    (a) => a.mov(R.r10, mem({ base: R.r8, index: R.r9, scale: 2, disp: -8 })),
  ),
  form(
    "[index*scale+disp32] (no base)",
    "mov rax, qword ptr [rcx*4+0x100]",
    "48 8b 04 8d 00 01 00 00",
    (a) => a.mov(R.rax, mem({ index: R.rcx, scale: 4, disp: 0x100 })),
  ),
  form(
    "[r9*8+disp32] (no base, REX.X)",
    "mov rax, qword ptr [r9*8+0x2000]",
    "4a 8b 04 cd 00 20 00 00",
    (a) => a.mov(R.rax, mem({ index: R.r9, scale: 8, disp: 0x2000 })),
  ),
  form(
    "[disp32] absolute via SIB",
    "mov rax, qword ptr ds:0x1000",
    "48 8b 04 25 00 10 00 00",
    (a) => a.mov(R.rax, mem({ disp: 0x1000 })),
  ),
  form(
    "[rip+disp32]",
    "mov rax, qword ptr [rip+0x10]",
    "48 8b 05 10 00 00 00",
    (a) => a.mov(R.rax, mem({ rip: true, disp: 0x10 })),
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
  form("add r/m64, r64", "add rcx, rax", "48 01 c1", (a) => a.add(R.rcx, R.rax)),
  form("add r/m8, r8", "add byte ptr [rbx], dl", "00 13", (a) => a.add(mem({ base: R.rbx }), R.dl)),
  form(
    "add r64, r/m64",
    "add rax, qword ptr [rsi+8]",
    "48 03 46 08",
    (a) => a.add(R.rax, mem({ base: R.rsi, disp: 8 })),
  ),
  form("add r8, r/m8", "add al, byte ptr [rdi]", "02 07", (a) => a.add(R.al, mem({ base: R.rdi }))),
  form("add r/m64, imm8", "add rcx, 5", "48 83 c1 05", (a) => a.add(R.rcx, imm(5))),
  form(
    "add r/m64, imm32",
    "add rdx, 0x12345",
    "48 81 c2 45 23 01 00",
    (a) => a.add(R.rdx, imm(0x12345)),
  ),
  form(
    "add r/m8, imm8",
    "add byte ptr [rax], 0x7f",
    "80 00 7f",
    (a) => a.add(byte({ base: R.rax }), imm(0x7f)),
  ),
  form("or r/m64, r64", "or rcx, rax", "48 09 c1", (a) => a.or(R.rcx, R.rax)),
  form("or r/m8, r8", "or byte ptr [rbx], dl", "08 13", (a) => a.or(mem({ base: R.rbx }), R.dl)),
  form(
    "or r64, r/m64",
    "or rax, qword ptr [rsi+8]",
    "48 0b 46 08",
    (a) => a.or(R.rax, mem({ base: R.rsi, disp: 8 })),
  ),
  form("or r8, r/m8", "or al, byte ptr [rdi]", "0a 07", (a) => a.or(R.al, mem({ base: R.rdi }))),
  form("or r/m64, imm8", "or rcx, 5", "48 83 c9 05", (a) => a.or(R.rcx, imm(5))),
  form(
    "or r/m64, imm32",
    "or rdx, 0x12345",
    "48 81 ca 45 23 01 00",
    (a) => a.or(R.rdx, imm(0x12345)),
  ),
  form(
    "or r/m8, imm8",
    "or byte ptr [rax], 0x7f",
    "80 08 7f",
    (a) => a.or(byte({ base: R.rax }), imm(0x7f)),
  ),
  form("adc r/m64, r64", "adc rcx, rax", "48 11 c1", (a) => a.adc(R.rcx, R.rax)),
  form("adc r/m8, r8", "adc byte ptr [rbx], dl", "10 13", (a) => a.adc(mem({ base: R.rbx }), R.dl)),
  form(
    "adc r64, r/m64",
    "adc rax, qword ptr [rsi+8]",
    "48 13 46 08",
    (a) => a.adc(R.rax, mem({ base: R.rsi, disp: 8 })),
  ),
  form("adc r8, r/m8", "adc al, byte ptr [rdi]", "12 07", (a) => a.adc(R.al, mem({ base: R.rdi }))),
  form("adc r/m64, imm8", "adc rcx, 5", "48 83 d1 05", (a) => a.adc(R.rcx, imm(5))),
  form(
    "adc r/m64, imm32",
    "adc rdx, 0x12345",
    "48 81 d2 45 23 01 00",
    (a) => a.adc(R.rdx, imm(0x12345)),
  ),
  form(
    "adc r/m8, imm8",
    "adc byte ptr [rax], 0x7f",
    "80 10 7f",
    (a) => a.adc(byte({ base: R.rax }), imm(0x7f)),
  ),
  form("sbb r/m64, r64", "sbb rcx, rax", "48 19 c1", (a) => a.sbb(R.rcx, R.rax)),
  form("sbb r/m8, r8", "sbb byte ptr [rbx], dl", "18 13", (a) => a.sbb(mem({ base: R.rbx }), R.dl)),
  form(
    "sbb r64, r/m64",
    "sbb rax, qword ptr [rsi+8]",
    "48 1b 46 08",
    (a) => a.sbb(R.rax, mem({ base: R.rsi, disp: 8 })),
  ),
  form("sbb r8, r/m8", "sbb al, byte ptr [rdi]", "1a 07", (a) => a.sbb(R.al, mem({ base: R.rdi }))),
  form("sbb r/m64, imm8", "sbb rcx, 5", "48 83 d9 05", (a) => a.sbb(R.rcx, imm(5))),
  form(
    "sbb r/m64, imm32",
    "sbb rdx, 0x12345",
    "48 81 da 45 23 01 00",
    (a) => a.sbb(R.rdx, imm(0x12345)),
  ),
  form(
    "sbb r/m8, imm8",
    "sbb byte ptr [rax], 0x7f",
    "80 18 7f",
    (a) => a.sbb(byte({ base: R.rax }), imm(0x7f)),
  ),
  form("and r/m64, r64", "and rcx, rax", "48 21 c1", (a) => a.and(R.rcx, R.rax)),
  form("and r/m8, r8", "and byte ptr [rbx], dl", "20 13", (a) => a.and(mem({ base: R.rbx }), R.dl)),
  form(
    "and r64, r/m64",
    "and rax, qword ptr [rsi+8]",
    "48 23 46 08",
    (a) => a.and(R.rax, mem({ base: R.rsi, disp: 8 })),
  ),
  form("and r8, r/m8", "and al, byte ptr [rdi]", "22 07", (a) => a.and(R.al, mem({ base: R.rdi }))),
  form("and r/m64, imm8", "and rcx, 5", "48 83 e1 05", (a) => a.and(R.rcx, imm(5))),
  form(
    "and r/m64, imm32",
    "and rdx, 0x12345",
    "48 81 e2 45 23 01 00",
    (a) => a.and(R.rdx, imm(0x12345)),
  ),
  form(
    "and r/m8, imm8",
    "and byte ptr [rax], 0x7f",
    "80 20 7f",
    (a) => a.and(byte({ base: R.rax }), imm(0x7f)),
  ),
  form("sub r/m64, r64", "sub rcx, rax", "48 29 c1", (a) => a.sub(R.rcx, R.rax)),
  form("sub r/m8, r8", "sub byte ptr [rbx], dl", "28 13", (a) => a.sub(mem({ base: R.rbx }), R.dl)),
  form(
    "sub r64, r/m64",
    "sub rax, qword ptr [rsi+8]",
    "48 2b 46 08",
    (a) => a.sub(R.rax, mem({ base: R.rsi, disp: 8 })),
  ),
  form("sub r8, r/m8", "sub al, byte ptr [rdi]", "2a 07", (a) => a.sub(R.al, mem({ base: R.rdi }))),
  form("sub r/m64, imm8", "sub rcx, 5", "48 83 e9 05", (a) => a.sub(R.rcx, imm(5))),
  form(
    "sub r/m64, imm32",
    "sub rdx, 0x12345",
    "48 81 ea 45 23 01 00",
    (a) => a.sub(R.rdx, imm(0x12345)),
  ),
  form(
    "sub r/m8, imm8",
    "sub byte ptr [rax], 0x7f",
    "80 28 7f",
    (a) => a.sub(byte({ base: R.rax }), imm(0x7f)),
  ),
  form("xor r/m64, r64", "xor rcx, rax", "48 31 c1", (a) => a.xor(R.rcx, R.rax)),
  form("xor r/m8, r8", "xor byte ptr [rbx], dl", "30 13", (a) => a.xor(mem({ base: R.rbx }), R.dl)),
  form(
    "xor r64, r/m64",
    "xor rax, qword ptr [rsi+8]",
    "48 33 46 08",
    (a) => a.xor(R.rax, mem({ base: R.rsi, disp: 8 })),
  ),
  form("xor r8, r/m8", "xor al, byte ptr [rdi]", "32 07", (a) => a.xor(R.al, mem({ base: R.rdi }))),
  form("xor r/m64, imm8", "xor rcx, 5", "48 83 f1 05", (a) => a.xor(R.rcx, imm(5))),
  form(
    "xor r/m64, imm32",
    "xor rdx, 0x12345",
    "48 81 f2 45 23 01 00",
    (a) => a.xor(R.rdx, imm(0x12345)),
  ),
  form(
    "xor r/m8, imm8",
    "xor byte ptr [rax], 0x7f",
    "80 30 7f",
    (a) => a.xor(byte({ base: R.rax }), imm(0x7f)),
  ),
  form("cmp r/m64, r64", "cmp rcx, rax", "48 39 c1", (a) => a.cmp(R.rcx, R.rax)),
  form("cmp r/m8, r8", "cmp byte ptr [rbx], dl", "38 13", (a) => a.cmp(mem({ base: R.rbx }), R.dl)),
  form(
    "cmp r64, r/m64",
    "cmp rax, qword ptr [rsi+8]",
    "48 3b 46 08",
    (a) => a.cmp(R.rax, mem({ base: R.rsi, disp: 8 })),
  ),
  form("cmp r8, r/m8", "cmp al, byte ptr [rdi]", "3a 07", (a) => a.cmp(R.al, mem({ base: R.rdi }))),
  form("cmp r/m64, imm8", "cmp rcx, 5", "48 83 f9 05", (a) => a.cmp(R.rcx, imm(5))),
  form(
    "cmp r/m64, imm32",
    "cmp rdx, 0x12345",
    "48 81 fa 45 23 01 00",
    (a) => a.cmp(R.rdx, imm(0x12345)),
  ),
  form(
    "cmp r/m8, imm8",
    "cmp byte ptr [rax], 0x7f",
    "80 38 7f",
    (a) => a.cmp(byte({ base: R.rax }), imm(0x7f)),
  ),
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
  form("shl r/m64, imm8", "shl rax, 12", "48 c1 e0 0c", (a) => a.shl(R.rax, imm(12))),
  form("shl r/m64, 1", "shl rcx, 1", "48 d1 e1", (a) => a.shl(R.rcx, imm(1))),
  form("shl r/m64, cl", "shl rdx, cl", "48 d3 e2", (a) => a.shl(R.rdx, R.cl)),
  form(
    "shl r/m8, imm8",
    "shl byte ptr [rax], 3",
    "c0 20 03",
    (a) => a.shl(byte({ base: R.rax }), imm(3)),
  ),
  form("shl r/m8, 1", "shl bl, 1", "d0 e3", (a) => a.shl(R.bl, imm(1))),
  form("shl r/m8, cl", "shl sil, cl", "40 d2 e6", (a) => a.shl(R.sil, R.cl)),
  form("shr r/m64, imm8", "shr rax, 12", "48 c1 e8 0c", (a) => a.shr(R.rax, imm(12))),
  form("shr r/m64, 1", "shr rcx, 1", "48 d1 e9", (a) => a.shr(R.rcx, imm(1))),
  form("shr r/m64, cl", "shr rdx, cl", "48 d3 ea", (a) => a.shr(R.rdx, R.cl)),
  form(
    "shr r/m8, imm8",
    "shr byte ptr [rax], 3",
    "c0 28 03",
    (a) => a.shr(byte({ base: R.rax }), imm(3)),
  ),
  form("shr r/m8, 1", "shr bl, 1", "d0 eb", (a) => a.shr(R.bl, imm(1))),
  form("shr r/m8, cl", "shr sil, cl", "40 d2 ee", (a) => a.shr(R.sil, R.cl)),
  form("sar r/m64, imm8", "sar rax, 12", "48 c1 f8 0c", (a) => a.sar(R.rax, imm(12))),
  form("sar r/m64, 1", "sar rcx, 1", "48 d1 f9", (a) => a.sar(R.rcx, imm(1))),
  form("sar r/m64, cl", "sar rdx, cl", "48 d3 fa", (a) => a.sar(R.rdx, R.cl)),
  form(
    "sar r/m8, imm8",
    "sar byte ptr [rax], 3",
    "c0 38 03",
    (a) => a.sar(byte({ base: R.rax }), imm(3)),
  ),
  form("sar r/m8, 1", "sar bl, 1", "d0 fb", (a) => a.sar(R.bl, imm(1))),
  form("sar r/m8, cl", "sar sil, cl", "40 d2 fe", (a) => a.sar(R.sil, R.cl)),
  form("rol r/m64, imm8", "rol rax, 12", "48 c1 c0 0c", (a) => a.rol(R.rax, imm(12))),
  form("rol r/m64, 1", "rol rcx, 1", "48 d1 c1", (a) => a.rol(R.rcx, imm(1))),
  form("rol r/m64, cl", "rol rdx, cl", "48 d3 c2", (a) => a.rol(R.rdx, R.cl)),
  form(
    "rol r/m8, imm8",
    "rol byte ptr [rax], 3",
    "c0 00 03",
    (a) => a.rol(byte({ base: R.rax }), imm(3)),
  ),
  form("rol r/m8, 1", "rol bl, 1", "d0 c3", (a) => a.rol(R.bl, imm(1))),
  form("rol r/m8, cl", "rol sil, cl", "40 d2 c6", (a) => a.rol(R.sil, R.cl)),
  form("ror r/m64, imm8", "ror rax, 12", "48 c1 c8 0c", (a) => a.ror(R.rax, imm(12))),
  form("ror r/m64, 1", "ror rcx, 1", "48 d1 c9", (a) => a.ror(R.rcx, imm(1))),
  form("ror r/m64, cl", "ror rdx, cl", "48 d3 ca", (a) => a.ror(R.rdx, R.cl)),
  form(
    "ror r/m8, imm8",
    "ror byte ptr [rax], 3",
    "c0 08 03",
    (a) => a.ror(byte({ base: R.rax }), imm(3)),
  ),
  form("ror r/m8, 1", "ror bl, 1", "d0 cb", (a) => a.ror(R.bl, imm(1))),
  form("ror r/m8, cl", "ror sil, cl", "40 d2 ce", (a) => a.ror(R.sil, R.cl)),
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
  form("cqo", "cqo", "48 99", (a) => a.cqo()),
  form("cdqe", "cdqe", "48 98", (a) => a.cdqe()),
  form("ret", "ret", "c3", (a) => a.ret()),
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
  form("hlt", "hlt", "f4", (a) => a.hlt()),
  form("nop", "nop", "90", (a) => a.nop()),
  form("pause", "pause", "f3 90", (a) => a.pause()),
  form("cpuid", "cpuid", "0f a2", (a) => a.cpuid()),
  form("rdtsc", "rdtsc", "0f 31", (a) => a.rdtsc()),
  form("mov r64, cr0", "mov rax, cr0", "0f 20 c0", (a) => a.mov(R.rax, CR.cr0)),
  form("mov r64, cr2", "mov rbx, cr2", "0f 20 d3", (a) => a.mov(R.rbx, CR.cr2)),
  form("mov r64, cr3", "mov r9, cr3", "41 0f 20 d9", (a) => a.mov(R.r9, CR.cr3)),
  form("mov r64, cr4", "mov rcx, cr4", "0f 20 e1", (a) => a.mov(R.rcx, CR.cr4)),
  form("mov cr0, r64", "mov cr0, rax", "0f 22 c0", (a) => a.mov(CR.cr0, R.rax)),
  form("mov cr3, r64", "mov cr3, rdx", "0f 22 da", (a) => a.mov(CR.cr3, R.rdx)),
  form("mov cr3, r64 (ext)", "mov cr3, r8", "41 0f 22 d8", (a) => a.mov(CR.cr3, R.r8)),
  form("mov cr4, r64", "mov cr4, rcx", "0f 22 e1", (a) => a.mov(CR.cr4, R.rcx)),
  form("invlpg m", "invlpg [rax]", "0f 01 38", (a) => a.invlpg(mem({ base: R.rax }))),
  form(
    "invlpg m (ext base, disp)",
    "invlpg [r10+0x1000]",
    "41 0f 01 ba 00 10 00 00",
    (a) => a.invlpg(mem({ base: R.r10, disp: 0x1000 })),
  ),
  form("wrmsr", "wrmsr", "0f 30", (a) => a.wrmsr()),
  form("rdmsr", "rdmsr", "0f 32", (a) => a.rdmsr()),
  form("cli", "cli", "fa", (a) => a.cli()),
  form("sti", "sti", "fb", (a) => a.sti()),
  form("rep stosb", "rep stosb", "f3 aa", (a) => a.rep_stosb()),
  form("rep stosq", "rep stosq", "f3 48 ab", (a) => a.rep_stosq()),
  form("rep movsb", "rep movsb", "f3 a4", (a) => a.rep_movsb()),
  form("jo rel8", "jo .-0 (rel8, to itself)", "70 fe", (a) => {
    a.label("t");
    a.jcc("o", "t", "rel8");
  }),
  form("jno rel8", "jno .-0 (rel8, to itself)", "71 fe", (a) => {
    a.label("t");
    a.jcc("no", "t", "rel8");
  }),
  form("jb rel8", "jb .-0 (rel8, to itself)", "72 fe", (a) => {
    a.label("t");
    a.jcc("b", "t", "rel8");
  }),
  form("jae rel8", "jae .-0 (rel8, to itself)", "73 fe", (a) => {
    a.label("t");
    a.jcc("ae", "t", "rel8");
  }),
  form("je rel8", "je .-0 (rel8, to itself)", "74 fe", (a) => {
    a.label("t");
    a.jcc("e", "t", "rel8");
  }),
  form("jne rel8", "jne .-0 (rel8, to itself)", "75 fe", (a) => {
    a.label("t");
    a.jcc("ne", "t", "rel8");
  }),
  form("jbe rel8", "jbe .-0 (rel8, to itself)", "76 fe", (a) => {
    a.label("t");
    a.jcc("be", "t", "rel8");
  }),
  form("ja rel8", "ja .-0 (rel8, to itself)", "77 fe", (a) => {
    a.label("t");
    a.jcc("a", "t", "rel8");
  }),
  form("js rel8", "js .-0 (rel8, to itself)", "78 fe", (a) => {
    a.label("t");
    a.jcc("s", "t", "rel8");
  }),
  form("jns rel8", "jns .-0 (rel8, to itself)", "79 fe", (a) => {
    a.label("t");
    a.jcc("ns", "t", "rel8");
  }),
  form("jp rel8", "jp .-0 (rel8, to itself)", "7a fe", (a) => {
    a.label("t");
    a.jcc("p", "t", "rel8");
  }),
  form("jnp rel8", "jnp .-0 (rel8, to itself)", "7b fe", (a) => {
    a.label("t");
    a.jcc("np", "t", "rel8");
  }),
  form("jl rel8", "jl .-0 (rel8, to itself)", "7c fe", (a) => {
    a.label("t");
    a.jcc("l", "t", "rel8");
  }),
  form("jge rel8", "jge .-0 (rel8, to itself)", "7d fe", (a) => {
    a.label("t");
    a.jcc("ge", "t", "rel8");
  }),
  form("jle rel8", "jle .-0 (rel8, to itself)", "7e fe", (a) => {
    a.label("t");
    a.jcc("le", "t", "rel8");
  }),
  form("jg rel8", "jg .-0 (rel8, to itself)", "7f fe", (a) => {
    a.label("t");
    a.jcc("g", "t", "rel8");
  }),
  form("jo rel32", "jo near (rel32, to itself)", "0f 80 fa ff ff ff", (a) => {
    a.label("t");
    a.jcc("o", "t", "rel32");
  }),
  form("jno rel32", "jno near (rel32, to itself)", "0f 81 fa ff ff ff", (a) => {
    a.label("t");
    a.jcc("no", "t", "rel32");
  }),
  form("jb rel32", "jb near (rel32, to itself)", "0f 82 fa ff ff ff", (a) => {
    a.label("t");
    a.jcc("b", "t", "rel32");
  }),
  form("jae rel32", "jae near (rel32, to itself)", "0f 83 fa ff ff ff", (a) => {
    a.label("t");
    a.jcc("ae", "t", "rel32");
  }),
  form("je rel32", "je near (rel32, to itself)", "0f 84 fa ff ff ff", (a) => {
    a.label("t");
    a.jcc("e", "t", "rel32");
  }),
  form("jne rel32", "jne near (rel32, to itself)", "0f 85 fa ff ff ff", (a) => {
    a.label("t");
    a.jcc("ne", "t", "rel32");
  }),
  form("jbe rel32", "jbe near (rel32, to itself)", "0f 86 fa ff ff ff", (a) => {
    a.label("t");
    a.jcc("be", "t", "rel32");
  }),
  form("ja rel32", "ja near (rel32, to itself)", "0f 87 fa ff ff ff", (a) => {
    a.label("t");
    a.jcc("a", "t", "rel32");
  }),
  form("js rel32", "js near (rel32, to itself)", "0f 88 fa ff ff ff", (a) => {
    a.label("t");
    a.jcc("s", "t", "rel32");
  }),
  form("jns rel32", "jns near (rel32, to itself)", "0f 89 fa ff ff ff", (a) => {
    a.label("t");
    a.jcc("ns", "t", "rel32");
  }),
  form("jp rel32", "jp near (rel32, to itself)", "0f 8a fa ff ff ff", (a) => {
    a.label("t");
    a.jcc("p", "t", "rel32");
  }),
  form("jnp rel32", "jnp near (rel32, to itself)", "0f 8b fa ff ff ff", (a) => {
    a.label("t");
    a.jcc("np", "t", "rel32");
  }),
  form("jl rel32", "jl near (rel32, to itself)", "0f 8c fa ff ff ff", (a) => {
    a.label("t");
    a.jcc("l", "t", "rel32");
  }),
  form("jge rel32", "jge near (rel32, to itself)", "0f 8d fa ff ff ff", (a) => {
    a.label("t");
    a.jcc("ge", "t", "rel32");
  }),
  form("jle rel32", "jle near (rel32, to itself)", "0f 8e fa ff ff ff", (a) => {
    a.label("t");
    a.jcc("le", "t", "rel32");
  }),
  form("jg rel32", "jg near (rel32, to itself)", "0f 8f fa ff ff ff", (a) => {
    a.label("t");
    a.jcc("g", "t", "rel32");
  }),
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
