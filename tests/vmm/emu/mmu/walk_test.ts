import { assert, assertEquals } from "@std/assert";
import { EmuVm } from "../../../../vmm/emu/vm.ts";
import {
  ACCESS_EXEC,
  ACCESS_READ,
  ACCESS_WRITE,
  type TranslateResult,
} from "../../../../vmm/emu/port.ts";
import {
  GuestTables,
  PTE_A,
  PTE_D,
  PTE_NX,
  PTE_P,
  PTE_PCD,
  PTE_PWT,
  PTE_W,
} from "../../../support/emu_tables.ts";

const M = 1n << 20n;

function setup(mmu: "tdp" | "shadow" = "tdp") {
  const vm = new EmuVm({ name: "walk", mmu });
  vm.addMemslot({ name: "ram", gpa: 16n * M, size: 16n * M });
  vm.addMemslot({ name: "shm", gpa: 64n * M, size: 4n * M, flags: ["noncoherent_dma"] });
  const pt = new GuestTables(vm, 0x10000n);
  return { vm, pt };
}

Deno.test("the guest walk sets A on every level and D on the leaf of a write", () => {
  const { vm, pt } = setup();
  const leaf = pt.map(0x400000n, 16n * M, 1);
  const r = vm.memory.translate(0, pt.paging(), 0x400123, ACCESS_READ);
  assert("page" in r);
  assertEquals(r.gfn, Number(16n * M / 4096n));
  assertEquals(pt.entry(leaf) & (PTE_A | PTE_D), PTE_A);
  assertEquals(pt.entry(pt.cr3) & PTE_A, PTE_A);
  vm.memory.translate(0, pt.paging(), 0x400123, ACCESS_WRITE);
  assertEquals(pt.entry(leaf) & (PTE_A | PTE_D), PTE_A | PTE_D);
  vm.close();
});

Deno.test("the guest walk resolves 2M and 1G leaves", () => {
  const { vm, pt } = setup();
  pt.map(0x40000000n, 16n * M, 2);
  pt.map(0x80000000n, 0n, 3);
  const r = vm.memory.translate(0, pt.paging(), 0x40000000 + 0x1234f0, ACCESS_READ);
  assert("page" in r);
  assertEquals(r.gfn, Number((16n * M + 0x123000n) / 4096n));
  const g = vm.memory.translate(0, pt.paging(), 0x80000000 + 0x1000010, ACCESS_READ);
  assert("page" in g);
  assertEquals(g.gfn, 0x1000);
  vm.close();
});

Deno.test("not-present, CR0.WP and NX violations are guest #PF", () => {
  const { vm, pt } = setup();
  pt.map(0x400000n, 16n * M, 1, PTE_P);
  pt.map(0x401000n, 16n * M + 4096n, 1, PTE_P | PTE_W | PTE_NX);
  const fault = (gva: number): TranslateResult => ({ exit: "guest_fault", vector: 14, gva });
  assertEquals(vm.memory.translate(0, pt.paging(), 0x900000, ACCESS_READ), fault(0x900000));
  assertEquals(vm.memory.translate(0, pt.paging(), 0x400008, ACCESS_WRITE), fault(0x400008));
  assert("page" in vm.memory.translate(0, pt.paging({ wp: false }), 0x400008, ACCESS_WRITE));
  // NX is reserved without EFER.NXE, and faults execution with it.
  assertEquals(vm.memory.translate(0, pt.paging(), 0x401000, ACCESS_READ), fault(0x401000));
  const nxe = pt.paging({ nxe: true });
  assert("page" in vm.memory.translate(0, nxe, 0x401000, ACCESS_READ));
  assertEquals(vm.memory.translate(0, nxe, 0x401000, ACCESS_EXEC), fault(0x401000));
  vm.close();
});

Deno.test("guest PTE reads fault in SPTEs as the hardware walker does", () => {
  const { vm, pt } = setup();
  pt.map(0x400000n, 16n * M, 1);
  const taken = Number(vm.stat("pf_taken"));
  vm.memory.translate(0, pt.paging(), 0x400000, ACCESS_READ);
  // The system region's page tables (one 2M SPTE is not possible: the region is 1 MiB)
  // and the data page each took an EPT violation.
  assert(Number(vm.stat("pf_taken")) - taken >= 2);
  vm.close();
});

Deno.test("PAT bits select the guest type of a noncoherent_dma slot", () => {
  const { vm, pt } = setup();
  // PAT index 1 (PWT) is WT in the reset PAT; program entry 1 = WC (1).
  const pat = 0x0007040600070106n;
  pt.map(0x600000n, 64n * M, 1, PTE_P | PTE_W | PTE_PWT);
  pt.map(0x601000n, 64n * M + 4096n, 1, PTE_P | PTE_W | PTE_PCD);
  vm.memory.translate(0, pt.paging({ pat }), 0x600000, ACCESS_WRITE);
  vm.memory.translate(0, pt.paging({ pat }), 0x601000, ACCESS_WRITE);
  assertEquals(vm.memtype(64n * M), { type: "WC", ipat: false });
  assertEquals(vm.memtype(64n * M + 4096n), { type: "UC-", ipat: false });
  assertEquals(vm.memtype(16n * M), { type: "WB", ipat: true });
  vm.close();
});
