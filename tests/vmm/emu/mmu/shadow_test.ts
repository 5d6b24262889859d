import { assert, assertEquals } from "@std/assert";
import { EmuVm } from "../../../../vmm/emu/vm.ts";
import { ACCESS_READ, ACCESS_WRITE } from "../../../../vmm/emu/port.ts";
import { GuestTables, PTE_P } from "../../../support/emu_tables.ts";
import { ShadowMmu } from "../../../../vmm/emu/mmu/shadow_mmu.ts";

const M = 1n << 20n;

/** The VM's paging model, which `mmu shadow` made the shadow MMU. */
function shadowOf(vm: EmuVm): ShadowMmu {
  const p = vm.memory.paging;
  assert(p instanceof ShadowMmu, "mmu shadow chooses the shadow paging model");
  return p;
}

function setup() {
  const vm = new EmuVm({ name: "shadow", mmu: "shadow" });
  vm.addMemslot({ name: "ram", gpa: 16n * M, size: 16n * M });
  const pt = new GuestTables(vm, 0x10000n);
  for (let i = 0n; i < 8n; i++) pt.map(0x400000n + i * 4096n, 16n * M + i * 4096n, 1);
  return { vm, pt, stat: (n: string) => Number(vm.stat(n)) };
}

Deno.test("shadow MMU: one shadow fault per GVA page, then hits", () => {
  const { vm, pt, stat } = setup();
  for (let i = 0; i < 8; i++) {
    assert("page" in vm.memory.translate(0, pt.paging(), 0x400000 + i * 4096, ACCESS_READ));
  }
  for (let i = 0; i < 8; i++) vm.memory.translate(0, pt.paging(), 0x400000 + i * 4096, ACCESS_READ);
  assertEquals([stat("pf_taken"), stat("pf_fixed"), stat("pages_4k")], [8, 8, 8]);
  // PML4, PDPT, PD and PT pages are shadowed, hence write-tracked.
  assertEquals(shadowOf(vm).shadowedPages, 4);
  assert(stat("memslot_metadata_bytes") > 4096 * 8, "rmaps are allocated under shadow");
  vm.close();
});

Deno.test("shadow MMU: guest writes to its page tables are emulated and invalidate", () => {
  const { vm, pt, stat } = setup();
  vm.memory.translate(0, pt.paging(), 0x400000, ACCESS_READ);
  vm.memory.translate(0, pt.paging(), 0x401000, ACCESS_READ);
  // Map the PT page itself and write the PTE of 0x401000 through it.
  const leaf = pt.map(0x500000n, 0x13000n, 1); // 0x13000: the PT page (PML4, PDPT, PD, PT from 0x10000)
  assertEquals(leaf >> 12n, 0x13n);
  const w = vm.memory.translate(0, pt.paging(), 0x500000 + 8, ACCESS_WRITE);
  assert("page" in w && !w.direct, "writes to a shadowed page table go the slow path");
  vm.memory.trackedWrite(0, 0x13000 + 8, 8);
  assertEquals(stat("mmu_pte_write"), 1);
  assert(stat("pf_emulate") >= 1);
  const taken = stat("pf_taken");
  vm.memory.translate(0, pt.paging(), 0x400000, ACCESS_READ);
  assertEquals(stat("pf_taken"), taken, "the entry of another PTE survived");
  vm.memory.translate(0, pt.paging(), 0x401000, ACCESS_READ);
  assertEquals(stat("pf_taken"), taken + 1, "the written PTE's entry was dropped");
  vm.close();
});

Deno.test("shadow MMU: guest #PF is counted as pf_taken and pf_guest", () => {
  const { vm, pt, stat } = setup();
  pt.map(0x600000n, 16n * M, 1, PTE_P);
  const r = vm.memory.translate(0, pt.paging(), 0x600000, ACCESS_WRITE);
  assertEquals(r, { exit: "guest_fault", vector: 14, gva: 0x600000 });
  assertEquals([stat("pf_taken"), stat("pf_guest")], [1, 1]);
  vm.close();
});

Deno.test("shadow MMU: dirty logging and zap policies act on shadow entries", () => {
  const { vm, pt, stat } = setup();
  for (let i = 0; i < 8; i++) {
    vm.memory.translate(0, pt.paging(), 0x400000 + i * 4096, ACCESS_WRITE);
  }
  vm.setMemslotFlags("ram", ["dirty_log"], []);
  vm.memory.translate(0, pt.paging(), 0x402000, ACCESS_WRITE);
  assertEquals(vm.getDirtyLog("ram", false)[0], 4);
  vm.enableCap("memslot_zap_control", "zap_only_memslot");
  vm.addMemslot({ name: "rom", gpa: 64n * M, size: M });
  vm.deleteMemslot("rom");
  assertEquals(stat("pages_4k"), 8);
  vm.enableCap("memslot_zap_control", "zap_all");
  vm.addMemslot({ name: "rom", gpa: 64n * M, size: M });
  vm.deleteMemslot("rom");
  assertEquals(stat("pages_4k"), 0);
  assertEquals(shadowOf(vm).shadowedPages, 0);
  vm.close();
});
