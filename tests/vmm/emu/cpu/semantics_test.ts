/**
 * Per-instruction semantics of the emulated CPU on small hand-assembled
 * programs (bytes from `as --64`, the source in the comment above each).
 * Code runs at 0x1000 with rsp = 0x8000 over a flat identity-mapped MMU double.
 */
import { assert, assertEquals } from "@std/assert";
import { flatMachine, hexBytes } from "../../../../vmm/emu/cpu/flat_mmu.ts";
import { AF, CF, OF, PF, SF, ZF } from "../../../../vmm/emu/cpu/mod.ts";

const RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RSI = 6, RDI = 7;

function runToHlt(code: string, gprs: Record<string, bigint> = {}, rflags?: bigint) {
  const m = flatMachine({ code, gprs, rflags });
  const stop = m.cpu.run(100_000);
  assertEquals(stop.kind, "hlt");
  return m;
}

// mov rbx, 0x1122334455667788; call f; hlt
// f: push rbx; pop rcx; push -2; pop rdx; ret
const CALLRET = "48bb8877665544332211e801000000f453596afe5ac3";

Deno.test("push, pop, call and ret move rsp and rip", () => {
  const { cpu, mmu } = runToHlt(CALLRET);
  assertEquals(cpu.gpr(RCX), 0x1122334455667788n);
  assertEquals(cpu.gpr(RDX), 0xfffffffffffffffen);
  assertEquals(cpu.gpr(RSP), 0x8000n);
  assertEquals(cpu.rip(), 0x1010n);
  assertEquals(mmu.u64(0x7ff8), 0x100fn, "return address");
  assertEquals(cpu.instructions, 8);
});

// mov rax, [rip + data]; mov [rip + data + 8], rax; lea rbx, [rip + data]; hlt
// .align 8; data: .quad 0x0123456789abcdef, 0
const RIPREL = "488b051100000048890512000000488d1d03000000f46690efcdab89674523010000000000000000";

Deno.test("rip-relative loads, stores and lea", () => {
  const { cpu, mmu } = runToHlt(RIPREL);
  assertEquals(cpu.gpr(RAX), 0x0123456789abcdefn);
  assertEquals(mmu.u64(0x1020), 0x0123456789abcdefn, "store into the code page, beside the code");
  assertEquals(cpu.gpr(RBX), 0x1018n);
  assertEquals(cpu.codeInvalidations, 0, "a write beside code does not invalidate it");
});

// Stores 11..99 through [rsp], [rsp+8], [rbp], [rbp+0x10], [r12], [r13],
// [r13+rsi*8+8], [rsi*4+0x3300], [0x3400], then sums them back through the
// same forms plus [rcx+rdx].
const SIB =
  "48c704240b00000048c74424081600000048c7c50030000048c745002100000048c745102c00000049c7c40031000049c704243700000049c7c50032000049c745004200000048c7c60200000049c744f5084d00000048c704b5003300005800000048c704250034000063000000488b0424480344240848034500480345104903042449034500490344f508480304b500330000480304250034000048c7c10030000048c7c21000000048030411f4";

Deno.test("ModRM/SIB forms with rsp, rbp, r12, r13, index-only and absolute", () => {
  const { cpu, mmu } = runToHlt(SIB);
  assertEquals(cpu.gpr(RAX), 539n);
  assertEquals(mmu.u64(0x3218), 77n);
  assertEquals(mmu.u64(0x3308), 88n);
  assertEquals(mmu.u64(0x3400), 99n);
});

// mov rbx, 0x3000; mov qword [rbx], -1; mov rax, 0x1111..; mov al, [rbx]
// mov rcx, 0x2222..; mov cx, [rbx]; mov rdx, 0x3333..; mov edx, [rbx]
// mov rsi, 0x4444..; mov ah, 0x55; mov rdi, 0x6666..; movsx edi, byte [rbx]
// mov r8, 0x7777..; mov r8b, 0x12; mov r9, 0x8888..; add r9d, 1
// mov byte [rbx+8], 0x80; movsx r10, byte [rbx+8]; movzx r11, byte [rbx+8]; mov sil, 0x99; hlt
const MERGE =
  "48c7c30030000048c703ffffffff48b811111111111111118a0348b92222222222222222668b0b48ba33333333333333338b1348be4444444444444444b45548bf66666666666666660fbe3b49b8777777777777777741b01249b988888888888888884183c101c64308804c0fbe53084c0fb65b0840b699f4";

