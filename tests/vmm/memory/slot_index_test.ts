/**
 * The shared memslot model (`vmm/memory/`): the ordered index against a
 * brute-force model under random inserts, deletes and moves; KVM's
 * lowest-free slot ids; and the slot-id limit, which both backends reach
 * at the same count (32763 user slots next to the system region).
 *
 * @module
 */
import { assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { emuBackend } from "../../../vmm/emu/mod.ts";
import { ErrnoError } from "../../../vmm/errors.ts";
import { type IndexedSlot, SlotIndex } from "../../../vmm/memory/slot_index.ts";
import { checkCreate, KVM_USER_MEM_SLOTS } from "../../../vmm/memory/slot_rules.ts";

interface S extends IndexedSlot {
  baseGfn: number;
}

/** xorshift32: a fixed sequence, so a failure replays. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

Deno.test("SlotIndex agrees with a brute-force table under random changes", () => {
  const r = rng(12345);
  const index = new SlotIndex<S>();
  const live: S[] = [];
  const brute = (gfn: number) => live.find((s) => gfn >= s.baseGfn && gfn < s.baseGfn + s.npages);
  for (let step = 0; step < 4000; step++) {
    const op = r();
    if (op < 0.5 || live.length === 0) {
      const baseGfn = Math.floor(r() * 5000), npages = 1 + Math.floor(r() * 20);
      const overlap = index.overlapping(baseGfn, npages);
      const bruteOverlap = live.find((s) =>
        baseGfn < s.baseGfn + s.npages && s.baseGfn < baseGfn + npages
      );
      assertEquals(overlap !== null, bruteOverlap !== undefined, `overlap at step ${step}`);
      if (overlap !== null) continue;
      const s: S = { name: `s${step}`, id: index.peekId(), baseGfn, npages };
      index.insert(s);
      live.push(s);
    } else if (op < 0.8) {
      const s = live.splice(Math.floor(r() * live.length), 1)[0];
      index.remove(s);
    } else {
      const s = live[Math.floor(r() * live.length)];
      const to = Math.floor(r() * 5000);
      if (index.overlapping(to, s.npages, s) !== null) continue;
      s.baseGfn = to;
      index.moved(s);
    }
    const g = Math.floor(r() * 5100);
    assertEquals(index.find(g) ?? undefined, brute(g), `find(${g}) at step ${step}`);
  }
  assertEquals(index.ordered(), [...live].sort((a, b) => a.baseGfn - b.baseGfn));
  assertEquals(index.size, live.length);
});

Deno.test("SlotIndex hands out the lowest free id, as KVM's users assign them", () => {
  const index = new SlotIndex<S>();
  const mk = (name: string, baseGfn: number): S => ({
    name,
    id: index.peekId(),
    baseGfn,
    npages: 1,
  });
  const slots = ["a", "b", "c", "d"].map((n, i) => {
    const s = mk(n, i * 10);
    index.insert(s);
    return s;
  });
  assertEquals(slots.map((s) => s.id), [0, 1, 2, 3]);
  index.remove(slots[2]);
  index.remove(slots[1]);
  assertEquals(index.peekId(), 1);
  index.insert(mk("e", 100));
  assertEquals(index.peekId(), 2);
  assertEquals(index.byName("b"), undefined);
});

Deno.test("checkCreate refuses the slot after the last id with EINVAL naming KVM_USER_MEM_SLOTS", () => {
  const index = new SlotIndex<S>();
  for (let i = 0; i < KVM_USER_MEM_SLOTS; i++) {
    const r = checkCreate(index, { name: `s${i}`, gpa: BigInt(i) << 12n, size: 4096n }, []);
    index.insert({ name: `s${i}`, id: r.id, baseGfn: r.baseGfn, npages: r.npages });
  }
  const e = assertThrows(
    () => checkCreate(index, { name: "more", gpa: 1n << 40n, size: 4096n }, []),
    ErrnoError,
  );
  assertEquals(e.errno, "EINVAL");
  assertStringIncludes(e.hint, "KVM_USER_MEM_SLOTS is 32764");
});

Deno.test("emu: 32763 user slots fit beside the system region, one more is EINVAL (as on KVM)", () => {
  using vm = emuBackend.createVm({ name: "fill" });
  const n = KVM_USER_MEM_SLOTS - 1;
  for (let i = 0; i < n; i++) {
    vm.addMemslot({ name: `s${i}`, gpa: (1n << 32n) + (BigInt(i) << 12n), size: 4096n });
  }
  assertEquals(vm.memslots().length, n);
  const e = assertThrows(
    () => vm.addMemslot({ name: "more", gpa: 1n << 40n, size: 4096n }),
    ErrnoError,
  );
  assertEquals(e.errno, "EINVAL");
  assertStringIncludes(e.hint, "KVM_USER_MEM_SLOTS");
  vm.deleteMemslot("s7");
  assertEquals(vm.addMemslot({ name: "s7", gpa: 1n << 40n, size: 4096n }).id, 8);
});
