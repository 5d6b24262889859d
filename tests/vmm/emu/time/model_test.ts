/**
 * The time model's wait accounting on small synthetic cases, each number
 * derived by hand from the cost table (vmm/emu/time/costs.ts):
 * spteZap 61, mmuLockUncontended 40, spteInstall 200, waitQueueScanPerWaiter
 * 80, uffdFaultToHandlerWake 7,070, uffdioCopy4k 2,380, waiterWake 1,000,
 * uffdVcpuWake 7,070, tlbFlushLocal 200, tlbFlushRemotePerVcpu 1,300.
 *
 * @module
 */
import { assertEquals } from "@std/assert";
import { COSTS } from "../../../../vmm/emu/time/costs.ts";
import { T } from "../../../../vmm/emu/time/clock.ts";
import { TimeModel } from "../../../../vmm/emu/time/model.ts";
import { nextVcpu } from "../../../../vmm/emu/scheduler.ts";

/** The constants the expected figures below were derived from. */
Deno.test("the hand-derived figures use the cost table's values", () => {
  const c = COSTS;
  assertEquals(
    [c.spteZap.ns, c.mmuLockUncontended.ns, c.spteInstall.ns, c.waitQueueScanPerWaiter.ns],
    [61, 40, 200, 80],
  );
  assertEquals(
    [c.uffdFaultToHandlerWake.ns, c.uffdioCopy4k.ns, c.waiterWake.ns, c.uffdVcpuWake.ns],
    [7070, 2380, 1000, 7070],
  );
  assertEquals([c.tlbFlushLocal.ns, c.tlbFlushRemotePerVcpu.ns], [200, 1300]);
});

Deno.test("mmu_lock: a fault's install waits for the VMM's zap under the write lock", () => {
  const tm = new TimeModel(1);
  const c = tm.clock;
  c.actor = c.vmm;
  tm.zapped(100); // write hold 100 * 61 + 40 = 6,140 from 0
  assertEquals(c.now(c.vmm), 6140);
  c.actor = 0;
  tm.install(); // read at 0: waits 6,140, then holds 200 + 40
  assertEquals(c.read(T.lock_wait, 0), 6140);
  assertEquals(c.read(T.fault, 0), 240);
  assertEquals(c.read(T.modelled, 0), 6380);
  tm.install(); // no writer now: no wait
  assertEquals(c.read(T.lock_wait, 0), 6140);
});

Deno.test("uffd, one handler: the second fault waits for the queue's lock and the handler", () => {
  const tm = new TimeModel(2);
  tm.registerUffd(1, 1);
  const c = tm.clock;
  // vCPU 0 at 0: queued 80, handler at 7,150, copied 9,530, wake scan of 1
  // waiter (80 + 1,000) until 10,610, runs again at 17,680.
  tm.uffdFault(0, 1);
  assertEquals(c.read(T.modelled, 0), 17680);
  assertEquals(c.read(T.uffd_wait, 0), 17680);
  assertEquals(c.read(T.lock_wait, 0), 0);
  // vCPU 1 at 0: the queue's lock is held [0, 80): waits 80, queued 160;
  // the message at 7,230 waits for the handler until 10,610; copied 12,990;
  // vCPU 0 left the queue at 10,610, so the scan visits 1 waiter: done
  // 14,070, runs again at 21,140.
  tm.uffdFault(1, 1);
  assertEquals(c.read(T.lock_wait, 1), 80);
  assertEquals(c.read(T.uffd_wait, 1), 21060);
  assertEquals(c.read(T.modelled, 1), 21140);
});

Deno.test("uffd, two handlers: the wake-up scans every waiter under the queue's lock", () => {
  const tm = new TimeModel(2);
  tm.registerUffd(1, 2);
  const c = tm.clock;
  tm.uffdFault(0, 1); // as above: the lock holds [0, 80) and [9,530, 10,610)
  // vCPU 1: queued 160, handler 1 at 7,230, copied 9,610 while vCPU 0 still
  // waits: the scan visits 2 waiters (2 * 80 + 1,000 = 1,160) and must wait
  // for vCPU 0's scan to end at 10,610: done 11,770, runs at 18,840.
  tm.uffdFault(1, 1);
  assertEquals(c.read(T.lock_wait, 1), 80);
  assertEquals(c.read(T.modelled, 1), 18840);
  assertEquals(c.read(T.uffd_wait, 1), 18760);
  assertEquals(c.read(T.lock_wait), 80); // summed over vCPUs
});

Deno.test("host CPUs: with one, the second vCPU's quantum waits for the first", () => {
  const tm = new TimeModel(2);
  tm.setHostCpus(1);
  const c = tm.clock;
  tm.beginQuantum(0);
  c.charge(T.guest, 1000, 0);
  tm.endQuantum(0);
  tm.beginQuantum(1);
  assertEquals(c.read(T.lock_wait, 1), 1000);
  c.charge(T.guest, 500, 1);
  tm.endQuantum(1);
  assertEquals(c.read(T.modelled, 1), 1500);
  // With one CPU per thread (the default) nobody waits.
  const free = new TimeModel(2);
  free.beginQuantum(0);
  free.clock.charge(T.guest, 1000, 0);
  free.endQuantum(0);
  free.beginQuantum(1);
  assertEquals(free.clock.read(T.lock_wait, 1), 0);
});

Deno.test("TLB flush: the requester waits for every other vCPU, each flushes its own", () => {
  const tm = new TimeModel(3);
  const c = tm.clock;
  c.actor = 0;
  tm.flush();
  assertEquals(c.read(T.tlb_flush, 0), 200 + 2 * 1300);
  assertEquals([c.read(T.tlb_flush, 1), c.read(T.tlb_flush, 2)], [200, 200]);
  c.actor = c.vmm;
  tm.flush();
  assertEquals(c.now(c.vmm), 200 + 3 * 1300);
  assertEquals(c.read(T.tlb_flush), 2800 + 400 + 600);
});

Deno.test("a run's vCPUs start no earlier than the VMM, which goes on after the last", () => {
  const tm = new TimeModel(2);
  const c = tm.clock;
  tm.host(5000);
  tm.startRun([0, 1]);
  assertEquals([c.now(0), c.now(1)], [5000, 5000]);
  assertEquals(c.read(T.guest), 0); // idle, not counted in a part
  c.charge(T.guest, 700, 1);
  tm.endRun([0, 1]);
  assertEquals(c.now(c.vmm), 5700);
  assertEquals(c.latest(), 5700);
});

Deno.test("the scheduler runs the vCPU with the lowest clock next, the lowest index on ties", () => {
  const tm = new TimeModel(3);
  const c = tm.clock;
  assertEquals(nextVcpu(tm, [0, 1, 2]), 0);
  c.charge(T.guest, 10, 0);
  assertEquals(nextVcpu(tm, [0, 1, 2]), 1);
  c.charge(T.guest, 10, 1);
  c.charge(T.guest, 5, 2);
  assertEquals(nextVcpu(tm, [0, 1, 2]), 2);
  assertEquals(nextVcpu(tm, [1, 0]), 0); // 0 and 1 tie at 10
  // A vCPU asleep on a userfaultfd runs again only once the others caught up.
  tm.registerUffd(1, 1);
  tm.uffdFault(2, 1);
  assertEquals(nextVcpu(tm, [2, 0, 1]), 0);
});
