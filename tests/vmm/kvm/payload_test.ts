/**
 * The built-in payloads (guest/boot.ts's boot images) on a real /dev/kvm.
 */
import { skipKvm } from "../../support/kvm_probe.ts";
import { TEST_WATCHDOG_MS } from "../../support/wait.ts";
import { assertEquals, assertGreater } from "@std/assert";
import { KvmVm } from "../../../vmm/kvm/mod.ts";
import { loadPayload } from "../../support/payload.ts";
import { bitsSet } from "../../../vmm/memory/bitmap.ts";

const ignore = skipKvm("kvm payload tests");

const MIB = 1n << 20n;

Deno.test({ name: "payload: write_sweep dirties every page it writes", ignore }, async () => {
  using vm = new KvmVm({ name: "sweep" });
  vm.addMemslot({ name: "ram", gpa: MIB, size: 8n * MIB, flags: ["dirty_log"] });
  loadPayload(vm, "write_sweep", { slot: "ram", stride: 4096n, passes: 2n, value: 7n });
  const passes: bigint[] = [];
  const exit = await vm.run({
    watchdogMs: TEST_WATCHDOG_MS,
    handledSyncLabels: new Set(["pass"]),
    onExit: (e) => {
      if (e.reason === "sync") passes.push(e.value);
    },
  });
  assertEquals(exit.reason, "done");
  assertEquals(passes.length, 2);
  assertEquals(bitsSet(vm.getDirtyLog("ram", false)), 2048);
  assertEquals(vm.readSlot("ram", 4096n * 5n), 7n);
});

Deno.test({ name: "payload: spin is stopped by a timeout", ignore }, async () => {
  using vm = new KvmVm({ name: "spin" });
  loadPayload(vm, "spin");
  assertEquals((await vm.run({ timeoutMs: 100 })).reason, "timeout");
});

Deno.test({ name: "payload: dirty_writer on two vCPUs", ignore }, async () => {
  using vm = new KvmVm({ name: "dw", vcpus: 2 });
  vm.addMemslot({ name: "ram", gpa: MIB, size: 4n * MIB, flags: ["dirty_log"] });
  loadPayload(vm, "dirty_writer", { slot: "ram", iterations: 3n });
  let iters = 0;
  const exit = await vm.run({
    watchdogMs: TEST_WATCHDOG_MS,
    handledSyncLabels: new Set(["iter"]),
    onExit: () => {
      iters++;
    },
  });
  assertEquals(exit.reason, "done");
  assertEquals(iters, 6);
  assertEquals(bitsSet(vm.getDirtyLog("ram", true)), 1024);
  assertGreater(vm.stat("exits"), 0n);
});
