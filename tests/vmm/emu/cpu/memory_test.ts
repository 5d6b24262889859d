/**
 * The CPU's side of the memory seam: software-TLB coherence, the tracked
 * (non-direct) write slow path, MMIO exits and read completion, MMU exits
 * that commit nothing, page-crossing accesses and instructions, and
 * self-/cross-modifying code invalidating compiled blocks. Programs are
 * hand-assembled (`as --64`), source in the comments.
 */
import { assert, assertEquals } from "@std/assert";
import { createCpu } from "../../../../vmm/emu/cpu/mod.ts";
import { flatMachine, FlatMmu, hexBytes, testBootState } from "../../../../vmm/emu/cpu/flat_mmu.ts";
import { ACCESS_READ, ACCESS_WRITE } from "../../../../vmm/emu/port.ts";
import { ZF } from "../../../../vmm/emu/cpu/flags.ts";

const RAX = 0, RCX = 1, RSP = 4;

Deno.test("flushGfn makes the next access translate again; flushTlb counts", () => {
  // mov rbx, 0x3000; l: mov rax, [rbx]; out 0x80, al; jmp l
  const { cpu, mmu } = flatMachine({ code: "48c7c300300000488b03e680ebf9" });
  mmu.mem[0x3000] = 7;
  assertEquals(cpu.run(100).kind, "io");
  assertEquals(mmu.translates[ACCESS_READ], 1);
  assertEquals(cpu.run(100).kind, "io");
  assertEquals(mmu.translates[ACCESS_READ], 1, "TLB hit");
  cpu.flushGfn(4);
  assertEquals(cpu.run(100).kind, "io");
  assertEquals(mmu.translates[ACCESS_READ], 1, "another page's flush keeps the entry");
  cpu.flushGfn(3);
  mmu.mem[0x3000] = 9;
  const stop = cpu.run(100);
  assertEquals(stop.kind === "io" && stop.value, 9n);
  assertEquals(mmu.translates[ACCESS_READ], 2);
  const flushes = cpu.tlbFlushes;
  cpu.flushTlb();
  assertEquals(cpu.tlbFlushes, flushes + 1);
  cpu.run(100);
  assertEquals(mmu.translates[ACCESS_READ], 3);
});

Deno.test("a non-direct write translation calls trackedWrite on every write", () => {
  // mov rbx, 0x3000; l: mov [rbx], rax; add rax, 1; out 0x80, al; jmp l
  const { cpu, mmu } = flatMachine({ code: "48c7c3003000004889034883c001e680ebf5" });
  mmu.tracked.add(3);
  for (let i = 0; i < 3; i++) {
    assertEquals(cpu.run(100).kind, "io");
    assertEquals(mmu.u64(0x3000), BigInt(i), "the write landed");
  }
  assertEquals(mmu.trackedWrites, [[0x3000, 8], [0x3000, 8], [0x3000, 8]]);
  assertEquals(mmu.translates[ACCESS_WRITE], 3, "never cached as writable");
  mmu.tracked.delete(3);
  cpu.flushGfn(3);
  cpu.run(100);
  cpu.run(100);
  assertEquals(mmu.translates[ACCESS_WRITE], 4, "a direct translation is cached");
  assertEquals(mmu.trackedWrites.length, 3);
});

Deno.test("rep stosq into a tracked page reports every element's write", () => {
  // mov rdi, 0x3000; mov ecx, 1024; xor eax, eax; rep stosq; hlt
  const { cpu, mmu } = flatMachine({ code: "48c7c700300000b90004000031c0f348abf4" });
  mmu.tracked.add(4);
  mmu.mem.fill(0xee, 0x3000, 0x5000);
  assertEquals(cpu.run(100).kind, "hlt");
  assertEquals(mmu.trackedWrites.length, 512);
  assertEquals(mmu.trackedWrites[0], [0x4000, 8]);
  assert(mmu.mem.subarray(0x3000, 0x5000).every((b) => b === 0));
  assertEquals(mmu.mem[0x5000], 0);
});

