import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import {
  type BootImage,
  buildBootImage,
  decodeDescriptor,
  DEFAULT_SYSTEM_REGION,
  type GpaRange,
  PAT_RESET_VALUE,
  SIZE_1G,
  SIZE_2M,
  SIZE_4K,
  UCALL_SLOT_SIZE,
} from "../../guest/mod.ts";
import type { GuestSpec, MemslotInfo } from "../../vmm/types.ts";

const MiB = 1n << 20n;
const GiB = 1n << 30n;

function slot(name: string, gpa: bigint, size: bigint, id = 1): MemslotInfo {
  return { name, id, gpa, size, flags: [], backing: "anon", hugepage: SIZE_2M };
}

const RAM = slot("ram", MiB, 64n * MiB, 1);
const ROM = slot("rom", 0x1000_0000n, 128n * 1024n, 2);
const GPU = slot("gpu.shm", 0x2000_0000n, MiB, 3);
const BIG = slot("big", 1n << 40n, 512n * GiB, 4);
const SLOTS = [RAM, ROM, GPU, BIG];

function payload(name: string, params: Record<string, bigint | string> = {}): GuestSpec {
  return { kind: "payload", name, params };
}

/** Guest-physical memory as the image's writes leave it (unwritten bytes are 0). */
class Memory {
  #pages = new Map<bigint, Uint8Array>();
  constructor(image: BootImage) {
    for (const w of image.writes) {
      for (let i = 0; i < w.bytes.length; i++) {
        const gpa = w.gpa + BigInt(i);
        const pg = gpa & ~0xfffn;
        let p = this.#pages.get(pg);
        if (!p) this.#pages.set(pg, p = new Uint8Array(4096));
        p[Number(gpa & 0xfffn)] = w.bytes[i];
      }
    }
  }
  u64(gpa: bigint): bigint {
    const p = this.#pages.get(gpa & ~0xfffn);
    if (!p) return 0n;
    return new DataView(p.buffer).getBigUint64(Number(gpa & 0xfffn), true);
  }
}

interface Translation {
  pa: bigint;
  size: bigint;
  entry: bigint;
  entryGpa: bigint;
}

/** A 4-level page walk (no permission checks): the leaf, or null when not present. */
function walk(mem: Memory, cr3: bigint, va: bigint): Translation | null {
  let table = cr3 & 0xf_ffff_ffff_f000n;
  for (const [shift, size] of [[39n, 0n], [30n, SIZE_1G], [21n, SIZE_2M], [12n, SIZE_4K]]) {
    const entryGpa = table + ((va >> shift) & 0x1ffn) * 8n;
    const e = mem.u64(entryGpa);
    if (!(e & 1n)) return null;
    const addr = e & 0xf_ffff_ffff_f000n;
    if (shift === 12n || (size !== 0n && (e & 0x80n))) {
      const base = size === SIZE_4K ? addr : addr & ~(size - 1n);
      return { pa: base + (va & (size - 1n)), size, entry: e, entryGpa };
    }
    table = addr;
  }
  return null;
}

function inside(outer: GpaRange, gpa: bigint, size = 1n): boolean {
  return gpa >= outer.gpa && gpa + size <= outer.gpa + outer.size;
}

/** Checks identity mapping of every page of `r` and returns the leaf sizes seen. */
function assertIdentity(mem: Memory, cr3: bigint, r: GpaRange): Set<bigint> {
  const sizes = new Set<bigint>();
  for (let va = r.gpa; va < r.gpa + r.size;) {
    const t = walk(mem, cr3, va);
    assert(t, `0x${va.toString(16)} is not mapped`);
    assertEquals(t.pa, va, `0x${va.toString(16)} is not identity mapped`);
    sizes.add(t.size);
    va = (va & ~(t.size - 1n)) + t.size;
  }
  return sizes;
}

