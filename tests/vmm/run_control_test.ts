/** The run policy both backends share (`vmm/run_control.ts`). */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { WatchdogError } from "../../vmm/errors.ts";
import { nothingToRun, RunControl, runnableVcpus } from "../../vmm/run_control.ts";

Deno.test("runnableVcpus() and nothingToRun() are one policy for both backends", () => {
  assertEquals(runnableVcpus({}, 3, (i) => i === 1), [0, 2]);
  assertEquals(runnableVcpus({ vcpu: 1 }, 3, (i) => i === 1), []);
  assertEquals(runnableVcpus({ vcpu: 2 }, 3, () => false), [2]);
  assertThrows(() => runnableVcpus({ vcpu: 3 }, 3, () => false), RangeError, "the VM has 3");
  assertEquals(nothingToRun({}), { reason: "done", vcpu: 0 });
  assertEquals(nothingToRun({ vcpu: 2 }), { reason: "done", vcpu: 2 });
});

Deno.test("RunControl: the time bound is the timeout, else the watchdog (10 s by default)", () => {
  assertEquals(new RunControl({}, [0]).limitMs, 10_000);
  assertEquals(new RunControl({ watchdogMs: 50 }, [0]).limitMs, 50);
  const timed = new RunControl({ timeoutMs: 5, watchdogMs: 50 }, [0]);
  assertEquals(timed.limitMs, 5);
  assertEquals(timed.expired(0, 0x1234n), { reason: "timeout", vcpu: 0, rip: 0x1234n });
  const e = assertThrows(() => new RunControl({}, [0]).expired(1, 0x10n), WatchdogError);
  assertEquals([e.vcpu, e.rip], [1, 0x10n]);
});

const at = (vcpu: number, label = "iter") => ({
  reason: "sync" as const,
  vcpu,
  label,
  value: 1n,
});

Deno.test("RunControl: until sync is a barrier; the last arrival stops the run", () => {
  const rc = new RunControl({ until: { kind: "sync", label: "iter" } }, [0, 1, 2]);
  assertEquals(rc.classify(at(2)), "wait");
  assertEquals(rc.classify(at(0, "other")), "continue", "another label passes through");
  assertEquals(rc.firstBusy(), 0);
  assertEquals(rc.classify(at(0)), "wait");
  assertEquals([...rc.waiting], [2, 0]);
  assertEquals(rc.firstBusy(), 1);
  assertEquals(rc.classify(at(1)), "stop");
  assertEquals(rc.result(at(1)), at(1), "$exit is the last arrival's");
});

Deno.test("RunControl: a vCPU that reports done is not waited for", () => {
  const rc = new RunControl({ until: { kind: "sync", label: "iter" } }, [0, 1, 2]);
  assertEquals(rc.classify(at(0)), "wait");
  assertEquals(rc.classify({ reason: "done", vcpu: 1 }), "park");
  assertEquals(rc.classify({ reason: "done", vcpu: 2 }), "stop");
  assertEquals(rc.result({ reason: "done", vcpu: 2 }), at(0), "the barrier's last arrival");
  // Nobody arrived: the run ends in done.
  const none = new RunControl({ until: { kind: "sync", label: "iter" } }, [0, 1]);
  assertEquals(none.classify({ reason: "done", vcpu: 0 }), "park");
  assertEquals(none.classify({ reason: "done", vcpu: 1 }), "stop");
  assertEquals(none.result({ reason: "done", vcpu: 1 }), { reason: "done", vcpu: 1 });
});

Deno.test("RunControl: a handler runs at every arrival, then the vCPU waits", () => {
  const rc = new RunControl({
    until: { kind: "sync", label: "iter" },
    handledSyncLabels: new Set(["iter", "x"]),
  }, [0, 1]);
  assertEquals(rc.classify(at(1)), "handle");
  assertEquals(rc.waiting.size, 0, "no arrival before the handler settled");
  assertEquals(rc.afterHandler(at(1)), "wait");
  assertEquals(rc.classify(at(0, "x")), "handle");
  assertEquals(rc.afterHandler(at(0, "x")), "continue");
  assertEquals(rc.classify(at(0)), "handle");
  assertEquals(rc.afterHandler(at(0)), "stop");
});

Deno.test("RunControl: until first sync stops at the first arrival", () => {
  const rc = new RunControl({ until: { kind: "sync", label: "iter", first: true } }, [0, 1]);
  assertEquals(rc.classify(at(1)), "stop");
  assertEquals(rc.result(at(1)), at(1));
  const handled = new RunControl({
    until: { kind: "sync", label: "iter", first: true },
    handledSyncLabels: new Set(["iter"]),
  }, [0, 1]);
  assertEquals(handled.classify(at(0)), "handle");
  assertEquals(handled.afterHandler(at(0)), "stop");
});

Deno.test("RunControl: until done passes syncs through; only the workers' question is pure", () => {
  const rc = new RunControl({ handledSyncLabels: new Set(["h"]) }, [0, 1]);
  assert(rc.passesThrough(at(0)));
  assert(!rc.passesThrough(at(0, "h")));
  assert(!rc.passesThrough({ reason: "done", vcpu: 0 }));
  assertEquals(rc.classify(at(0)), "continue");
  assertEquals(rc.classify({ reason: "done", vcpu: 0 }), "park");
  assertEquals(rc.classify({ reason: "done", vcpu: 1 }), "stop");
  const barrier = new RunControl({ until: { kind: "sync", label: "iter" } }, [0]);
  assert(!barrier.passesThrough(at(0)));
  assertEquals(barrier.waiting.size, 0);
  assert(!new RunControl({ until: { kind: "exit" } }, [0]).passesThrough(at(0)));
});
