/**
 * Block-level optimisations (flags known statically inside a block, flag
 * records skipped when the next instruction overwrites them, self-loops)
 * must not change results: random straight-line programs with conditional
 * branches run as compiled blocks and, instruction by instruction with a
 * budget of 1 (one-instruction blocks), and must end in the same state.
 * The pool is every register-only ALU/move form of the native vectors
 * (div/idiv excluded, they may fault), operating on rax, rbx, rcx, rdx.
 */
import { assertEquals } from "@std/assert";
import { flatMachine, hexBytes } from "../../../../vmm/emu/cpu/flat_mmu.ts";
import type { Cpu } from "../../../../vmm/emu/cpu/mod.ts";

const POOL =
  "4801d8 4811d8 4829d8 4819d8 4839d8 4821d8 4809d8 4831d8 4885d8 48ffc0 48ffc8 48f7d8 48f7d0 48d1e0 48d3e0 48d1e8 48d3e8 48d1f8 48d3f8 48d1c0 48d3c0 48d1c8 48d3c8 48f7e3 48f7eb 01d8 11d8 29d8 19d8 39d8 21d8 09d8 31d8 85d8 ffc0 ffc8 f7d8 f7d0 d1e0 d3e0 d1e8 d3e8 d1f8 d3f8 d1c0 d3c0 d1c8 d3c8 f7e3 f7eb 6601d8 6611d8 6629d8 6619d8 6639d8 6621d8 6609d8 6631d8 6685d8 66ffc0 66ffc8 66f7d8 66f7d0 66d1e0 66d3e0 66d1e8 66d3e8 66d1f8 66d3f8 66d1c0 66d3c0 66d1c8 66d3c8 66f7e3 66f7eb 00d8 10d8 28d8 18d8 38d8 20d8 08d8 30d8 84d8 fec0 fec8 f6d8 f6d0 d0e0 d2e0 d0e8 d2e8 d0f8 d2f8 d0c0 d2c0 d0c8 d2c8 f6e3 f6eb 00dc 28c7 88dc 88e3 4883c0ff 4805ffffff7f 83e880 0480 4883e0f0 663d0080 4883d001 83d801 480fafc3 0fafc3 660fafc3 486bc307 6bc3fd 4869c378563412 6669c3d4fe 48c1e03f 48c1e83f 48c1f83f c1e000 48c1e020 48c1e820 48c1f821 c1e01f 66c1e80f c0f807 c0e004 48c1c00d c1c81f 66c1c000 480fb6c3 0fb7c3 480fbec3 0fbfc3 660fbec3 4863c3 4899 99 6699 4898 98 6698 4893 93 6693 86d8 488d44cbfb 8d844bffffff7f 668d0413 89d8 6689d8 88d8 48c7c0feffffff b8feffffff 660d0180 34ff a900000080"
    .split(" ").map(hexBytes);

function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function program(next: () => number): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < 40; i++) {
    if (next() % 5 === 0) {
      // jcc over the following 2-byte "inc esi" (ff c6): a flag-dependent path.
      out.push(0x70 + (next() % 16), 2, 0xff, 0xc6);
    } else out.push(...POOL[next() % POOL.length]);
  }
  out.push(0xf4);
  return new Uint8Array(out);
}

function state(cpu: Cpu): bigint[] {
  return [...Array.from({ length: 8 }, (_, i) => cpu.gpr(i)), cpu.rflags(), cpu.rip()];
}

Deno.test("compiled blocks and single-stepping agree on random programs", () => {
  const next = rng(0x5eed);
  for (let t = 0; t < 150; t++) {
    const code = program(next);
    const gprs = {
      rax: BigInt(next()) << 32n | BigInt(next()),
      rbx: BigInt(next()),
      rcx: BigInt(next() % 70),
      rdx: BigInt(next()) << 33n,
    };
    const rflags = BigInt((next() & 0x8d5) | 2);
    const a = flatMachine({ code, gprs, rflags });
    assertEquals(a.cpu.run(1000).kind, "hlt");
    const b = flatMachine({ code, gprs, rflags });
    let stop;
    do stop = b.cpu.run(1); while (stop.kind === "quantum");
    assertEquals(stop.kind, "hlt");
    assertEquals(state(a.cpu), state(b.cpu), `program ${t}`);
    assertEquals(a.cpu.instructions, b.cpu.instructions);
  }
});