Deno.test("buildBootImage: write_sweep maps the system region and the swept range only", () => {
  const image = buildBootImage({
    guest: payload("write_sweep", { slot: "ram" }),
    slots: SLOTS,
    vcpus: 1,
  });
  const mem = new Memory(image);
  const cr3 = image.vcpus[0].cr3;
  assertEquals(image.mapped, [{ gpa: 0n, size: 65n * MiB }]);
  const sizes = assertIdentity(mem, cr3, { gpa: 0n, size: 65n * MiB });
  assertEquals([...sizes].sort(), [SIZE_2M, SIZE_4K]); // 2M leaves where aligned, 4K in the tail
  assertEquals(walk(mem, cr3, 65n * MiB), null);
  assertEquals(walk(mem, cr3, ROM.gpa), null);
  for (const off of [0n, GiB, 511n * GiB]) assertEquals(walk(mem, cr3, BIG.gpa + off), null);
  // Page tables, GDT, code: all in the system region, and few tables.
  assert(image.pageTablePages.length <= 5, `${image.pageTablePages.length} table pages`);
  for (const p of image.pageTablePages) assert(inside(DEFAULT_SYSTEM_REGION, p, SIZE_4K));
  for (const w of image.writes) {
    assert(inside(DEFAULT_SYSTEM_REGION, w.gpa, BigInt(w.bytes.length)));
  }
  assert(inside(DEFAULT_SYSTEM_REGION, image.vcpus[0].rip));
});

Deno.test("buildBootImage: entry state is 64-bit long mode with the selftests' segments", () => {
  const image = buildBootImage({ guest: payload("spin"), slots: [], vcpus: 3 });
  const mem = new Memory(image);
  image.vcpus.forEach((v, i) => {
    assertEquals(v.cr0, 0x80050033n);
    assertEquals(v.cr4, 0x620n);
    assertEquals(v.efer, 0x500n);
    assertEquals(v.pat, PAT_RESET_VALUE);
    assertEquals(v.rflags, 2n);
    assertEquals(v.gprs.rdi, BigInt(i));
    assertEquals(v.gprs.rsi, 3n);
    assertEquals(v.gprs.r15, image.ucallSlots[i]);
    assertEquals(v.idt.limit, 0);
    assertEquals(v.ldt.unusable, 1);
    assertEquals({ sel: v.cs.selector, type: v.cs.type, l: v.cs.l, s: v.cs.s, p: v.cs.present }, {
      sel: 8,
      type: 11,
      l: 1,
      s: 1,
      p: 1,
    });
    for (const d of [v.ds, v.es, v.fs, v.gs, v.ss]) {
      assertEquals([d.selector, d.type, d.s, d.present], [0x10, 3, 1, 1]);
    }
    assertEquals([v.tr.selector, v.tr.type, v.tr.s, v.tr.present], [0x18, 11, 0, 1]);
    // Each GDT descriptor decodes to the state the vCPU is given.
    const desc = (sel: number) => mem.u64(v.gdt.base + BigInt(sel));
    assertEquals(decodeDescriptor(desc(8)), { ...v.cs, selector: 0 });
    assertEquals(decodeDescriptor(desc(0x10)), { ...v.ds, selector: 0 });
    assertEquals(decodeDescriptor(desc(0x18), desc(0x20)), { ...v.tr, selector: 0 });
    assertEquals(desc(0), 0n);
    assert(v.gdt.limit >= 0x27);
    // Stacks and ucall slots are in the system region, mapped, and distinct per vCPU.
    const rsp = v.gprs.rsp!;
    assertEquals(rsp % 16n, 0n);
    assert(inside(DEFAULT_SYSTEM_REGION, rsp - 8n, 8n));
    assert(inside(DEFAULT_SYSTEM_REGION, v.gprs.r15!, BigInt(UCALL_SLOT_SIZE)));
    assertEquals(walk(mem, v.cr3, rsp - 8n)?.pa, rsp - 8n);
    assertEquals(walk(mem, v.cr3, v.rip)?.pa, v.rip);
    assert(inside(DEFAULT_SYSTEM_REGION, v.tr.base, 104n));
  });
  const stacks = new Set(image.vcpus.map((v) => v.gprs.rsp));
  assertEquals(stacks.size, 3);
  const slots = image.ucallSlots;
  assertEquals(slots[1] - slots[0], BigInt(UCALL_SLOT_SIZE));
  assertEquals(new Set(image.vcpus.map((v) => v.cr3)).size, 1);
});

