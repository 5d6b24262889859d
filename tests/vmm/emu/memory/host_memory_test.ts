import { assert, assertEquals } from "@std/assert";
import {
  HostMemory,
  HOT_WINDOW,
  SMALL_HITS,
  SMALL_WORDS,
} from "../../../../vmm/emu/memory/host_memory.ts";
import { createVm } from "../../../../vmm/builder.ts";
import { EmuVm } from "../../../../vmm/emu/vm.ts";

const SLOT_512G = 2 ** 27; // pages

Deno.test("host memory: a zero page has no storage and reads as zeros", () => {
  const h = new HostMemory(SLOT_512G);
  assertEquals(h.load(12345, 8, 4), 0);
  assertEquals(h.read(12345 * 4096, 16), new Uint8Array(16));
  h.store(777, 0, 4, 0); // zeros keep it zero
  h.store(777, 3, 1, 0x100); // only the low byte is stored
  assertEquals(h.pageCounts(), { frames: 0, small: 0 });
  assertEquals(h.hostBytes(), 0);
});

Deno.test("host memory: a few words stay small; the next one promotes with the contents", () => {
  const h = new HostMemory(SLOT_512G);
  const page = 99_999_999;
  for (let w = 0; w < SMALL_WORDS; w++) h.store(page, w * 512, 4, 0x1000 + w);
  assertEquals(h.pageCounts(), { frames: 0, small: 1 });
  assertEquals(h.frameOf(page), -1);
  for (let w = 0; w < SMALL_WORDS; w++) assertEquals(h.load(page, w * 512, 4), 0x1000 + w);
  h.store(page, 8, 2, 0xbeef); // a fifth word
  assertEquals(h.pageCounts(), { frames: 1, small: 0 });
  assert(h.frameOf(page) >= 0);
  const v = h.pageView(page);
  for (let w = 0; w < SMALL_WORDS; w++) assertEquals(v.getUint32(w * 512, true), 0x1000 + w);
  assertEquals(v.getUint16(8, true), 0xbeef);
  // Aligned 4-byte stores: both halves of a word are one word; a fifth word promotes.
  for (let w = 0; w < SMALL_WORDS; w++) {
    h.store(7, w * 8, 4, -1 - w);
    h.store(7, w * 8 + 4, 4, w);
  }
  assertEquals(h.pageCounts(), { frames: 1, small: 1 });
  h.store(7, 4000, 4, 5);
  assertEquals(h.pageCounts(), { frames: 2, small: 0 });
  for (let w = 0; w < SMALL_WORDS; w++) {
    assertEquals(h.pageView(7).getInt32(w * 8, true), -1 - w);
    assertEquals(h.pageView(7).getInt32(w * 8 + 4, true), w);
  }
  assertEquals(h.pageView(7).getInt32(4000, true), 5);
});

Deno.test("host memory: bytes of a small page, across word boundaries, little-endian", () => {
  const h = new HostMemory(16);
  h.store(3, 6, 4, 0x44332211 | 0); // bytes 6..9: two words
  assertEquals(h.load(3, 6, 4), 0x44332211);
  assertEquals(h.load(3, 8, 2), 0x4433);
  assertEquals(h.load(3, 7, 1), 0x22);
  h.store(3, 7, 1, 0xff);
  assertEquals(h.load(3, 6, 4), 0x4433ff11);
  assertEquals(h.read(3 * 4096 + 5, 6), new Uint8Array([0, 0x11, 0xff, 0x33, 0x44, 0]));
  assertEquals(h.pageCounts().frames, 0);
  // The same bytes once the page is a frame.
  assertEquals(h.page(3).subarray(5, 11), new Uint8Array([0, 0x11, 0xff, 0x33, 0x44, 0]));
  assertEquals(h.pageCounts(), { frames: 1, small: 0 });
});

Deno.test("host memory: a page used often through the slow path becomes a frame", () => {
  const h = new HostMemory(16);
  h.store(1, 0, 4, 7);
  for (let i = 0; i < SMALL_HITS; i++) assertEquals(h.load(1, 0, 4), 7);
  assertEquals(h.frameOf(1), -1);
  assertEquals(h.load(1, 0, 4), 7);
  assert(h.frameOf(1) >= 0);
});

Deno.test("host memory: a sweep that comes back to each page once per pass keeps them small", () => {
  const pages = HOT_WINDOW + 1;
  const h = new HostMemory(pages);
  for (let pass = 1; pass <= 2 * SMALL_HITS; pass++) {
    for (let i = 0; i < pages; i++) h.store(i, 64, 4, pass);
  }
  assertEquals(h.pageCounts(), { frames: 0, small: pages });
  assertEquals(h.load(pages - 1, 64, 4), 2 * SMALL_HITS);
});

Deno.test("host memory: short host writes stay small, long ones make frames", () => {
  const h = new HostMemory(64);
  h.write(5 * 4096 + 16, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
  assertEquals(h.pageCounts(), { frames: 0, small: 1 });
  h.write(9 * 4096 - 4, new Uint8Array(64).fill(9)); // spans pages 8 and 9
  assertEquals(h.pageCounts(), { frames: 1, small: 2 });
  assertEquals(h.read(9 * 4096 - 4, 64), new Uint8Array(64).fill(9));
  assertEquals(h.read(5 * 4096 + 15, 10), new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 0]));
});

Deno.test("host memory: cost follows words written, not pages touched", () => {
  const h = new HostMemory(SLOT_512G);
  const pages = 50_000;
  for (let i = 0; i < pages; i++) h.store(i * 2503, 0, 4, i + 1);
  assertEquals(h.pageCounts(), { frames: 0, small: pages });
  assert(h.hostBytes() < pages * 100, `${h.hostBytes()} B for ${pages} one-word pages`);
  for (let i = 0; i < pages; i += 997) assertEquals(h.load(i * 2503, 0, 4), i + 1);
  h.release();
  assertEquals(h.hostBytes(), 0);
  assertEquals(h.load(2503, 0, 4), 0);
});

Deno.test("host memory: absent backing tracks presence apart from contents", () => {
  const h = new HostMemory(100_000, true);
  assert(!h.isPresent(40_000));
  h.populate(39_990, 20);
  assert(h.isPresent(40_000) && h.isPresent(39_990) && !h.isPresent(40_010));
  assertEquals(h.hostBytes(), 0);
  h.page(50_000);
  assert(h.isPresent(50_000));
});

Deno.test("host memory: the guest's one-word pages stay small and read back through the CPU", async () => {
  const vm = createVm({
    backend: "emu",
    memslots: [{ name: "ram", gpa: 1n << 30n, size: 64n << 20n }],
    guest: {
      kind: "payload",
      name: "touch",
      params: { slot: "ram", count: 2000n, pattern: "random", seed: 3n },
    },
  });
  try {
    const exit = await vm.run({ timeoutMs: 60_000 });
    assertEquals(exit.reason, "done"); // the payload checks its first page's word
    assert(vm instanceof EmuVm);
    const counts = vm.memory.slots.byName("ram")!.host.pageCounts();
    assert(counts.small > 1500 && counts.frames < 10, JSON.stringify(counts));
    // Each touched page holds its own GPA in its first word.
    const page = 1n << 30n;
    const touched = [...Array(16384).keys()].map((i) => page + BigInt(i) * 4096n)
      .filter((gpa) => vm.readSlot("ram", gpa - page) !== 0n);
    assert(touched.length > 1500, `${touched.length} pages written`);
    for (const gpa of touched) assertEquals(vm.readSlot("ram", gpa - page), gpa);
  } finally {
    vm.close();
  }
});
