/**
 * Payload runs: each payload executed on the strict interpreter in
 * `payload_machine.ts`, checking its ucalls and the memory it leaves.
 */
import { assertEquals } from "@std/assert";
import {
  dirtyWriterShare,
  GPU_FILL_PAT_INDEX,
  MSR_IA32_PAT,
  PAT_TYPES,
  patValue,
  touchedPages,
  validatePayloadParams,
} from "../../guest/mod.ts";
import {
  boot,
  countedSyncs,
  GPU,
  KiB,
  M64,
  MiB,
  PAGE,
  RAM,
  ROM,
  SLOTS,
} from "./payload_machine.ts";

Deno.test("write_sweep syncs each pass and writes the pass number per stride", () => {
  const { m, cpus } = boot("write_sweep", { slot: "ram", size: 64n * KiB, passes: 3n });
  cpus[0].run();
  assertEquals(cpus[0].events, countedSyncs("pass", 3));
  for (let off = 0n; off < 64n * KiB; off += PAGE) assertEquals(m.readPhys(RAM.gpa + off, 8), 3n);
  assertEquals(m.readPhys(RAM.gpa + 64n * KiB, 8), 0n);
  assertEquals(m.readPhys(RAM.gpa + 8n, 8), 0n);
});

Deno.test("write_sweep writes an explicit value at offset and stride", () => {
  const { m, cpus } = boot("write_sweep", {
    slot: "ram",
    offset: 8n * KiB,
    size: 256n,
    stride: 64n,
    value: 0xfedc_ba98_7654_3210n,
  });
  cpus[0].run();
  assertEquals(cpus[0].events.length, 2);
  for (let off = 0n; off < 256n; off += 64n) {
    assertEquals(m.readPhys(RAM.gpa + 8n * KiB + off, 8), 0xfedc_ba98_7654_3210n);
  }
  assertEquals(m.readPhys(RAM.gpa + 8n * KiB + 256n, 8), 0n);
});

Deno.test("read_sweep reports the wrapping 64-bit sum per pass", () => {
  const { m, cpus } = boot("read_sweep", { slot: "rom", stride: 8n * KiB, passes: 2n });
  let sum = 0n;
  for (let off = 0n; off < ROM.size; off += 8n * KiB) {
    const v = (0x8000_0000_0000_0000n + off * 7n) & M64;
    m.writePhys(ROM.gpa + off, 8, v);
    sum = (sum + v) & M64;
  }
  cpus[0].run();
  assertEquals(cpus[0].events, [
    { cmd: "sync", label: "sum", value: sum },
    { cmd: "sync", label: "sum", value: sum },
    { cmd: "done" },
  ]);
});

Deno.test("touch seq and random write each touched page's GPA", () => {
  for (const pattern of ["seq", "random"]) {
    const range = { gpa: RAM.gpa + MiB, size: MiB };
    const { m, cpus } = boot("touch", {
      slot: "ram",
      offset: MiB,
      size: MiB,
      count: 40n,
      pattern,
      seed: 7n,
    });
    cpus[0].run();
    assertEquals(cpus[0].events, [{ cmd: "done" }], pattern);
    const pages = touchedPages(range, { count: 40n, pattern, seed: 7n });
    for (const p of pages) assertEquals(m.readPhys(p, 8), p);
    let written = 0;
    for (let p = range.gpa; p < range.gpa + range.size; p += PAGE) {
      if (m.readPhys(p, 8) !== 0n) written++;
    }
    assertEquals(written, new Set(pages).size, pattern);
  }
});

Deno.test("touch with write off only reads; a lost write fails the readback check", () => {
  const ro = boot("touch", { slot: "ram", count: 4n, write: "off" });
  ro.cpus[0].run();
  assertEquals(ro.cpus[0].events, [{ cmd: "done" }]);
  assertEquals(ro.m.readPhys(RAM.gpa, 8), 0n);
  const lost = boot("touch", { slot: "ram", count: 4n });
  lost.m.writeFilter = (gpa) => gpa !== RAM.gpa;
  lost.cpus[0].run();
  assertEquals(lost.cpus[0].events, [{ cmd: "fail", label: "readback", value: 0n }]);
});

Deno.test("boot_sim touches RAM, reads the ROM and syncs remap i", () => {
  const { m, cpus } = boot("boot_sim", { ram: "ram", rom: "rom", remaps: 3n, touch: 256n * KiB });
  cpus[0].run();
  assertEquals(cpus[0].events, countedSyncs("remap", 3));
  assertEquals(m.readPhys(RAM.gpa + 252n * KiB, 8), 3n);
  assertEquals(m.readPhys(RAM.gpa + 256n * KiB, 8), 0n);
});

