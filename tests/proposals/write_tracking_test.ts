import { assert, assertEquals } from "@std/assert";
import { EmuVm } from "../../vmm/emu/vm.ts";
import { ACCESS_READ, ACCESS_WRITE, type TranslateResult } from "../../vmm/emu/port.ts";
import { PAGING_OFF } from "../support/emu_tables.ts";
import { errnoOf } from "../support/errno.ts";

const M = 1n << 20n;
const G = 1n << 30n;
const BASE = 64n * M;

function tr(vm: EmuVm, page: number, access: 0 | 1 = ACCESS_WRITE): TranslateResult {
  return vm.memory.translate(0, PAGING_OFF, Number(BASE) + page * 4096, access);
}

function stat(vm: EmuVm, name: string): number {
  return Number(vm.stat(name));
}

Deno.test("page_write_tracking off: EINVAL once a memslot exists, EBUSY under shadow", () => {
  const vm = new EmuVm({ name: "w" });
  vm.addMemslot({ name: "ram", gpa: BASE, size: 4n * M });
  assertEquals(errnoOf(() => vm.enableCap("page_write_tracking", "off")), "EINVAL");
  vm.close();
  const shadow = new EmuVm({ name: "w", mmu: "shadow" });
  assertEquals(errnoOf(() => shadow.enableCap("page_write_tracking", "off")), "EBUSY");
  shadow.close();
  const early = new EmuVm({ name: "w" });
  early.enableCap("page_write_tracking", "off");
  early.addMemslot({ name: "ram", gpa: BASE, size: 4n * M });
  assertEquals(stat(early, "write_track_bytes"), 0);
  assertEquals(errnoOf(() => early.track("gpu", BASE, 4096n)), "EINVAL");
  early.close();
});

Deno.test("page_write_tracking off: EINVAL while a tracker is registered", () => {
  const vm = new EmuVm({ name: "w" });
  vm.enableCap("page_write_tracking", "on_demand");
  vm.addMemslot({ name: "ram", gpa: BASE, size: 4n * M });
  vm.deleteMemslot("ram");
  vm.addMemslot({ name: "ram2", gpa: BASE, size: 4n * M });
  vm.track("gpu", BASE, 4096n);
  vm.deleteMemslot("ram2");
  assertEquals(errnoOf(() => vm.enableCap("page_write_tracking", "off")), "EINVAL");
  vm.untrack("gpu");
  vm.enableCap("page_write_tracking", "off");
  vm.close();
});

Deno.test("on_demand allocates for every slot when the first tracker registers", () => {
  const vm = new EmuVm({ name: "w" });
  vm.enableCap("page_write_tracking", "on_demand");
  vm.addMemslot({ name: "ram", gpa: BASE, size: 4n * M });
  vm.addMemslot({ name: "big", gpa: 1n << 40n, size: 512n * G });
  assertEquals(stat(vm, "write_track_bytes"), 0);
  vm.track("gpu", BASE, 8192n);
  assertEquals(stat(vm, "write_track_bytes"), 2 * 1024 + 268435456);
  vm.addMemslot({ name: "late", gpa: 128n * M, size: 4n * M });
  assertEquals(stat(vm, "write_track_bytes"), 2 * 2048 + 268435456);
  vm.untrack("gpu");
  assertEquals(stat(vm, "write_track_bytes"), 2 * 2048 + 268435456, "KVM never frees it");
  vm.close();
});

Deno.test("track(): guest writes to tracked pages are emulated and notified", () => {
  const vm = new EmuVm({ name: "w" });
  vm.addMemslot({ name: "ram", gpa: BASE, size: 4n * M });
  assert("page" in tr(vm, 0));
  assertEquals(stat(vm, "pages_2m"), 1);
  vm.track("gpu", BASE + 4096n, 4096n);
  assertEquals(errnoOf(() => vm.track("gpu", BASE, 4096n)), "EEXIST");
  assertEquals(errnoOf(() => vm.track("far", 1n << 40n, 4096n)), "EINVAL");
  const flush = stat(vm, "remote_tlb_flush");
  assert(flush > 0, "write-protecting the tracked page flushed TLBs");
  // Reads still use the (now read-only) 2M SPTE.
  const taken = stat(vm, "pf_taken");
  assert("page" in tr(vm, 1, ACCESS_READ));
  assertEquals(stat(vm, "pf_taken"), taken);
  for (let i = 0; i < 3; i++) {
    const r = tr(vm, 1);
    assert("page" in r && !r.direct, "tracked write goes the slow path");
    vm.memory.trackedWrite(0, Number(BASE) + 4096 + 8, 8);
  }
  assertEquals(stat(vm, "pf_emulate"), 3);
  assertEquals(stat(vm, "track_notifications"), 3);
  // A write to a neighbour splits the huge page: the tracked frame disallows 2M there.
  const r = tr(vm, 2);
  assert("page" in r && r.direct);
  assertEquals(stat(vm, "pages_2m"), 0);
  assertEquals(stat(vm, "pages_4k"), 512);
  vm.untrack("gpu");
  const fixed = stat(vm, "pf_fixed");
  const w = tr(vm, 1);
  assert("page" in w && w.direct);
  assertEquals(stat(vm, "pf_fixed"), fixed + 1);
  assertEquals(stat(vm, "track_notifications"), 3);
  assertEquals(errnoOf(() => vm.untrack("gpu")), "EINVAL");
  vm.close();
});

Deno.test("emulated tracked writes mark the page dirty", () => {
  const vm = new EmuVm({ name: "w" });
  vm.addMemslot({ name: "ram", gpa: BASE, size: 4n * M, flags: ["dirty_log"] });
  vm.track("gpu", BASE, 4096n);
  const r = tr(vm, 0);
  assert("page" in r && !r.direct);
  vm.memory.trackedWrite(0, Number(BASE), 4);
  assertEquals(vm.getDirtyLog("ram", false)[0], 1);
  vm.close();
});
