import { assert, assertEquals, assertThrows } from "@std/assert";
import { EmuVm } from "../../../../vmm/emu/vm.ts";
import {
  ACCESS_EXEC,
  ACCESS_READ,
  ACCESS_WRITE,
  type TranslateResult,
} from "../../../../vmm/emu/port.ts";
import { PAGING_OFF } from "../../../support/emu_tables.ts";
import { ErrnoError } from "../../../../vmm/errors.ts";
import { errnoOf } from "../../../support/errno.ts";

const M = 1n << 20n;
const G = 1n << 30n;

function vmWith(...slots: Parameters<EmuVm["addMemslot"]>[0][]): EmuVm {
  const vm = new EmuVm({ name: "t" });
  for (const s of slots) vm.addMemslot(s);
  return vm;
}

function tr(vm: EmuVm, gpa: bigint, access: 0 | 1 | 2 = ACCESS_READ): TranslateResult {
  return vm.memory.translate(0, PAGING_OFF, Number(gpa), access);
}

function stats(vm: EmuVm, ...names: string[]): Record<string, number> {
  return Object.fromEntries(names.map((n) => [n, Number(vm.stat(n))]));
}

Deno.test("translate() takes one EPT violation per first-touched 4K page", () => {
  const vm = vmWith({ name: "ram", gpa: 16n * M, size: 4n * M, hugepage: 4096n });
  for (let i = 0n; i < 100n; i++) assert("page" in tr(vm, 16n * M + i * 4096n, ACCESS_WRITE));
  for (let i = 0n; i < 100n; i++) tr(vm, 16n * M + i * 4096n, ACCESS_WRITE);
  assertEquals(stats(vm, "pf_taken", "pf_fixed", "pages_4k", "pages_2m"), {
    pf_taken: 100,
    pf_fixed: 100,
    pages_4k: 100,
    pages_2m: 0,
  });
  vm.close();
});

Deno.test("translate() maps the largest page alignment and host page size allow", () => {
  const vm = vmWith(
    { name: "a", gpa: 2n * G, size: 1n * G, hugepage: G },
    { name: "b", gpa: 4n * G, size: 8n * M },
    { name: "c", gpa: 6n * G + 1n * M, size: 8n * M }, // misaligned head and tail
  );
  tr(vm, 2n * G + 5n * M);
  tr(vm, 2n * G + 700n * M, ACCESS_WRITE);
  assertEquals(stats(vm, "pages_1g", "pf_taken"), { pages_1g: 1, pf_taken: 1 });
  tr(vm, 4n * G + 4096n);
  tr(vm, 4n * G + 3n * M);
  assertEquals(stats(vm, "pages_2m", "pf_taken"), { pages_2m: 2, pf_taken: 3 });
  tr(vm, 6n * G + 1n * M); // head 2M frame is partly outside the slot → 4K
  tr(vm, 6n * G + 2n * M); // aligned middle → 2M
  tr(vm, 6n * G + 8n * M + 4096n); // tail → 4K
  assertEquals(stats(vm, "pages_4k", "pages_2m"), { pages_4k: 2, pages_2m: 3 });
  vm.close();
});

Deno.test("translate() exits with mmio for an unbacked GPA and caches an MMIO SPTE", () => {
  const vm = vmWith({ name: "ram", gpa: 16n * M, size: 4n * M });
  assertEquals(tr(vm, 0xfee00000n + 8n), { exit: "mmio", gpa: 0xfee00008 });
  assertEquals(tr(vm, 0xfee00000n, ACCESS_WRITE), { exit: "mmio", gpa: 0xfee00000 });
  assertEquals(stats(vm, "pf_taken", "pf_mmio_spte_created", "pf_emulate"), {
    pf_taken: 1,
    pf_mmio_spte_created: 1,
    pf_emulate: 1,
  });
  // A new memslot bumps the generation: the stale MMIO SPTE is replaced.
  vm.addMemslot({ name: "apic", gpa: 0xfee00000n, size: 4096n });
  assert("page" in tr(vm, 0xfee00000n));
  assertEquals(stats(vm, "pf_taken", "pf_fixed"), { pf_taken: 2, pf_fixed: 1 });
  vm.close();
});

