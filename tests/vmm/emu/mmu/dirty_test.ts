import { assert, assertEquals, assertThrows } from "@std/assert";
import { EmuVm } from "../../../../vmm/emu/vm.ts";
import { ACCESS_READ, ACCESS_WRITE } from "../../../../vmm/emu/port.ts";
import { PAGING_OFF } from "../../../support/emu_tables.ts";
import { ErrnoError } from "../../../../vmm/errors.ts";
import { TdpMmu } from "../../../../vmm/emu/mmu/tdp_mmu.ts";
import { SPTE_R, SPTE_W } from "../../../../vmm/emu/mmu/spte.ts";
import { VM_COUNTERS } from "../../../../vmm/emu/stats.ts";

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

for (const mode of ["in_place", "in_place_6_13"] as const) {
  Deno.test(`${mode} recovery also recovers partially mapped tables`, () => {
    const vm = new EmuVm({ name: "d" });
    vm.enableCap("dirty_log_recovery", mode);
    vm.addMemslot({ name: "ram", gpa: BASE, size: 4n * M, flags: ["dirty_log"] });
    touch(vm, 1);
    touch(vm, 2);
    vm.setMemslotFlags("ram", [], ["dirty_log"]);
    // The first 2M had two leaves; the second was never mapped, so there is no table.
    assertEquals([stat(vm, "pages_4k"), stat(vm, "pages_2m")], [0, 1]);
    assertEquals(stat(vm, "huge_pages_recovered"), 1);
    const taken = stat(vm, "pf_taken");
    touch(vm, 300, ACCESS_READ);
    assertEquals(stat(vm, "pf_taken"), taken, "the whole 2M is mapped again");
    vm.close();
  });
}

Deno.test("TdpMmu.recoverRange: the seed promotes an empty table, 6.13 needs a present child", () => {
  const stats = new Float64Array(VM_COUNTERS);
  for (const fresh of [undefined, () => SPTE_R | SPTE_W]) {
    const tdp = new TdpMmu(stats);
    tdp.map(1024 + 3, 1, SPTE_R);
    tdp.zapRange(1024, 1536); // the 4K leaf goes, its table stays
    assertEquals(tdp.recoverRange(0, 4096, () => 2, fresh), fresh ? 1 : 0);
    const e = tdp.lookup(1024 + 7);
    assertEquals([tdp.hitLevel, e & SPTE_W], fresh ? [2, SPTE_W] : [1, 0]);
  }
});

Deno.test("TdpMmu.recoverRange: 6.13 takes the first present child's permissions", () => {
  const tdp = new TdpMmu(new Float64Array(VM_COUNTERS));
  tdp.map(512 + 5, 1, SPTE_R); // first present child: read-only
  tdp.map(512 + 9, 1, SPTE_R | SPTE_W);
  tdp.map(1024 + 5, 1, SPTE_R | SPTE_W); // first present child: writable
  tdp.map(1024 + 9, 1, SPTE_R);
  assertEquals(tdp.recoverRange(0, 2048, () => 2), 2);
  assertEquals(tdp.lookup(512 + 9) & SPTE_W, 0);
  assertEquals(tdp.hitLevel, 2);
  assertEquals(tdp.lookup(1024 + 9) & SPTE_W, SPTE_W);
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