Deno.test("an MMIO read exits without retiring and re-executes with the completed value", () => {
  // mov rbx, 0xd0010; mov rax, [rbx]; add rax, 1; mov dword [rbx], 0x1234; hlt
  const { cpu } = flatMachine({
    code: "48c7c310000d00488b034883c001c70334120000f4",
    mmio: [[0xd0000, 0xe0000]],
  });
  assertEquals(cpu.run(100), { kind: "mmio", gpa: 0xd0010, len: 8, isWrite: false, value: 0n });
  assertEquals(cpu.rip(), 0x1007n);
  assertEquals(cpu.instructions, 1);
  cpu.completeMmioRead(0x41n);
  assertEquals(cpu.run(100), {
    kind: "mmio",
    gpa: 0xd0010,
    len: 4,
    isWrite: true,
    value: 0x1234n,
  });
  assertEquals(cpu.gpr(RAX), 0x42n);
  assertEquals(cpu.rip(), 0x1014n, "the MMIO write retired");
  assertEquals(cpu.run(100).kind, "hlt");
});

Deno.test("an MMU exit aborts the instruction with nothing committed", () => {
  // mov rax, 1; add rax, 1; push rax; cmp rax, rax; mov rbx, 0x5000; add [rbx], rcx; hlt
  const { cpu, mmu } = flatMachine({
    code: "48c7c0010000004883c001504839c048c7c30050000048010bf4",
    gprs: { rcx: 5n },
  });
  const fault = {
    exit: "memory_fault",
    gpa: 0x7ff8,
    size: 4096,
    flags: ["absent_mapping"],
  } as const;
  mmu.exits.set(7, fault);
  assertEquals(cpu.run(100), { kind: "mmu", exit: fault });
  assertEquals(cpu.rip(), 0x100bn);
  assertEquals(cpu.gpr(RSP), 0x8000n);
  assertEquals(cpu.gpr(RAX), 2n);
  assertEquals(cpu.instructions, 2);
  mmu.exits.delete(7);
  const uffd = { exit: "uffd_wait", gpa: 0x5000 } as const;
  mmu.exits.set(5, uffd);
  assertEquals(cpu.run(100), { kind: "mmu", exit: uffd });
  assertEquals(cpu.rip(), 0x1016n);
  assertEquals(cpu.gpr(RSP), 0x7ff8n);
  assertEquals(Number(cpu.rflags()) & ZF, ZF, "flags of cmp survive the aborted add");
  mmu.exits.delete(5);
  assertEquals(cpu.run(100).kind, "hlt");
  assertEquals(mmu.u64(0x5000), 5n);
});

Deno.test("a guest page fault is a triple fault", () => {
  // mov rax, [0x5000]
  const { cpu, mmu } = flatMachine({ code: "488b042500500000" });
  mmu.faulting.add(5);
  const stop = cpu.run(10);
  assertEquals(stop.kind, "shutdown");
  if (stop.kind === "shutdown") {
    assertEquals(stop.rip, 0x1000n);
    assert(stop.reason.includes("#PF"));
  }
});

Deno.test("page-crossing loads and stores translate both pages", () => {
  // mov rbx, 0x3ffc; mov rax, [rbx]; mov [rbx + 0x1000], rax; hlt
  const { cpu, mmu } = flatMachine({ code: "48c7c3fc3f0000488b0348898300100000f4" });
  new DataView(mmu.mem.buffer).setBigUint64(0x3ffc, 0x8877665544332211n, true);
  mmu.tracked.add(5);
  assertEquals(cpu.run(10).kind, "hlt");
  assertEquals(cpu.gpr(RAX), 0x8877665544332211n);
  assertEquals(mmu.u64(0x4ffc), 0x8877665544332211n);
  assertEquals(mmu.trackedWrites, [[0x5000, 4]]);
  // A fault on the second page aborts the whole store.
  const m = flatMachine({ code: "48c7c3fc3f0000488b0348898300100000f4" });
  m.mmu.faulting.add(5);
  assertEquals(m.cpu.run(10).kind, "shutdown");
  assertEquals(m.mmu.u64(0x4ff8), 0n, "nothing written to the first page");
});

Deno.test("an instruction that crosses a page boundary decodes from both pages", () => {
  // at 0x1ffc: mov rax, 0x1122334455667788; hlt
  const { cpu } = flatMachine({ code: "48b88877665544332211f4", rip: 0x1ffc });
  assertEquals(cpu.run(10).kind, "hlt");
  assertEquals(cpu.gpr(RAX), 0x1122334455667788n);
  assertEquals(cpu.rip(), 0x2007n);
});