Deno.test("translate() treats a write to a readonly slot as mmio, reads map", () => {
  const vm = vmWith({ name: "rom", gpa: 16n * M, size: 64n * 1024n, flags: ["readonly"] });
  vm.writeSlot("rom", 8n, 0x1234n);
  const r = tr(vm, 16n * M + 8n);
  assert("page" in r);
  assertEquals(r.page[8] | (r.page[9] << 8), 0x1234);
  assertEquals(tr(vm, 16n * M + 8n, ACCESS_WRITE), { exit: "mmio", gpa: 16 * 2 ** 20 + 8 });
  assertEquals(stats(vm, "pf_taken", "pf_fixed", "pf_emulate"), {
    pf_taken: 2,
    pf_fixed: 1,
    pf_emulate: 1,
  });
  vm.close();
});

Deno.test("translate() exits with memory_fault for an absent page of an absent_fault slot", () => {
  const vm = new EmuVm({ name: "t" });
  vm.enableCap("x86_memory_fault_exit", "absent_mapping");
  vm.addMemslot({
    name: "lazy",
    gpa: 16n * M,
    size: 4n * M,
    flags: ["absent_fault"],
    backing: "absent",
  });
  assertEquals(tr(vm, 16n * M + 0x1010n, ACCESS_WRITE), {
    exit: "memory_fault",
    gpa: 16 * 2 ** 20 + 0x1000,
    size: 4096,
    flags: ["absent_mapping"],
  });
  assertEquals(Number(vm.stat("memory_fault_exits")), 1);
  vm.populate("lazy", 0x1000n, 4096n);
  assert("page" in tr(vm, 16n * M + 0x1010n, ACCESS_WRITE));
  assertEquals(stats(vm, "pf_taken", "pf_fixed", "pages_4k"), {
    pf_taken: 2,
    pf_fixed: 1,
    pages_4k: 1,
  });
  vm.close();
});

Deno.test("absent_fault set and cleared on a live slot (a flags-only update)", () => {
  const vm = new EmuVm({ name: "t" });
  assertEquals(errnoOf(() => vm.enableCap("memory_fault_nowait", "on")), "EINVAL");
  vm.enableCap("x86_memory_fault_exit", "absent_mapping");
  vm.addMemslot({ name: "lazy", gpa: 16n * M, size: 4n * M, backing: "absent" });
  assert("page" in tr(vm, 16n * M, ACCESS_WRITE), "without the flag the host faults it in");
  vm.setMemslotFlags("lazy", ["absent_fault"], []);
  assertEquals(vm.memslots().find((s) => s.name === "lazy")?.flags, ["absent_fault"]);
  assert("page" in tr(vm, 16n * M, ACCESS_WRITE), "a present page is unaffected");
  assertEquals(tr(vm, 16n * M + 0x5000n, ACCESS_WRITE), {
    exit: "memory_fault",
    gpa: 16 * 2 ** 20 + 0x5000,
    size: 4096,
    flags: ["absent_mapping"],
  });
  vm.setMemslotFlags("lazy", [], ["absent_fault"]);
  assert("page" in tr(vm, 16n * M + 0x5000n, ACCESS_WRITE));
  assertEquals(Number(vm.stat("memory_fault_exits")), 1);
  vm.close();
});

Deno.test("translate() fails with EFAULT without x86_memory_fault_exit", () => {
  const vm = new EmuVm({ name: "t" });
  vm.addMemslot({
    name: "l",
    gpa: 16n * M,
    size: 4n * M,
    flags: ["absent_fault"],
    backing: "absent",
  });
  assertEquals(tr(vm, 16n * M), { exit: "errno", errno: "EFAULT", gpa: 16 * 2 ** 20 });
  vm.close();
});