Deno.test("buildBootImage: a 512 GiB range needs 1G pages or a bigger system region", () => {
  const guest = payload("touch", { slot: "big", pattern: "random", count: 16n });
  const err = assertThrows(() => buildBootImage({ guest, slots: SLOTS, vcpus: 1 }), RangeError);
  assertStringIncludes(err.message, "system gpa A size S");
  assertStringIncludes(err.message, "shrink the range");
  // With 1G pages the whole slot costs one PDPT.
  const image = buildBootImage({ guest, slots: SLOTS, vcpus: 1, allow1G: true });
  const mem = new Memory(image);
  const cr3 = image.vcpus[0].cr3;
  for (const off of [0n, 7n * GiB + 12345n, 511n * GiB + 0xfffn]) {
    const t = walk(mem, cr3, BIG.gpa + off);
    assertEquals(t?.pa, BIG.gpa + off);
    assertEquals(t?.size, SIZE_1G);
  }
  assertEquals(walk(mem, cr3, BIG.gpa + 512n * GiB), null);
  // Without 1G pages, an 8 MiB system region holds the 512 page directories.
  const system = { gpa: GiB, size: 8n * MiB };
  const big = buildBootImage({ guest, slots: SLOTS, vcpus: 1, system });
  const bm = new Memory(big);
  const t = walk(bm, big.vcpus[0].cr3, BIG.gpa + 300n * GiB + 0x5000n);
  assertEquals(t?.pa, BIG.gpa + 300n * GiB + 0x5000n);
  assertEquals(t?.size, SIZE_2M);
  for (const p of big.pageTablePages) assert(inside(system, p, SIZE_4K));
  assert(big.pageTablePages.length > 512);
});

Deno.test("buildBootImage: touch seq maps only the touched pages", () => {
  const image = buildBootImage({
    guest: payload("touch", { slot: "big", count: 3n }),
    slots: SLOTS,
    vcpus: 1,
  });
  assertEquals(image.mapped, [DEFAULT_SYSTEM_REGION, { gpa: BIG.gpa, size: 3n * SIZE_4K }]);
  const mem = new Memory(image);
  assertEquals(walk(mem, image.vcpus[0].cr3, BIG.gpa + 2n * SIZE_4K)?.pa, BIG.gpa + 2n * SIZE_4K);
  assertEquals(walk(mem, image.vcpus[0].cr3, BIG.gpa + 3n * SIZE_4K), null);
});

Deno.test("buildBootImage: gpu_fill maps the shm region with 4K PTEs selecting PAT entry 4", () => {
  const image = buildBootImage({
    guest: payload("gpu_fill", { device: "gpu", pat: "wc", size: 64n * 1024n }),
    slots: SLOTS,
    vcpus: 1,
  });
  const mem = new Memory(image);
  const cr3 = image.vcpus[0].cr3;
  for (let off = 0n; off < 64n * 1024n; off += SIZE_4K) {
    const t = walk(mem, cr3, GPU.gpa + off)!;
    assertEquals(t.pa, GPU.gpa + off);
    assertEquals(t.size, SIZE_4K);
    assertEquals(t.entry & 0x98n, 0x80n); // PAT=1, PCD=0, PWT=0: index 4
  }
  assertEquals(walk(mem, cr3, GPU.gpa + 64n * 1024n), null);
  // Other mappings keep PAT index 0.
  const sys = walk(mem, cr3, 0x1000n)!;
  assertEquals(sys.entry & 0x98n, 0n);
});

Deno.test("buildBootImage: pt_write gets a scratch PTE per vCPU in a page-table page", () => {
  const image = buildBootImage({ guest: payload("pt_write", { count: 4n }), slots: [], vcpus: 2 });
  const mem = new Memory(image);
  const cr3 = image.vcpus[0].cr3;
  // Find the scratch VA: the top 2 MiB block below 128 TiB.
  const va = (1n << 47n) - SIZE_2M;
  for (let i = 0n; i < 2n; i++) {
    const t = walk(mem, cr3, va + i * SIZE_4K)!;
    assertEquals(t.size, SIZE_4K);
    assert(image.pageTablePages.includes(t.entryGpa & ~0xfffn));
    assert(inside(DEFAULT_SYSTEM_REGION, t.pa, SIZE_4K)); // data page A_i
    // The page-table page itself is identity mapped, so the guest can write it.
    assertEquals(walk(mem, cr3, t.entryGpa)?.pa, t.entryGpa);
  }
});

Deno.test("buildBootImage: the system region can live elsewhere", () => {
  const system = { gpa: 0x8000_0000n, size: 2n * MiB };
  const image = buildBootImage({
    guest: payload("read_sweep", { slot: "ram", size: MiB }),
    slots: SLOTS,
    vcpus: 2,
    system,
  });
  for (const p of image.pageTablePages) assert(inside(system, p, SIZE_4K));
  for (const s of image.ucallSlots) assert(inside(system, s, 64n));
  for (const v of image.vcpus) {
    assert(inside(system, v.rip));
    assert(inside(system, v.gprs.rsp! - 8n, 8n));
    assert(inside(system, v.gdt.base, SIZE_4K));
  }
  assertEquals(image.mapped, [{ gpa: MiB, size: MiB }, system]);
  const mem = new Memory(image);
  assertEquals(walk(mem, image.vcpus[0].cr3, 0n), null);
  assertIdentity(mem, image.vcpus[0].cr3, system);
});

