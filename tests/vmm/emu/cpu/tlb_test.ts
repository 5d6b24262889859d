/**
 * The software TLB's reverse map (guest frame → entries): flushGfn,
 * demoteWrites and dropCodeWrites find every entry holding a frame and no
 * other, across reverse-map bucket collisions, refills, flushAll and grow.
 */
import { assert, assertEquals } from "@std/assert";
import { SoftTlb, TLB_SIZE } from "../../../../vmm/emu/cpu/tlb.ts";

const VIEW = new DataView(new ArrayBuffer(4096));
const PAGE = new Uint8Array(4096);
const empty = (x: number) => x !== x;

Deno.test("SoftTlb reverse map: flushGfn drops exactly the entries holding the frame", () => {
  const t = new SoftTlb();
  const buckets = TLB_SIZE * 4; // gfns this far apart share a reverse-map bucket
  t.fillR(1, 101, VIEW, 7);
  t.fillW(1, 101, VIEW, 7);
  t.fillR(2, 102, VIEW, 7 + buckets);
  t.fillX(3, 103, PAGE, 7);
  t.fillCW(4, 104, VIEW, 7 + 2 * buckets);
  // Entry 5 held frame 7, then was refilled with frame 8: only 8 now.
  t.fillR(5, 105, VIEW, 7);
  t.fillR(5, 205, VIEW, 8);
  const gen = t.generation;
  t.flushGfn(7);
  assert(empty(t.tagR[1]) && empty(t.tagW[1]) && empty(t.tagX[3]));
  assertEquals(t.tagR[2], 102);
  assertEquals(t.tagCW[4], 104);
  assertEquals(t.tagR[5], 205);
  assert(t.generation > gen);
  const gen2 = t.generation;
  t.flushGfn(9); // nothing held it: no generation bump
  assertEquals(t.generation, gen2);
  t.flushGfn(8);
  assert(empty(t.tagR[5]));
  // Frame 7 was noted and flushed: flushing it again changes nothing.
  const gen3 = t.generation;
  t.flushGfn(7);
  assertEquals(t.generation, gen3);
  // A frame whose only entry was refilled with another frame was noted since
  // the last flush: flushing it bumps the generation (compiled blocks re-check).
  t.fillX(6, 106, PAGE, 11);
  t.fillX(6, 206, PAGE, 12);
  t.flushGfn(11);
  assertEquals(t.generation, gen3 + 1);
  assertEquals(t.tagX[6], 206);
  t.flushGfn(7 + buckets);
  assert(empty(t.tagR[2]));
  assertEquals(t.tagCW[4], 104);
});

Deno.test("SoftTlb reverse map: demote, drop code writes, flushAll and refills", () => {
  const t = new SoftTlb();
  t.fillW(1, 101, VIEW, 3);
  t.fillW(2, 102, VIEW, 3);
  t.fillW(3, 103, VIEW, 4);
  t.demoteWrites(3);
  assert(empty(t.tagW[1]) && empty(t.tagW[2]));
  assertEquals([t.tagCW[1], t.tagCW[2], t.tagW[3]], [101, 102, 103]);
  t.dropCodeWrites(3);
  assert(empty(t.tagCW[1]) && empty(t.tagCW[2]));
  assertEquals(t.tagW[3], 103);
  t.flushAll();
  assert(empty(t.tagW[3]));
  // Refill after flushAll; every fill of the same entries keeps one chain entry each.
  for (let r = 0; r < 1000; r++) t.fillR(r & 15, 1000 + r, VIEW, 50 + (r & 1));
  t.flushGfn(50);
  for (let i = 0; i < 16; i++) {
    if (t.gfnR[i] === 50) assert(empty(t.tagR[i]));
    else assertEquals(t.gfnR[i], 51);
  }
  t.flushGfn(51);
  for (let i = 0; i < 16; i++) assert(empty(t.tagR[i]));
});

Deno.test("SoftTlb reverse map: at 4 × size frames it keeps only live ones", () => {
  const t = new SoftTlb();
  const n = 4 * t.size;
  // n distinct frames through one entry: only the last is live.
  for (let g = 0; g < n; g++) t.fillR(0, 1000 + g, VIEW, g);
  t.fillR(1, 5000, VIEW, n); // the set is full: rebuilt from live entries (frames n - 1 and n)
  const gen = t.generation;
  t.flushGfn(0); // forgotten by the rebuild
  assertEquals(t.generation, gen);
  t.flushGfn(n - 1);
  assertEquals(t.generation, gen + 1);
  assert(empty(t.tagR[0]));
  assertEquals(t.tagR[1], 5000);
  t.flushGfn(n);
  assert(empty(t.tagR[1]));
});

Deno.test("SoftTlb reverse map survives grow", () => {
  const t = new SoftTlb();
  for (let i = 0; i <= 4 * t.size; i++) t.fillR(i & t.mask, i, VIEW, i);
  assert(t.growPending);
  t.grow();
  assertEquals(t.size, 2 * TLB_SIZE);
  t.fillR(TLB_SIZE + 1, 9, VIEW, 42);
  t.flushGfn(42);
  assert(empty(t.tagR[TLB_SIZE + 1]));
});
