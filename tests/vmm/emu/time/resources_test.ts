/**
 * The resources of modelled time on small synthetic cases: every wait is
 * derived by hand from the requests.
 *
 * @module
 */
import { assertEquals, assertThrows } from "@std/assert";
import { Mutex, Pool, RwLock } from "../../../../vmm/emu/time/resources.ts";

Deno.test("Mutex: a request waits for the holder, and an earlier request fits in a gap", () => {
  const m = new Mutex();
  assertEquals(m.take(100, 50), 100); // [100, 150)
  assertEquals(m.take(120, 10), 150); // busy until 150: waits 30
  assertEquals(m.take(300, 20), 300); // [300, 320)
  // Asked later in the simulation but earlier in modelled time: the gap [160, 300) holds it.
  assertEquals(m.take(200, 40), 200);
  // A gap too short ([240, 300) for 70) is skipped: after [300, 320).
  assertEquals(m.take(240, 70), 320);
  assertEquals(m.freeAt, 390);
  assertEquals(m.peek(0, 100), 0); // [0, 100) is free
  assertEquals(m.peek(0, 101), 390); // nothing free for 101 ns until the end
});

Deno.test("RwLock: readers share it, a writer waits for them and they for it", () => {
  const l = new RwLock();
  assertEquals(l.read(0, 100), 0);
  assertEquals(l.read(10, 100), 10); // readers share: no wait
  assertEquals(l.write(20, 50), 110); // after the last reader (10 + 100)
  assertEquals(l.read(130, 5), 160); // behind the writer (110 + 50)
  assertEquals(l.write(0, 1), 165); // behind the reader that started at 160
});

Deno.test("Pool: the server free soonest serves, lowest index on ties", () => {
  const p = new Pool(2);
  assertEquals(p.take(0, 100), 0); // server 0
  assertEquals(p.take(0, 100), 0); // server 1
  assertEquals(p.pick(0, 10), 0);
  assertEquals(p.take(50, 100), 100); // both busy until 100
  assertEquals(p.take(50, 100), 100);
  assertEquals(p.take(50, 1), 200);
  assertThrows(() => new Pool(0), RangeError);
});