Deno.test("translate() queues absent pages of a demand-uffd slot for the handler", () => {
  const vm = vmWith({ name: "l", gpa: 16n * M, size: 4n * M, backing: "absent" });
  vm.demandUffd("l");
  for (let i = 0n; i < 10n; i++) {
    assertEquals(tr(vm, 16n * M + i * 4096n + 8n), {
      exit: "uffd_wait",
      gpa: Number(16n * M + i * 4096n),
    });
    vm.populate("l", i * 4096n, 4096n); // the handler's UFFDIO_COPY
    assert("page" in tr(vm, 16n * M + i * 4096n));
  }
  assertEquals(stats(vm, "uffd_faults", "pf_taken", "pf_fixed", "pages_4k"), {
    uffd_faults: 10,
    pf_taken: 10,
    pf_fixed: 10,
    pages_4k: 10,
  });
  vm.close();
});

Deno.test("translate() gives guest and host the same bytes", () => {
  const vm = vmWith({ name: "ram", gpa: 16n * M, size: 4n * M });
  const r = tr(vm, 16n * M + 0x2000n, ACCESS_WRITE);
  assert("page" in r && r.direct);
  r.page[16] = 0xab;
  assertEquals(vm.readSlot("ram", 0x2010n), 0xabn);
  assertEquals(vm.readGuest(16n * M + 0x2010n, 1)[0], 0xab);
  assert("page" in tr(vm, 16n * M, ACCESS_EXEC));
  vm.close();
});

Deno.test("memtype() follows vmx_get_mt_mask", () => {
  const vm = vmWith(
    { name: "ram", gpa: 16n * M, size: 4n * M },
    { name: "shm", gpa: 64n * M, size: 4n * M, flags: ["noncoherent_dma"] },
  );
  assertEquals(vm.memtype(16n * M), { type: "WB", ipat: true });
  assertEquals(vm.memtype(0xfee00000n), { type: "UC", ipat: false });
  assertEquals(vm.memtype(64n * M), { type: "WB", ipat: false });
  vm.setQuirk("ignore_guest_pat", false);
  assertEquals(vm.memtype(16n * M).ipat, false);
  vm.close();
});

Deno.test("enableCap() rejects unknown values with EINVAL from KVM_ENABLE_CAP", () => {
  const vm = new EmuVm({ name: "t" });
  for (
    const [cap, v] of [
      ["memslot_zap_control", "zap_some"],
      ["dirty_log_recovery", "maybe"],
      ["page_write_tracking", "sometimes"],
      ["x86_memory_fault_exit", "private"],
    ] as const
  ) {
    const e = assertThrows(() => vm.enableCap(cap, v), ErrnoError);
    assertEquals([e.errno, e.operation], ["EINVAL", "KVM_ENABLE_CAP"]);
  }
  vm.close();
});

Deno.test("a VM-wide non-coherent registration zaps SPTEs and honours guest PAT", () => {
  const vm = vmWith({ name: "ram", gpa: 16n * M, size: 4n * M });
  tr(vm, 16n * M);
  vm.registerNoncoherentDma("a");
  assertEquals(stats(vm, "pages_2m", "sptes_zapped"), { pages_2m: 0, sptes_zapped: 1 });
  assertEquals(vm.memtype(16n * M), { type: "WB", ipat: false });
  vm.registerNoncoherentDma("b");
  vm.registerNoncoherentDma("b"); // once per device, as the RFC's kv->noncoherent
  vm.unregisterNoncoherentDma("b");
  assertEquals(vm.memtype(16n * M).ipat, false);
  vm.unregisterNoncoherentDma("a");
  assertEquals(vm.memtype(16n * M), { type: "WB", ipat: true });
  vm.close();
});