Deno.test("buildBootImage: a long-mode file maps the region, its slot and the slots that fit", () => {
  const bytes = new Uint8Array([0xf4]);
  const image = buildBootImage({
    guest: { kind: "file", bytes, load: 0x200000n, entry: 0x200000n, mode: "long" },
    slots: SLOTS,
    vcpus: 1,
  });
  assertEquals(image.vcpus[0].rip, 0x200000n);
  assert(image.writes.some((w) => w.gpa === 0x200000n && w.bytes[0] === 0xf4));
  // ram (holding the file), rom and gpu fit; the 512 GiB slot's 2M tables do not.
  assertEquals(image.mapped, [
    { gpa: 0n, size: 65n * MiB },
    { gpa: ROM.gpa, size: ROM.size },
    { gpa: GPU.gpa, size: GPU.size },
  ]);
  const all = buildBootImage({
    guest: { kind: "file", bytes, load: 0x200000n, entry: 0x200000n, mode: "long" },
    slots: SLOTS,
    vcpus: 1,
    allow1G: true,
  });
  assert(all.mapped.some((r) => r.gpa === BIG.gpa && r.size === BIG.size));
});

Deno.test("buildBootImage: a file inside the system region is not overwritten", () => {
  const bytes = new Uint8Array(0x1800).fill(0xcc);
  const image = buildBootImage({
    guest: { kind: "file", bytes, load: 0x1000n, entry: 0x1000n, mode: "long" },
    slots: [],
    vcpus: 2,
  });
  const file = { gpa: 0x1000n, size: 0x1800n };
  const mem = new Memory(image);
  for (let a = file.gpa; a < file.gpa + file.size; a += 8n) {
    assertEquals(mem.u64(a), 0xccccccccccccccccn);
  }
  const taken = [
    ...image.pageTablePages.map((p) => ({ gpa: p, size: SIZE_4K })),
    ...image.ucallSlots.map((s) => ({ gpa: s, size: 64n })),
    { gpa: image.vcpus[0].gdt.base, size: SIZE_4K },
    ...image.vcpus.map((v) => ({ gpa: v.gprs.rsp! - SIZE_4K, size: SIZE_4K })),
  ];
  for (const t of taken) {
    assert(t.gpa + t.size <= file.gpa || t.gpa >= 0x3000n, `0x${t.gpa.toString(16)} overlaps`);
  }
});

Deno.test("buildBootImage: a real-mode file enters at CS:IP derived from the entry", () => {
  const image = buildBootImage({
    guest: {
      kind: "file",
      bytes: new Uint8Array([0xf4]),
      load: 0x17c00n,
      entry: 0x17c00n,
      mode: "real",
    },
    slots: [],
    vcpus: 1,
  });
  const v = image.vcpus[0];
  assertEquals(v.cs.selector, 0x1000);
  assertEquals(v.cs.base, 0x10000n);
  assertEquals(v.rip, 0x7c00n);
  assertEquals(v.cr0 & 1n, 0n);
  assertEquals(v.efer, 0n);
  assertEquals(image.mapped, []);
  assertEquals(image.pageTablePages, []);
  assertEquals(v.ss.base + v.gprs.rsp!, v.ss.base + (v.gprs.rsp! & 0xffffn));
  assert(v.ss.base + (v.gprs.rsp || 0x10000n) <= DEFAULT_SYSTEM_REGION.size);
});

Deno.test("buildBootImage: invalid payload parameters are one RangeError naming them", () => {
  const err = assertThrows(
    () =>
      buildBootImage({
        guest: payload("write_sweep", { slot: "rom", stride: 12n, bogus: 1n }),
        slots: [RAM],
        vcpus: 1,
      }),
    RangeError,
  );
  assertStringIncludes(err.message, 'parameter "slot" names no memslot "rom"');
  assertStringIncludes(err.message, 'unknown parameter "bogus"');
  assertThrows(
    () => buildBootImage({ guest: payload("nope"), slots: [], vcpus: 1 }),
    RangeError,
    'unknown payload "nope"',
  );
  assertThrows(
    () => buildBootImage({ guest: payload("spin"), slots: [], vcpus: 300 }),
    RangeError,
    "system gpa A size S",
  );
});