Deno.test("a self-looping block and single-stepping agree", () => {
  const next = rng(0x100b);
  for (let t = 0; t < 100; t++) {
    const body: number[] = [];
    for (let i = 0; i < 10; i++) body.push(...POOL[next() % POOL.length]);
    // mov r8d, N; top: body; dec r8d; jnz top; hlt
    const back = -(body.length + 5);
    const code = new Uint8Array([
      0x41,
      0xb8,
      1 + (next() % 20),
      0,
      0,
      0,
      ...body,
      0x41,
      0xff,
      0xc8,
      0x75,
      back & 0xff,
      0xf4,
    ]);
    const gprs = { rax: BigInt(next()) << 29n, rbx: BigInt(next()), rcx: BigInt(next() % 70) };
    const a = flatMachine({ code, gprs });
    assertEquals(a.cpu.run(100_000).kind, "hlt");
    const b = flatMachine({ code, gprs });
    let stop;
    do stop = b.cpu.run(1 + (next() % 3)); while (stop.kind === "quantum");
    assertEquals(stop.kind, "hlt");
    assertEquals(state(a.cpu), state(b.cpu), `loop program ${t}`);
    assertEquals(a.cpu.instructions, b.cpu.instructions);
  }
});

Deno.test("superblocks through direct calls and jumps agree with single-stepping", () => {
  const next = rng(0xca11);
  for (let t = 0; t < 100; t++) {
    // Subroutines at 0x1800 + 0x40*k: a few pool instructions, then ret (c3).
    const subs: number[][] = [];
    for (let k = 0; k < 4; k++) {
      const s: number[] = [];
      for (let i = 0; i < 1 + (next() % 4); i++) s.push(...POOL[next() % POOL.length]);
      subs.push([...s, 0xc3]);
    }
    const main: number[] = [];
    for (let i = 0; i < 30; i++) {
      const kind = next() % 6;
      if (kind === 0) {
        // call rel32 to a subroutine
        const target = 0x1800 + 0x40 * (next() % 4);
        const rel = target - (0x1000 + main.length + 5);
        main.push(0xe8, rel & 0xff, (rel >> 8) & 0xff, (rel >> 16) & 0xff, (rel >> 24) & 0xff);
      } else if (kind === 1) {
        // jmp rel8 over a 2-byte inc esi
        main.push(0xeb, 2, 0xff, 0xc6);
      } else if (kind === 2) {
        // jcc rel8 over a 2-byte inc esi
        main.push(0x70 + (next() % 16), 2, 0xff, 0xc6);
      } else main.push(...POOL[next() % POOL.length]);
    }
    main.push(0xf4);
    const code = new Uint8Array(0x800 + 0x40 * 4);
    code.set(main, 0);
    subs.forEach((s, k) => code.set(s, 0x800 + 0x40 * k));
    const gprs = { rax: BigInt(next()) << 31n, rbx: BigInt(next()), rcx: BigInt(next() % 70) };
    const a = flatMachine({ code, gprs });
    assertEquals(a.cpu.run(100_000).kind, "hlt");
    const b = flatMachine({ code, gprs });
    let stop;
    do stop = b.cpu.run(1); while (stop.kind === "quantum");
    assertEquals(stop.kind, "hlt");
    assertEquals(state(a.cpu), state(b.cpu), `call program ${t}`);
    assertEquals(a.mmu.u64(0x7ff8), b.mmu.u64(0x7ff8), "return addresses");
    assertEquals(a.cpu.instructions, b.cpu.instructions);
  }
});
