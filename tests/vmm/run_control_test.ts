/** The run policy both backends share (`vmm/run_control.ts`). */
import { assertEquals, assertThrows } from "@std/assert";
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