Deno.test("8/16-bit writes merge, 32-bit writes zero-extend, movsx/movzx", () => {
  const { cpu } = runToHlt(MERGE);
  assertEquals(cpu.gpr(RAX), 0x11111111111155ffn);
  assertEquals(cpu.gpr(RCX), 0x222222222222ffffn);
  assertEquals(cpu.gpr(RDX), 0x00000000ffffffffn);
  assertEquals(cpu.gpr(RSI), 0x4444444444444499n);
  assertEquals(cpu.gpr(RDI), 0x00000000ffffffffn);
  assertEquals(cpu.gpr(8), 0x7777777777777712n);
  assertEquals(cpu.gpr(9), 0x0000000088888889n);
  assertEquals(cpu.gpr(10), 0xffffffffffffff80n);
  assertEquals(cpu.gpr(11), 0x80n);
});

// mov ecx, 5; xor eax, eax; l: add rax, rcx; loop l; hlt
Deno.test("loop counts rcx down", () => {
  const { cpu } = runToHlt("b90500000031c04801c8e2fbf4");
  assertEquals(cpu.gpr(RAX), 15n);
  assertEquals(cpu.gpr(RCX), 0n);
});

// mov rbx, 0x3000; mov qword [rbx], 10; add [rbx], rax; inc qword [rbx+8]
// shl dword [rbx+16], 3; neg byte [rbx+24]; xchg [rbx+32], rax
// sub word [rbx+40], 1; not qword [rbx+48]; hlt
const RMW = "48c7c30030000048c7030a00000048010348ff4308c1631003f65b184887432066836b280148f75330f4";

Deno.test("read-modify-write memory forms", () => {
  const m = flatMachine({ code: RMW, gprs: { rax: 5n } });
  const dv = new DataView(m.mmu.mem.buffer);
  dv.setUint32(0x3010, 0x80000001, true);
  dv.setUint32(0x3014, 0x12345678, true);
  dv.setUint8(0x3018, 1);
  dv.setBigUint64(0x3020, 0xaaaan, true);
  dv.setBigUint64(0x3028, 0x1111111111110000n, true);
  assertEquals(m.cpu.run(100).kind, "hlt");
  assertEquals(m.mmu.u64(0x3000), 15n);
  assertEquals(m.mmu.u64(0x3008), 1n);
  assertEquals(m.mmu.u64(0x3010), 0x1234567800000008n);
  assertEquals(m.mmu.mem[0x3018], 0xff);
  assertEquals(m.mmu.u64(0x3020), 5n);
  assertEquals(m.cpu.gpr(RAX), 0xaaaan);
  assertEquals(m.mmu.u64(0x3028), 0x111111111111ffffn);
  assertEquals(m.mmu.u64(0x3030), 0xffffffffffffffffn);
  // Flags of `sub word [rbx+40], 1` on 0 (not leaves them alone).
  assertEquals(Number(m.cpu.rflags()) & (CF | PF | AF | ZF | SF | OF), CF | PF | AF | SF);
});

// mov rbx, 0x3000; lea rax, [rip+t1]; mov [rbx], rax; call qword [rbx]
// lea rcx, [rip+t2]; jmp rcx; hlt; t1: mov edx, 7; ret; t2: mov esi, 9; hlt
Deno.test("call r/m64 and jmp r/m64", () => {
  const { cpu } = runToHlt(
    "48c7c300300000488d050f000000488903ff13488d0d09000000ffe1f4ba07000000c3be09000000f4",
  );
  assertEquals(cpu.gpr(RDX), 7n);
  assertEquals(cpu.gpr(RSI), 9n);
  assertEquals(cpu.gpr(RSP), 0x8000n);
});