Deno.test("self-modifying code: a store into the current block re-decodes it", () => {
  // mov byte [rip + patch + 1], 42; patch: mov eax, 0; hlt
  const { cpu } = flatMachine({ code: "c605010000002ab800000000f4" });
  assertEquals(cpu.run(10).kind, "hlt");
  assertEquals(cpu.gpr(RAX), 42n);
  assertEquals(cpu.codeInvalidations, 1);
});

Deno.test("self-modifying code: patching an already compiled function", () => {
  // mov ecx, 2; again: call f; mov byte [rip + f + 1], 7; dec ecx; jnz again; hlt
  // f: mov eax, 1; ret
  const { cpu } = flatMachine({ code: "b902000000e80c000000c6050600000007ffc975f0f4b801000000c3" });
  assertEquals(cpu.run(100).kind, "hlt");
  assertEquals(cpu.gpr(RAX), 7n);
  assertEquals(cpu.gpr(RCX), 0n);
  assert(cpu.codeInvalidations >= 1);
});

Deno.test("cross-modifying code: another vCPU's write invalidates this one's blocks", () => {
  const { cpu: cpu0, mmu } = flatMachine({
    // call 0x2000; out 0x80, al; call 0x2000; hlt
    code: "e8fb0f0000e680e8f40f0000f4",
  });
  mmu.load(0x2000, hexBytes("b801000000c3")); // f: mov eax, 1; ret
  mmu.load(0x3000, hexBytes("c604250120000009f4")); // mov byte [0x2001], 9; hlt
  const cpu1 = createCpu(1, mmu, testBootState({ rip: 0x3000n, gprs: { rsp: 0x9000n } }));
  const first = cpu0.run(100);
  assertEquals(first.kind === "io" && first.value, 1n);
  assertEquals(cpu1.run(100).kind, "hlt");
  assertEquals(cpu0.run(100).kind, "hlt");
  assertEquals(cpu0.gpr(RAX), 9n);
});

Deno.test("the decoded-block cache is reused: a hot loop compiles once", () => {
  // xor eax,eax; mov ecx,1000; l: add rax,3; dec rcx; jnz l; hlt
  const { cpu } = flatMachine({ code: "31c0b9e80300004883c00348ffc975f7f4" });
  assertEquals(cpu.run(1_000_000).kind, "hlt");
  assert(cpu.blocksCompiled <= 4, `compiled ${cpu.blocksCompiled}`);
  assertEquals(cpu.gpr(RCX), 0n);
});

Deno.test("a read-modify-write on a tracked page translates for write once", () => {
  // mov rbx, 0x3000; add [rbx], rax; add rax, 1; out 0x80, al; mov [rbx], rax; hlt
  const { cpu, mmu } = flatMachine({
    code: "48c7c3003000004801034883c001e680488903f4",
    gprs: { rax: 2n },
  });
  mmu.tracked.add(3);
  new DataView(mmu.mem.buffer).setBigUint64(0x3000, 40n, true);
  assertEquals(cpu.run(100).kind, "io");
  assertEquals(mmu.u64(0x3000), 42n);
  assertEquals(mmu.translates[ACCESS_WRITE], 1);
  assertEquals(mmu.trackedWrites, [[0x3000, 8]]);
  // The plain store after it translates (and is tracked) on its own.
  assertEquals(cpu.run(100).kind, "hlt");
  assertEquals(mmu.translates[ACCESS_WRITE], 2);
  assertEquals(mmu.trackedWrites.length, 2);
  assertEquals(mmu.u64(0x3000), 3n);
});

