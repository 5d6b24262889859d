import { assert, assertEquals, assertGreater, assertLess } from "@std/assert";
import { TEST_WATCHDOG_MS } from "../support/wait.ts";
import { emuBackend } from "../../vmm/emu/mod.ts";
import type { Vm } from "../../vmm/types.ts";
import { loadGuest } from "../../vmm/builder.ts";

const M = 1n << 20n;

function stat(vm: Vm, name: string): number {
  return Number(vm.stat(name));
}

async function bootSim(policy: "zap_all" | "zap_only_memslot"): Promise<Record<string, number>> {
  using vm = emuBackend.createVm({ name: "boot" });
  vm.enableCap("memslot_zap_control", policy);
  vm.addMemslot({ name: "ram", gpa: 0x100000n, size: 32n * M });
  vm.addMemslot({ name: "rom", gpa: 0xfff00000n, size: M, flags: ["readonly"] });
  loadGuest(vm, {
    kind: "payload",
    name: "boot_sim",
    params: { ram: "ram", rom: "rom", remaps: 6n, touch: 16n * M },
  });
  const exit = await vm.run({
    watchdogMs: TEST_WATCHDOG_MS,
    handledSyncLabels: new Set(["remap"]),
    onExit: () => {
      vm.moveMemslot("rom", 0xc0000000n);
      vm.moveMemslot("rom", 0xfff00000n);
    },
  });
  assertEquals(exit.reason, "done");
  return Object.fromEntries(
    ["pf_taken", "sptes_zapped", "remote_tlb_flush"].map((n) => [n, stat(vm, n)]),
  );
}

Deno.test("proposal 2: zap_only_memslot takes fewer EPT violations across ROM remaps", async () => {
  const all = await bootSim("zap_all");
  const only = await bootSim("zap_only_memslot");
  assertLess(only.pf_taken, all.pf_taken);
  assertLess(only.sptes_zapped, all.sptes_zapped);
  assertLess(only.remote_tlb_flush, all.remote_tlb_flush);
});

async function recovery(mode: "zap" | "in_place"): Promise<Record<string, number>> {
  using vm = emuBackend.createVm({ name: "rec" });
  vm.enableCap("dirty_log_recovery", mode);
  // Manual protect: GET does not re-protect, so the split leaves stay writable.
  vm.enableCap("manual_dirty_log_protect", "on");
  vm.addMemslot({ name: "ram", gpa: 0x200000n, size: 8n * M });
  loadGuest(vm, {
    kind: "payload",
    name: "write_sweep",
    params: { slot: "ram", stride: 4096n, passes: 3n },
  });
  let pass = 0;
  let afterDisable = 0;
  const exit = await vm.run({
    watchdogMs: TEST_WATCHDOG_MS,
    handledSyncLabels: new Set(["pass"]),
    onExit: () => {
      pass++;
      if (pass === 1) {
        assertEquals(stat(vm, "pages_2m"), 4);
        vm.setMemslotFlags("ram", ["dirty_log"], []);
        assertEquals(stat(vm, "pages_4k") >= 2048, true);
      } else if (pass === 2) {
        assertEquals(
          vm.getDirtyLog("ram", false).reduce((n, b) => n + (b === 255 ? 8 : 0), 0),
          2048,
        );
        vm.setMemslotFlags("ram", [], ["dirty_log"]);
        afterDisable = stat(vm, "pf_taken");
      }
    },
  });
  assertEquals(exit.reason, "done");
  return {
    refaults: stat(vm, "pf_taken") - afterDisable,
    recovered: stat(vm, "huge_pages_recovered"),
    pages_2m: stat(vm, "pages_2m"),
  };
}

Deno.test("proposal 5: in-place recovery restores huge pages without refaulting them", async () => {
  const zap = await recovery("zap");
  const inPlace = await recovery("in_place");
  assertEquals(zap.recovered, 0);
  assertEquals(inPlace.recovered, 4);
  assertEquals(zap.pages_2m, 4, "the guest refaulted them huge");
  assertEquals(inPlace.pages_2m, 4);
  assertEquals(inPlace.refaults, 0);
  assertGreater(zap.refaults, inPlace.refaults);
});

Deno.test("proposal 4: memory-fault exits replace blocking on absent pages", async () => {
  using vm = emuBackend.createVm({ name: "mf" });
  vm.enableCap("memory_fault_nowait", "on");
  vm.enableCap("x86_memory_fault_exit", "absent_mapping");
  vm.addMemslot({
    name: "ram",
    gpa: 0x100000n,
    size: 4n * M,
    flags: ["absent_fault"],
    backing: "absent",
  });
  loadGuest(vm, { kind: "payload", name: "touch", params: { slot: "ram", count: 64n } });
  const exit = await vm.run({
    watchdogMs: TEST_WATCHDOG_MS,
    handleMemoryFault: true,
    onExit: (e) => {
      assert(e.reason === "memory_fault");
      assertEquals(e.flags, ["absent_mapping"]);
      vm.populate("ram", e.gpa - 0x100000n, e.len);
    },
  });
  assertEquals(exit.reason, "done");
  assertEquals(stat(vm, "memory_fault_exits"), 64);
});