// mov rdi, 0x3000; mov ecx, 100; mov al, 0xab; rep stosb
// mov rdi, 0x3100; mov ecx, 3; mov rax, 0x0102030405060708; rep stosq
// mov rsi, 0x3100; mov rdi, 0x3200; mov ecx, 24; rep movsb; stosb; hlt
const STRINGS =
  "48c7c700300000b964000000b0abf3aa48c7c700310000b90300000048b80807060504030201f348ab48c7c60031000048c7c700320000b918000000f3a4aaf4";

Deno.test("rep stosb, rep stosq, rep movsb and plain stosb", () => {
  const { cpu, mmu } = runToHlt(STRINGS);
  for (let i = 0; i < 100; i++) assertEquals(mmu.mem[0x3000 + i], 0xab);
  assertEquals(mmu.mem[0x3064], 0);
  for (let i = 0; i < 3; i++) {
    assertEquals(mmu.u64(0x3100 + 8 * i), 0x0102030405060708n);
    assertEquals(mmu.u64(0x3200 + 8 * i), 0x0102030405060708n);
  }
  assertEquals(mmu.mem[0x3218], 0x08);
  assertEquals(cpu.gpr(RCX), 0n);
  assertEquals(cpu.gpr(RDI), 0x3219n);
  assertEquals(cpu.gpr(RSI), 0x3118n);
});

// push 0x7fffffff; push -5; mov qword [rsp+16], -7; mov rax, -1; mov eax, 0xffffffff
// mov rbx, -1; mov ebx, -1; pop rcx; pop rdx; cdqe; hlt
Deno.test("push imm, sign-extended imm32 moves, cdqe", () => {
  const { cpu, mmu } = runToHlt(
    "68ffffff7f6afb48c7442410f9ffffff48c7c0ffffffffb8ffffffff48c7c3ffffffffbbffffffff595a4898f4",
  );
  assertEquals(cpu.gpr(RCX), 0xfffffffffffffffbn);
  assertEquals(cpu.gpr(RDX), 0x7fffffffn);
  assertEquals(cpu.gpr(RBX), 0xffffffffn);
  assertEquals(cpu.gpr(RAX), 0xffffffffffffffffn);
  assertEquals(mmu.u64(0x8000), 0xfffffffffffffff9n);
});

// xor eax,eax; cpuid; mov r8,rbx; mov r9,rdx; mov r10,rcx; rdtsc; mov r11,rax
// mov ecx,0x277; rdmsr; mov r12,rax; mov r13,rdx; mov ecx,0xc0000080; rdmsr; mov r14,rax
// mov rax,cr0; mov rbx,cr4; hlt
Deno.test("cpuid vendor, deterministic rdtsc, rdmsr of PAT and EFER, mov from CRs", () => {
  const { cpu } = runToHlt(
    "31c00fa24989d84989d14989ca0f314989c3b9770200000f324989c44989d5b9800000c00f324989c60f20c00f20e3f4",
  );
  const vendor = [8, 9, 10].map((n) => {
    const v = Number(cpu.gpr(n));
    return String.fromCharCode(v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff);
  }).join("");
  assertEquals(vendor, "KVMEmuKVMEmu");
  assertEquals(cpu.gpr(11), 5n, "rdtsc = instructions retired before it");
  assertEquals(cpu.gpr(12), 0x00070406n);
  assertEquals(cpu.gpr(13), 0x00070406n);
  assertEquals(cpu.gpr(14), 0x500n);
  assertEquals(cpu.gpr(RAX), 0x80050033n);
  assertEquals(cpu.gpr(RBX), 0x20n);
});

// mov rax, 0x5000; mov cr3, rax; invlpg [rax+0x123]
// mov ecx, 0x277; mov eax, 0x00070406; mov edx, 0x00070106; wrmsr; mov rbx, cr3; hlt
Deno.test("mov cr3 and PAT writes flush the TLB; invlpg reaches the MMU", () => {
  const { cpu, mmu } = runToHlt(
    "48c7c0005000000f22d80f01b823010000b977020000b806040700ba060107000f300f20dbf4",
  );
  assertEquals(mmu.cr3s, [0x5000]);
  assertEquals(mmu.invlpgs, [0x5123]);
  assertEquals(cpu.gpr(RBX), 0x5000n);
  assertEquals(cpu.tlbFlushes, 2);
  assertEquals(cpu.paging().pat, 0x0007010600070406n);
  assertEquals(mmu.lastPat, 0x0007010600070406n, "later translations see the new PAT");
});

