import { assert, assertEquals, assertThrows } from "@std/assert";
import { EmuVm } from "../../../../vmm/emu/vm.ts";
import { ACCESS_READ, ACCESS_WRITE } from "../../../../vmm/emu/port.ts";
import { PAGING_OFF } from "../../../support/emu_tables.ts";
import { ErrnoError } from "../../../../vmm/errors.ts";

const M = 1n << 20n;
const BASE = 64n * M;

function touch(vm: EmuVm, page: number, access: 0 | 1 = ACCESS_WRITE): void {
  const r = vm.memory.translate(0, PAGING_OFF, Number(BASE) + page * 4096, access);
  assert("page" in r);
}

function stat(vm: EmuVm, name: string): number {
  return Number(vm.stat(name));
}

function setBits(map: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < map.length * 8; i++) if (map[i >> 3] & (1 << (i & 7))) out.push(i);
  return out;
}

/** A 4 MiB slot mapped by two 2M SPTEs. */
function mapped(): EmuVm {
  const vm = new EmuVm({ name: "d" });
  vm.addMemslot({ name: "ram", gpa: BASE, size: 4n * M });
  touch(vm, 0);
  touch(vm, 512);
  assertEquals(stat(vm, "pages_2m"), 2);
  return vm;
}

Deno.test("+dirty_log splits huge SPTEs eagerly, write-protects and flushes once", () => {
  const vm = mapped();
  const flushes = stat(vm, "remote_tlb_flush");
  vm.setMemslotFlags("ram", ["dirty_log"], []);
  assertEquals([stat(vm, "pages_2m"), stat(vm, "pages_4k")], [0, 1024]);
  assertEquals(stat(vm, "remote_tlb_flush"), flushes + 1);
  const taken = stat(vm, "pf_taken");
  touch(vm, 3, ACCESS_READ); // reads still hit
  assertEquals(stat(vm, "pf_taken"), taken);
  touch(vm, 3);
  touch(vm, 700);
  touch(vm, 700);
  assertEquals(stat(vm, "pf_taken"), taken + 2);
  assertEquals(setBits(vm.getDirtyLog("ram", false)), [3, 700]);
  vm.close();
});

Deno.test("KVM_GET_DIRTY_LOG without manual protect clears and re-protects", () => {
  const vm = mapped();
  vm.setMemslotFlags("ram", ["dirty_log"], []);
  for (const p of [1, 2, 5, 1023]) touch(vm, p);
  const log = vm.getDirtyLog("ram", false);
  assertEquals(log.length, 1024 / 8);
  assertEquals(setBits(log), [1, 2, 5, 1023]);
  assertEquals(setBits(vm.getDirtyLog("ram", false)), []);
  const taken = stat(vm, "pf_taken");
  touch(vm, 5);
  assertEquals(stat(vm, "pf_taken"), taken + 1, "the page was write-protected again");
  assertEquals(setBits(vm.getDirtyLog("ram", false)), [5]);
  assertEquals(stat(vm, "dirty_pages"), 5);
  vm.close();
});

Deno.test("manual protect: GET only reads, clear re-protects only the cleared pages", () => {
  const vm = mapped();
  vm.enableCap("manual_dirty_log_protect", "on");
  vm.setMemslotFlags("ram", ["dirty_log"], []);
  for (const p of [7, 8]) touch(vm, p);
  assertEquals(setBits(vm.getDirtyLog("ram", false)), [7, 8]);
  assertEquals(setBits(vm.getDirtyLog("ram", false)), [7, 8], "GET does not clear");
  let taken = stat(vm, "pf_taken");
  touch(vm, 7);
  assertEquals(stat(vm, "pf_taken"), taken, "GET did not re-protect");
  assertEquals(setBits(vm.getDirtyLog("ram", true)), [7, 8]);
  assertEquals(setBits(vm.getDirtyLog("ram", false)), []);
  taken = stat(vm, "pf_taken");
  touch(vm, 7);
  touch(vm, 9);
  assertEquals(stat(vm, "pf_taken"), taken + 2);
  assertEquals(setBits(vm.getDirtyLog("ram", false)), [7, 9]);
  vm.close();
});

Deno.test("-dirty_log with zap recovery zaps the split tables, the guest refaults 2M", () => {
  const vm = mapped();
  vm.setMemslotFlags("ram", ["dirty_log"], []);
  touch(vm, 4);
  vm.setMemslotFlags("ram", [], ["dirty_log"]);
  assertEquals([stat(vm, "pages_4k"), stat(vm, "pages_2m")], [0, 0]);
  assertEquals(stat(vm, "sptes_zapped"), 1024);
  const taken = stat(vm, "pf_taken");
  touch(vm, 4);
  touch(vm, 600);
  assertEquals(stat(vm, "pf_taken"), taken + 2);
  assertEquals(stat(vm, "pages_2m"), 2);
  vm.close();
});

Deno.test("-dirty_log with in_place recovery rebuilds huge SPTEs without refaults", () => {
  const vm = mapped();
  vm.enableCap("dirty_log_recovery", "in_place");
  vm.setMemslotFlags("ram", ["dirty_log"], []);
  touch(vm, 4);
  vm.setMemslotFlags("ram", [], ["dirty_log"]);
  assertEquals([stat(vm, "pages_4k"), stat(vm, "pages_2m")], [0, 2]);
  assertEquals(stat(vm, "huge_pages_recovered"), 2);
  assertEquals(stat(vm, "sptes_zapped"), 0);
  const taken = stat(vm, "pf_taken");
  touch(vm, 4, ACCESS_READ);
  touch(vm, 600, ACCESS_READ);
  assertEquals(stat(vm, "pf_taken"), taken);
  vm.close();
});

Deno.test("in_place recovery leaves partially mapped tables split", () => {
  const vm = new EmuVm({ name: "d" });
  vm.enableCap("dirty_log_recovery", "in_place");
  vm.addMemslot({ name: "ram", gpa: BASE, size: 4n * M, flags: ["dirty_log"] });
  touch(vm, 1);
  touch(vm, 2);
  vm.setMemslotFlags("ram", [], ["dirty_log"]);
  assertEquals([stat(vm, "pages_4k"), stat(vm, "pages_2m")], [2, 0]);
  assertEquals(stat(vm, "huge_pages_recovered"), 0);
  vm.close();
});

Deno.test("KVM_GET_DIRTY_LOG on a slot that is not logging fails with ENOENT", () => {
  const vm = mapped();
  const e = assertThrows(() => vm.getDirtyLog("ram", false), ErrnoError);
  assertEquals(e.errno, "ENOENT");
  vm.close();
});

Deno.test("dirty bitmap metadata is two bitmaps, allocated only while logging", () => {
  const vm = mapped();
  const base = stat(vm, "memslot_metadata_bytes");
  vm.setMemslotFlags("ram", ["dirty_log"], []);
  assertEquals(stat(vm, "memslot_metadata_bytes"), base + 2 * 1024 / 8);
  vm.setMemslotFlags("ram", [], ["dirty_log"]);
  assertEquals(stat(vm, "memslot_metadata_bytes"), base);
  vm.close();
});