Deno.test("code and data in the upper canonical half (negative addresses)", () => {
  // Identity over the low 1 MiB, whatever the upper address bits.
  const mmu = new FlatMmu({ size: 1 << 20 });
  const translate = mmu.translate.bind(mmu);
  mmu.translate = (v, p, gva, a) => translate(v, p, gva % (1 << 20), a);
  // mov rax, [rip + data]; call f; hlt; f: lea rbx, [rip + data]; ret; data: .quad 0x1234
  // (7 + 5 + 1 + 7 + 1 bytes, one byte of padding, data at 0x1016)
  mmu.load(
    0x1000,
    hexBytes(
      "488b050f000000" + "e801000000" + "f4" + "488d1d02000000" + "c3" + "00" + "3412000000000000",
    ),
  );
  const cpu = createCpu(
    0,
    mmu,
    testBootState({ rip: 0xffffffff80001000n, gprs: { rsp: 0xffffffff80008000n } }),
  );
  assertEquals(cpu.run(100).kind, "hlt");
  assertEquals(cpu.gpr(RAX), 0x1234n);
  assertEquals(cpu.gpr(3), 0xffffffff80001016n);
  assertEquals(cpu.rip(), 0xffffffff8000100dn);
  assertEquals(cpu.gpr(RSP), 0xffffffff80008000n);
  assertEquals(mmu.u64(0x7ff8), 0xffffffff8000100cn, "return address");
});

Deno.test("string instructions run backwards with RFLAGS.DF", () => {
  // rep stosb; mov rsi, 0x3002; mov rdi, 0x3105; mov ecx, 3; rep movsb; hlt
  const { cpu, mmu } = flatMachine({
    code: "f3aa48c7c60230000048c7c705310000b903000000f3a4f4",
    gprs: { rax: 0x5an, rcx: 3n, rdi: 0x3002n },
    rflags: 0x402n,
  });
  assertEquals(cpu.run(100).kind, "hlt");
  assertEquals([...mmu.mem.subarray(0x2fff, 0x3004)], [0, 0x5a, 0x5a, 0x5a, 0]);
  assertEquals([...mmu.mem.subarray(0x3102, 0x3107)], [0, 0x5a, 0x5a, 0x5a, 0]);
  assertEquals(cpu.gpr(7), 0x3102n);
  assertEquals(cpu.gpr(6), 0x2fffn);
});

Deno.test("rep movsb from MMIO and rep stosb to MMIO exit per element and resume", () => {
  // rep movsb (rsi = MMIO); mov ecx, 2; mov rdi, 0xd0000; rep stosb; hlt
  const { cpu, mmu } = flatMachine({
    code: "f3a4b90200000048c7c700000d00f3aaf4",
    gprs: { rsi: 0xd0010n, rdi: 0x3000n, rcx: 2n, rax: 0x77n },
    mmio: [[0xd0000, 0xe0000]],
  });
  assertEquals(cpu.run(100), { kind: "mmio", gpa: 0xd0010, len: 1, isWrite: false, value: 0n });
  cpu.completeMmioRead(0x11n);
  assertEquals(cpu.run(100), { kind: "mmio", gpa: 0xd0011, len: 1, isWrite: false, value: 0n });
  assertEquals(cpu.rip(), 0x1000n, "rep not finished");
  assertEquals(cpu.gpr(RCX), 1n);
  cpu.completeMmioRead(0x22n);
  assertEquals(cpu.run(100), { kind: "mmio", gpa: 0xd0000, len: 1, isWrite: true, value: 0x77n });
  assertEquals(cpu.gpr(RCX), 1n);
  assertEquals(cpu.run(100), { kind: "mmio", gpa: 0xd0001, len: 1, isWrite: true, value: 0x77n });
  assertEquals(cpu.gpr(RCX), 0n);
  assertEquals(cpu.run(100).kind, "hlt");
  assertEquals([...mmu.mem.subarray(0x3000, 0x3002)], [0x11, 0x22]);
  assertEquals(cpu.instructions, 5);
});

Deno.test("a new vCPU 0 on the same port (a guest reload) does not reuse old code", () => {
  // mov eax, 1; hlt
  const { cpu, mmu } = flatMachine({ code: "b801000000f4" });
  assertEquals(cpu.run(10).kind, "hlt");
  mmu.load(0x1001, [2]); // host-side rewrite: mov eax, 2
  cpu.invalidateCode({ gfn: 1, count: 1 });
  const again = createCpu(0, mmu, testBootState({ rip: 0x1000n }));
  assertEquals(again.run(10).kind, "hlt");
  assertEquals(again.gpr(RAX), 2n);
  mmu.load(0x1001, [3]);
  const reload = createCpu(0, mmu, testBootState({ rip: 0x1000n }));
  assertEquals(reload.run(10).kind, "hlt");
  assertEquals(reload.gpr(RAX), 3n);
});
