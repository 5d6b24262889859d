import {
  assert,
  assertEquals,
  assertGreater,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { TEST_WATCHDOG_MS } from "../../support/wait.ts";
import { emuBackend } from "../../../vmm/emu/mod.ts";
import { ErrnoError, GuestError, WatchdogError } from "../../../vmm/errors.ts";
import type { Vm } from "../../../vmm/types.ts";
import { loadGuest } from "../../../vmm/builder.ts";
import { loadPayload } from "../../support/payload.ts";
import { bitsSet } from "../../../vmm/memory/bitmap.ts";

const M = 1n << 20n;

function stat(vm: Vm, name: string, vcpu?: number): number {
  return Number(vm.stat(name, vcpu));
}

Deno.test("emu runs write_sweep to done with the expected faults and memory", async () => {
  using vm = emuBackend.createVm({ name: "sweep" });
  vm.addMemslot({ name: "ram", gpa: 0x100000n, size: 8n * M, hugepage: 4096n });
  loadPayload(vm, "write_sweep", { slot: "ram", stride: 4096n, passes: 2n, value: 0x55n });
  const syncs: bigint[] = [];
  const exit = await vm.run({
    watchdogMs: TEST_WATCHDOG_MS,
    handledSyncLabels: new Set(["pass"]),
    onExit: (e) => void (e.reason === "sync" && syncs.push(e.value)),
  });
  assertEquals(exit, { reason: "done", vcpu: 0 });
  assertEquals(syncs.length, 2);
  assertEquals(vm.readSlot("ram", 0n), 0x55n);
  assertEquals(vm.readSlot("ram", 8n * M - 4096n), 0x55n);
  assertEquals(stat(vm, "pages_4k") >= 2048, true);
  assertEquals(stat(vm, "pf_fixed"), stat(vm, "pf_taken"));
  assertEquals(stat(vm, "ucalls"), 3);
  assertGreater(stat(vm, "instructions"), 2048 * 2);
});

Deno.test("emu gives the same counts on every run (fixed quantum, round-robin)", async () => {
  const counts: number[][] = [];
  for (let i = 0; i < 2; i++) {
    using vm = emuBackend.createVm({ name: "det", vcpus: 2 });
    vm.addMemslot({ name: "ram", gpa: 0x100000n, size: 4n * M });
    loadPayload(vm, "touch", {
      slot: "ram",
      count: 500n,
      pattern: "random",
      seed: 7n,
      write: "on",
    });
    await vm.run({ watchdogMs: TEST_WATCHDOG_MS });
    counts.push(
      ["instructions", "pf_taken", "pages_4k", "pages_2m", "exits"].map((n) => stat(vm, n)),
    );
  }
  assertEquals(counts[0], counts[1]);
});

for (const policy of ["zap_all", "zap_only_memslot"] as const) {
  Deno.test(`boot_sim with the ROM moved from a handler under ${policy}`, async () => {
    using vm = emuBackend.createVm({ name: "boot" });
    vm.enableCap("memslot_zap_control", policy);
    vm.addMemslot({ name: "ram", gpa: 0x100000n, size: 16n * M, hugepage: 4096n });
    vm.addMemslot({ name: "rom", gpa: 0xfff00000n, size: M, flags: ["readonly"] });
    loadPayload(vm, "boot_sim", { ram: "ram", rom: "rom", remaps: 4n, touch: 2n * M });
    const exit = await vm.run({
      watchdogMs: TEST_WATCHDOG_MS,
      handledSyncLabels: new Set(["remap"]),
      onExit: () => {
        vm.moveMemslot("rom", 0xe0000000n); // BAR sizing
        vm.moveMemslot("rom", 0xfff00000n);
      },
    });
    assertEquals(exit.reason, "done");
    const ram = 512, rom = 256, rounds = 4;
    if (policy === "zap_all") assert(stat(vm, "pf_taken") >= rounds * (ram + rom));
    else {
      assert(stat(vm, "pf_taken") < ram + rounds * rom + 64);
      assert(stat(vm, "pf_taken") >= ram + rounds * rom);
    }
  });
}

Deno.test("dirty_writer on 2 vCPUs: each vCPU's share shows up in the dirty log", async () => {
  using vm = emuBackend.createVm({ name: "dirty", vcpus: 2 });
  vm.addMemslot({ name: "ram", gpa: 0x100000n, size: 2n * M });
  vm.setMemslotFlags("ram", ["dirty_log"], []);
  loadPayload(vm, "dirty_writer", { slot: "ram", iterations: 2n, stride: 4096n });
  const logs: number[] = [];
  const exit = await vm.run({
    watchdogMs: TEST_WATCHDOG_MS,
    handledSyncLabels: new Set(["iter"]),
    onExit: () => {
      const log = vm.getDirtyLog("ram", false);
      logs.push(bitsSet(log));
    },
  });
  assertEquals(exit.reason, "done");
  assertEquals(logs.length, 4);
  assertEquals(logs.reduce((a, b) => a + b), 2 * 512, "every page written once per iteration");
  assertGreater(stat(vm, "instructions", 1), 0);
  assertEquals(vm.readSlot("ram", 0n), 2n);
});

Deno.test("spin: timeout is an exit, the watchdog an error naming vCPU and RIP", async () => {
  using vm = emuBackend.createVm({ name: "spin" });
  loadPayload(vm, "spin");
  // A timer due during the run fires before the run ends: the loop yields.
  let fired = false;
  setTimeout(() => fired = true, 0);
  const exit = await vm.run({ timeoutMs: 150 });
  assertEquals(exit.reason, "timeout");
  assert(fired, "timers kept running");
  const e = await assertRejects(() => vm.run({ watchdogMs: 100 }), WatchdogError);
  assertEquals(e.vcpu, 0);
  assertStringIncludes(e.message, "RIP 0x");
});

Deno.test("an unsupported instruction is a GuestError with its bytes and RIP", async () => {
  using vm = emuBackend.createVm({ name: "ud" });
  vm.addMemslot({ name: "ram", gpa: 0x100000n, size: 2n * M });
  loadGuest(vm, {
    kind: "file",
    bytes: new Uint8Array([0x90, 0x0f, 0x0b]),
    load: 0x100000n,
    entry: 0x100000n,
    mode: "long",
  });
  const e = await assertRejects(() => vm.run({ watchdogMs: TEST_WATCHDOG_MS }), GuestError);
  assertEquals(e.rip, 0x100001n);
  assertStringIncludes(e.message, "0f 0b");
  assertEquals(e.kind, "backend");
});

Deno.test("a guest #PF without an IDT is a shutdown exit with its RIP", async () => {
  using vm = emuBackend.createVm({ name: "tf" });
  vm.addMemslot({ name: "ram", gpa: 0x100000n, size: 2n * M });
  // mov rbx, 0x7fff00000000 ; mov rax, [rbx]
  const code = [0x48, 0xbb, 0, 0, 0, 0, 0xff, 0x7f, 0, 0, 0x48, 0x8b, 0x03];
  loadGuest(vm, {
    kind: "file",
    bytes: new Uint8Array(code),
    load: 0x100000n,
    entry: 0x100000n,
    mode: "long",
  });
  assertEquals(await vm.run({ watchdogMs: TEST_WATCHDOG_MS }), {
    reason: "shutdown",
    vcpu: 0,
    rip: 0x10000an,
  });
});

Deno.test("absent_fault slot: memory_fault exits, a handler populates and the vCPU resumes", async () => {
  using vm = emuBackend.createVm({ name: "mf" });
  vm.enableCap("x86_memory_fault_exit", "absent_mapping");
  vm.addMemslot({
    name: "ram",
    gpa: 0x100000n,
    size: M,
    flags: ["absent_fault"],
    backing: "absent",
  });
  loadPayload(vm, "touch", { slot: "ram", count: 16n, pattern: "seq", write: "on" });
  const first = await vm.run({ watchdogMs: TEST_WATCHDOG_MS });
  assertEquals(first.reason, "memory_fault");
  const exit = await vm.run({
    watchdogMs: TEST_WATCHDOG_MS,
    handleMemoryFault: true,
    onExit: (e) => {
      if (e.reason === "memory_fault") vm.populate("ram", e.gpa - 0x100000n, e.len);
    },
  });
  assertEquals(exit.reason, "done");
  assertEquals(stat(vm, "memory_fault_exits"), 17, "the unhandled first one, then 16 handled");
});

Deno.test("without x86_memory_fault_exit the run fails with EFAULT", async () => {
  using vm = emuBackend.createVm({ name: "mf" });
  vm.addMemslot({
    name: "ram",
    gpa: 0x100000n,
    size: M,
    flags: ["absent_fault"],
    backing: "absent",
  });
  loadPayload(vm, "touch", { slot: "ram", count: 4n });
  const e = await assertRejects(() => vm.run({ watchdogMs: TEST_WATCHDOG_MS }), ErrnoError);
  assertEquals(e.errno, "EFAULT");
});

Deno.test("gpu_fill: a noncoherent_dma slot takes the guest's PAT type", async () => {
  for (const [pat, type] of [["wc", "WC"], ["uc", "UC"], ["wb", "WB"]] as const) {
    using vm = emuBackend.createVm({ name: "gpu" });
    vm.addMemslot({
      name: "gpu.shm",
      gpa: 0x40000000n,
      size: 16n * M,
      flags: ["noncoherent_dma"],
    });
    loadPayload(vm, "gpu_fill", { device: "gpu", pat, size: M });
    assertEquals((await vm.run({ watchdogMs: TEST_WATCHDOG_MS })).reason, "done");
    assertEquals(vm.memtype(0x40000000n), { type, ipat: false });
    assertEquals(vm.memtype(0x100000n), { type: "UC", ipat: false }, "unbacked: MMIO");
    vm.readGuest(0x40000000n, 8192);
    assertEquals(stat(vm, "aliasing_hazards"), type === "WB" ? 0 : 2);
  }
});

Deno.test("pt_write under mmu shadow: page-table writes are emulated and counted", async () => {
  const counts: Record<string, number[]> = {};
  for (const mmu of ["tdp", "shadow"] as const) {
    using vm = emuBackend.createVm({ name: "pt", mmu });
    vm.addMemslot({ name: "ram", gpa: 0x100000n, size: 4n * M });
    loadPayload(vm, "pt_write", { count: 50n });
    assertEquals((await vm.run({ watchdogMs: TEST_WATCHDOG_MS })).reason, "done");
    counts[mmu] = ["mmu_pte_write", "pf_emulate", "pf_taken"].map((n) => stat(vm, n));
  }
  assertEquals(counts.tdp.slice(0, 2), [0, 0]);
  assertGreater(counts.shadow[0], 40);
  assertGreater(counts.shadow[1], 40);
  assertGreater(counts.shadow[2], counts.tdp[2]);
});

Deno.test("demand uffd: vCPUs wait on the modelled queue and the run completes", async () => {
  using vm = emuBackend.createVm({ name: "uffd", vcpus: 2 });
  vm.addMemslot({ name: "ram", gpa: 0x100000n, size: 2n * M, backing: "absent" });
  vm.demandUffd("ram");
  loadPayload(vm, "dirty_writer", { slot: "ram", iterations: 1n, stride: 4096n });
  assertEquals((await vm.run({ watchdogMs: TEST_WATCHDOG_MS })).reason, "done");
  assertEquals(stat(vm, "uffd_faults"), 512);
  assertEquals(vm.readSlot("ram", 2n * M - 4096n), 1n);
});