// mov dx, 0x1000; mov eax, 0xdeadbeef; out dx, eax; mov rax, -1; in al, dx
// in eax, 0x70; out 0x80, al; hlt
Deno.test("in and out exit after retiring; in completes into al/eax", () => {
  const { cpu } = flatMachine({ code: "66ba0010b8efbeaddeef48c7c0ffffffffece570e680f4" });
  assertEquals(cpu.run(100), {
    kind: "io",
    port: 0x1000,
    size: 4,
    isWrite: true,
    value: 0xdeadbeefn,
  });
  assertEquals(cpu.rip(), 0x100an);
  assertEquals(cpu.run(100), { kind: "io", port: 0x1000, size: 1, isWrite: false, value: 0n });
  cpu.completeIn(0x42n);
  assertEquals(cpu.gpr(RAX), 0xffffffffffffff42n);
  assertEquals(cpu.run(100), { kind: "io", port: 0x70, size: 4, isWrite: false, value: 0n });
  cpu.completeIn(0x12345678n);
  assertEquals(cpu.gpr(RAX), 0x12345678n);
  assertEquals(cpu.run(100), { kind: "io", port: 0x80, size: 1, isWrite: true, value: 0x78n });
  assertEquals(cpu.run(100), { kind: "hlt" });
  assertEquals(cpu.instructions, 8);
});

// xor eax,eax; mov ecx,1000; l: add rax,3; dec rcx; jnz l; hlt
const BUDGET = "31c0b9e80300004883c00348ffc975f7f4";

Deno.test("run(budget) retires exactly the budget and is deterministic", () => {
  const a = flatMachine({ code: BUDGET });
  assertEquals(a.cpu.run(3), { kind: "quantum" });
  assertEquals(a.cpu.instructions, 3);
  assertEquals(a.cpu.rip(), 0x100bn);
  for (const quantum of [1, 2, 7, 64, 1000, 1 << 20]) {
    const m = flatMachine({ code: BUDGET });
    let stop;
    let calls = 0;
    do {
      stop = m.cpu.run(quantum);
      calls++;
      if (stop.kind === "quantum") assertEquals(m.cpu.instructions, calls * quantum);
    } while (stop.kind === "quantum");
    assertEquals(stop.kind, "hlt");
    assertEquals(m.cpu.instructions, 3003);
    assertEquals(m.cpu.gpr(RAX), 3000n);
    assertEquals(m.cpu.rip(), 0x1011n);
  }
});

// mov rax, 0x100000; mov rcx, 0x200000; mov rdx, 8; mov rbx, 0x1122334455667788
// l: mov [rax], rbx; add rax, rdx; cmp rax, rcx; jb l; hlt
Deno.test("the write-sweep loop fills memory", () => {
  const { cpu, mmu } = flatMachine({
    code: "48c7c00000100048c7c10000200048c7c20800000048bb88776655443322114889184801d04839c872f5f4",
    size: 4 << 20,
  });
  assertEquals(cpu.run(10_000_000).kind, "hlt");
  assertEquals(cpu.instructions, 4 + 4 * 131072 + 1);
  assertEquals(mmu.u64(0x100000), 0x1122334455667788n);
  assertEquals(mmu.u64(0x1ffff8), 0x1122334455667788n);
  assertEquals(mmu.u64(0x200000), 0n);
});

function refCond(cc: number, f: number): boolean {
  const cf = (f & CF) !== 0, zf = (f & ZF) !== 0, sf = (f & SF) !== 0, of = (f & OF) !== 0;
  const pf = (f & PF) !== 0;
  const v = [of, cf, zf, cf || zf, sf, pf, sf !== of, zf || sf !== of][cc >> 1];
  return (cc & 1) !== 0 ? !v : v;
}