Deno.test("fw_boot writes each page of RAM once, in stages, and syncs enum i", () => {
  const { m, cpus } = boot("fw_boot", { ram: "ram", stages: 3n, step: 128n * KiB });
  cpus[0].run();
  assertEquals(cpus[0].events, countedSyncs("enum", 3));
  assertEquals(m.readPhys(RAM.gpa, 8), 1n);
  assertEquals(m.readPhys(RAM.gpa + 128n * KiB, 8), 2n);
  assertEquals(m.readPhys(RAM.gpa + 380n * KiB, 8), 3n);
  assertEquals(m.readPhys(RAM.gpa + 384n * KiB, 8), 0n);
  assertEquals(
    validatePayloadParams("fw_boot", { ram: "ram", stages: 2n, step: 64n * MiB }, SLOTS)[0]
      .includes("exceeds"),
    true,
  );
});

Deno.test("dirty_writer: each vCPU writes its own share and syncs iter i", () => {
  const { m, cpus } = boot("dirty_writer", { slot: "ram", iterations: 2n, stride: 64n * KiB }, 3);
  const share = dirtyWriterShare(RAM.size, 3);
  cpus.forEach((c, i) => {
    c.run();
    assertEquals(c.events, [
      { cmd: "sync", label: "iter", value: 1n },
      { cmd: "sync", label: "iter", value: 2n },
      { cmd: "done" },
    ], `vcpu ${i}`);
    const base = RAM.gpa + share * BigInt(i);
    assertEquals(m.readPhys(base, 8), 2n);
    assertEquals(m.readPhys(base + share - 64n * KiB, 8), share % (64n * KiB) === 0n ? 2n : 0n);
  });
  assertEquals(m.readPhys(RAM.gpa + share * 3n, 8), 0n); // the remainder is untouched
});

Deno.test("pt_write rewrites its PTE, and the stores land in the selected page", () => {
  const { m, cpus, image } = boot("pt_write", { count: 5n }, 2);
  const va = (1n << 47n) - 2n * MiB;
  const scratchPtes = [0n, 1n].map((i) => cpus[0].pteOf(va + i * PAGE));
  const snapshot = () =>
    image.pageTablePages.flatMap((p) =>
      Array.from({ length: 512 }, (_, i) => p + BigInt(i * 8))
        .filter((a) => !scratchPtes.includes(a))
        .map((a) => m.readPhys(a, 8))
    );
  const before = snapshot();
  for (const c of cpus) {
    c.run();
    assertEquals(c.events, [{ cmd: "done" }]);
  }
  // The last iteration (5, odd) selected page B: its PTE points there, holding 5; A holds 4.
  for (let i = 0n; i < 2n; i++) {
    const b = cpus[0].translate(va + i * PAGE);
    assertEquals(m.readPhys(b, 8), 5n);
    assertEquals(m.readPhys(b - PAGE, 8), 4n);
  }
  assertEquals(snapshot(), before); // only the scratch PTEs changed
  for (const pte of scratchPtes) assertEquals(m.readPhys(pte, 8) & 0xfffn, 3n);
});

Deno.test("gpu_fill programs PAT entry 4 and fills the region", () => {
  for (const pat of ["wc", "uc", "wb"]) {
    const { m, cpus } = boot("gpu_fill", { device: "gpu", pat, size: 40n * KiB, value: 0x1234n });
    cpus[0].run();
    assertEquals(cpus[0].events, [{ cmd: "done" }], pat);
    const msr = m.msrs.get(MSR_IA32_PAT)!;
    assertEquals(msr, patValue(PAT_TYPES[pat]));
    assertEquals((msr >> BigInt(8 * GPU_FILL_PAT_INDEX)) & 0xffn, PAT_TYPES[pat]);
    for (let off = 0n; off < 40n * KiB; off += 8n) {
      assertEquals(m.readPhys(GPU.gpa + off, 8), 0x1234n);
    }
    assertEquals(m.readPhys(GPU.gpa + 40n * KiB, 8), 0n);
  }
  assertEquals(patValue(PAT_TYPES.wc), 0x0007040100070406n);
});

Deno.test("spin never reports", () => {
  const { cpus } = boot("spin", {});
  cpus[0].run(10_000);
  assertEquals(cpus[0].events, []);
  assertEquals(cpus[0].halted, false);
});