Deno.test("all 16 jcc conditions, rel8 and rel32, on every flag combination", () => {
  const bits = [CF, PF, ZF, SF, OF];
  for (let cc = 0; cc < 16; cc++) {
    for (let mask = 0; mask < 32; mask++) {
      let f = 0;
      bits.forEach((b, i) => {
        if ((mask >> i) & 1) f |= b;
      });
      for (const jcc of [[0x70 + cc, 0x06], [0x0f, 0x80 + cc, 0x06, 0, 0, 0]]) {
        // jcc +6; mov eax, 0; hlt; mov eax, 1; hlt
        const code = new Uint8Array([...jcc, 0xb8, 0, 0, 0, 0, 0xf4, 0xb8, 1, 0, 0, 0, 0xf4]);
        const { cpu } = flatMachine({ code, rflags: BigInt(f | 2) });
        assertEquals(cpu.run(10).kind, "hlt");
        assertEquals(cpu.gpr(RAX), refCond(cc, f) ? 1n : 0n, `cc ${cc} flags ${f.toString(16)}`);
      }
    }
  }
});

Deno.test("jcc fused with the flag-setting instruction matches the materialised flags", () => {
  // Flag setters: cmp rax,rbx; cmp eax,ebx; cmp al,bl; test rax,rbx; add rax,rbx; inc rax;
  // sub ax,bx; shl rax,1; adc rax,rbx; sbb eax,ebx; dec bl; neg rax; imul rax,rbx
  const setters = [
    "4839d8",
    "39d8",
    "38d8",
    "4885d8",
    "4801d8",
    "48ffc0",
    "6629d8",
    "48d1e0",
    "4811d8",
    "19d8",
    "fecb",
    "48f7d8",
    "480fafc3",
  ];
  const values = [0n, 1n, 0x7fn, 0x80n, 0x8000n, 0x80000000n, 0xffffffffn];
  values.push(0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffffffffffn);
  for (const s of setters) {
    for (const a of values) {
      for (const b of [1n, 0x80000000n, 0xffffffffffffffffn, a]) {
        const gprs = { rax: a, rbx: b };
        const plain = flatMachine({ code: s + "f4", gprs, rflags: 0x3n });
        plain.cpu.run(10);
        const f = Number(plain.cpu.rflags());
        for (let cc = 0; cc < 16; cc++) {
          const jcc = (0x70 + cc).toString(16) + "06" + "b800000000f4b801000000f4";
          const fused = flatMachine({ code: s + jcc, gprs, rflags: 0x3n });
          assertEquals(fused.cpu.run(10).kind, "hlt");
          assertEquals(
            fused.cpu.gpr(RAX) & 0xffn,
            refCond(cc, f) ? 1n : 0n,
            `${s} ${a} ${b} cc ${cc}`,
          );
        }
      }
    }
  }
});

Deno.test("an instruction outside the subset reports its bytes and RIP without retiring", () => {
  // nop; ud2
  const { cpu } = flatMachine({ code: "900f0b" });
  const stop = cpu.run(10);
  assertEquals(stop.kind, "unsupported");
  if (stop.kind !== "unsupported") return;
  assertEquals(stop.rip, 0x1001n);
  assertEquals([...stop.bytes.slice(0, 2)], [0x0f, 0x0b]);
  assertEquals(cpu.instructions, 1);
  assertEquals(cpu.rip(), 0x1001n);
  // lock add [rax], rbx
  const lock = flatMachine({ code: "f0480118" }).cpu.run(10);
  assertEquals(lock.kind, "unsupported");
});

Deno.test("divide by zero is #DE: a triple fault at the div", () => {
  // xor ecx, ecx; mov eax, 1; div rcx; hlt
  const { cpu } = flatMachine({ code: "31c9b80100000048f7f1f4" });
  const stop = cpu.run(10);
  assertEquals(stop.kind, "shutdown");
  if (stop.kind !== "shutdown") return;
  assertEquals(stop.rip, 0x1007n);
  assert(stop.reason.includes("#DE"));
  assertEquals(cpu.gpr(RAX), 1n, "nothing of the div committed");
  assertEquals(cpu.run(10).kind, "shutdown", "stays shut down");
  // idiv overflow: mov rax, 0x8000000000000000; cqo; mov rcx, -1; idiv rcx
  const ov = flatMachine({
    code: hexBytes("48b80000000000000080" + "4899" + "48c7c1ffffffff" + "48f7f9"),
  });
  assertEquals(ov.cpu.run(10).kind, "shutdown");
});

Deno.test("wrmsr of an unknown MSR and a bad CR write are #GP", () => {
  // mov ecx, 0x10; wrmsr
  assertEquals(flatMachine({ code: "b9100000000f30" }).cpu.run(10).kind, "shutdown");
  // xor eax, eax; mov cr0, rax (clearing PG in 64-bit mode)
  assertEquals(flatMachine({ code: "31c00f22c0" }).cpu.run(10).kind, "shutdown");
  // mov rax, 1 << 52; mov cr3, rax
  assertEquals(flatMachine({ code: "48b800000000000010000f22d8" }).cpu.run(10).kind, "shutdown");
});

// mov ecx, 0x2ff; mov eax, 0x806; xor edx, edx; wrmsr; xor eax, eax; rdmsr; mov ebx, eax
// mov ecx, 0xfe; rdmsr; hlt
Deno.test("MTRR MSRs: MTRR_DEF_TYPE round-trips, MTRRCAP reads, bad values are #GP", () => {
  const { cpu } = runToHlt("b9ff020000b80608000031d20f3031c00f3289c3b9fe0000000f32f4");
  assertEquals(cpu.gpr(RBX), 0x806n, "E | WB");
  assertEquals(cpu.gpr(RAX), 0x508n, "WC, FIX, 8 variable pairs");
  // mov ecx, 0x2ff; mov eax, 2 (reserved type); xor edx, edx; wrmsr
  assertEquals(flatMachine({ code: "b9ff020000b80200000031d20f30" }).cpu.run(10).kind, "shutdown");
  // mov ecx, 0xfe; wrmsr (MTRRCAP is read-only)
  assertEquals(flatMachine({ code: "b9fe0000000f30" }).cpu.run(10).kind, "shutdown");
});

Deno.test("a non-canonical data address or branch target is #GP", () => {
  // mov rax, 0x0000800000000000; mov rbx, [rax]
  const a = flatMachine({ code: "48b80000000000800000488b18" }).cpu.run(10);
  assertEquals(a.kind, "shutdown");
  if (a.kind === "shutdown") assertEquals(a.rip, 0x100an);
  // mov rax, 0x0000800000000000; jmp rax
  assertEquals(flatMachine({ code: "48b80000000000800000ffe0" }).cpu.run(10).kind, "shutdown");
});

Deno.test("xchg with rax short forms and r8 (41 90)", () => {
  // xchg rax, rbx (48 93); xchg eax, r8d (41 90); hlt
  const { cpu } = runToHlt("489341" + "90f4", { rax: 1n, rbx: 2n, r8: 0xffffffff00000003n });
  assertEquals(cpu.gpr(RBX), 1n);
  assertEquals(cpu.gpr(RAX), 3n);
  assertEquals(cpu.gpr(8), 2n);
});

Deno.test("flags of one instruction overwritten by the next are not lost when read", () => {
  // add rax, rbx (CF=1); sub rcx, 1 (CF=0); adc rdx, 0; inc rsi
  // add rax, rbx (CF=1); inc rcx (keeps CF); adc rdi, 0; hlt
  const { cpu } = runToHlt("4801d84883e9014883d20048ffc64801d848ffc14883d700f4", {
    rax: 0xffffffffffffffffn,
    rbx: 0xffffffffffffffffn,
    rcx: 5n,
  });
  assertEquals(cpu.gpr(RDX), 0n, "adc sees sub's CF");
  assertEquals(cpu.gpr(RDI), 1n, "adc sees add's CF through inc");
  assertEquals(cpu.gpr(RCX), 5n);
});

Deno.test("cli and sti change RFLAGS.IF; pause and nop do nothing", () => {
  // cli; hlt
  const a = runToHlt("faf4", {}, 0x202n);
  assertEquals(a.cpu.rflags() & 0x200n, 0n);
  // cli; mov r8, cr0; pause; nop; sti; hlt
  const b = runToHlt("fa410f20c0f39090fbf4", {}, 0x2n);
  assertEquals(b.cpu.rflags() & 0x200n, 0x200n);
  assertEquals(b.cpu.gpr(8), 0x80050033n);
  assertEquals(b.cpu.instructions, 6);
});
