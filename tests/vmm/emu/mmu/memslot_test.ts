import { assert, assertEquals, assertLess, assertStringIncludes, assertThrows } from "@std/assert";
import { EmuVm } from "../../../../vmm/emu/vm.ts";
import { ACCESS_WRITE } from "../../../../vmm/emu/port.ts";
import { PAGING_OFF } from "../../../support/emu_tables.ts";
import { ErrnoError } from "../../../../vmm/errors.ts";
import type { MemslotSpec } from "../../../../vmm/types.ts";
import { errnoOf } from "../../../support/errno.ts";

const M = 1n << 20n;
const G = 1n << 30n;

function touch(vm: EmuVm, gpa: bigint): void {
  assert("page" in vm.memory.translate(0, PAGING_OFF, Number(gpa), ACCESS_WRITE));
}

function stat(vm: EmuVm, name: string): number {
  return Number(vm.stat(name));
}

Deno.test("addMemslot() follows __kvm_set_memory_region's errno rules", () => {
  const vm = new EmuVm({ name: "m" });
  const add = (s: Partial<MemslotSpec>) => () =>
    void vm.addMemslot({ name: "x", gpa: 16n * M, size: M, ...s });
  assertEquals(errnoOf(add({ gpa: 16n * M + 1n })), "EINVAL");
  assertEquals(errnoOf(add({ size: 4095n })), "EINVAL");
  assertEquals(errnoOf(add({ size: 0n })), "EINVAL");
  assertEquals(errnoOf(add({ gpa: (1n << 48n) - 4096n, size: 8192n })), "EINVAL");
  assertEquals(errnoOf(add({ hugepage: 8192n })), "EINVAL");
  vm.addMemslot({ name: "ram", gpa: 16n * M, size: 4n * M });
  assertEquals(errnoOf(add({ name: "x", gpa: 18n * M })), "EEXIST");
  assertEquals(errnoOf(add({ name: "ram", gpa: 64n * M })), "EEXIST");
  vm.close();
});

Deno.test("addMemslot() refuses the system region and names both parties", () => {
  const vm = new EmuVm({ name: "m" });
  const e = assertThrows(
    () => vm.addMemslot({ name: "low", gpa: 0xf0000n, size: 2n * M }),
    ErrnoError,
  );
  assertEquals(e.errno, "EEXIST");
  assertStringIncludes(e.message, "memslot low [0xf0000, 0x2f0000)");
  assertStringIncludes(e.message, "the VMM's system region [0x0, 0x100000)");
  const moved = new EmuVm({ name: "m", system: { gpa: 1n * G, size: 2n * M } });
  moved.addMemslot({ name: "low", gpa: 0n, size: 2n * M });
  // memslots() lists the user slots only, as on kvm.
  assertEquals(moved.memslots().map((s) => [s.name, s.id]), [["low", 1]]);
  vm.close();
  moved.close();
});

Deno.test("memslot flags, delete and move follow KVM's errno rules", () => {
  const vm = new EmuVm({ name: "m" });
  vm.addMemslot({ name: "ram", gpa: 16n * M, size: 4n * M });
  vm.addMemslot({ name: "rom", gpa: 32n * M, size: M, flags: ["readonly"] });
  assertEquals(errnoOf(() => vm.setMemslotFlags("ram", ["readonly"], [])), "EINVAL");
  assertEquals(errnoOf(() => vm.setMemslotFlags("rom", [], ["readonly"])), "EINVAL");
  assertEquals(errnoOf(() => vm.deleteMemslot("nope")), "EINVAL");
  assertEquals(errnoOf(() => vm.moveMemslot("rom", 17n * M)), "EEXIST");
  assertEquals(errnoOf(() => vm.moveMemslot("rom", 17n * M + 2n)), "EINVAL");
  assertEquals(errnoOf(() => vm.deleteMemslot("system")), "EINVAL");
  vm.writeSlot("rom", 16n, 77n);
  vm.moveMemslot("rom", 48n * M);
  assertEquals(vm.readGuest(48n * M + 16n, 1)[0], 77, "data moves with the slot");
  vm.deleteMemslot("rom");
  assertEquals(vm.memslots().map((s) => s.name), ["ram"]);
  vm.close();
});

function twoSlots(policy?: "zap_only_memslot" | "quirk_off"): EmuVm {
  const vm = new EmuVm({ name: "z" });
  if (policy === "zap_only_memslot") vm.enableCap("memslot_zap_control", policy);
  if (policy === "quirk_off") vm.setQuirk("slot_zap_all", false);
  vm.addMemslot({ name: "ram", gpa: 16n * M, size: 4n * M, hugepage: 4096n });
  vm.addMemslot({ name: "rom", gpa: 64n * M, size: 64n * 1024n, hugepage: 4096n });
  for (let i = 0n; i < 32n; i++) touch(vm, 16n * M + i * 4096n);
  for (let i = 0n; i < 4n; i++) touch(vm, 64n * M + i * 4096n);
  return vm;
}

Deno.test("zap_all on move makes every root obsolete: everything refaults", () => {
  const vm = twoSlots();
  const flushes = stat(vm, "remote_tlb_flush");
  vm.moveMemslot("rom", 96n * M);
  assertEquals(stat(vm, "sptes_zapped"), 36);
  assertEquals(stat(vm, "pages_4k"), 0);
  assertEquals(stat(vm, "remote_tlb_flush"), flushes + 1);
  const taken = stat(vm, "pf_taken");
  for (let i = 0n; i < 32n; i++) touch(vm, 16n * M + i * 4096n);
  assertEquals(stat(vm, "pf_taken"), taken + 32);
  vm.close();
});

for (const policy of ["zap_only_memslot", "quirk_off"] as const) {
  Deno.test(`${policy} zaps only the slot's SPTEs`, () => {
    const vm = twoSlots(policy);
    const flushes = stat(vm, "remote_tlb_flush");
    vm.deleteMemslot("rom");
    assertEquals(stat(vm, "sptes_zapped"), 4);
    assertEquals(stat(vm, "pages_4k"), 32);
    assertEquals(stat(vm, "remote_tlb_flush"), flushes + 1);
    const taken = stat(vm, "pf_taken");
    for (let i = 0n; i < 32n; i++) touch(vm, 16n * M + i * 4096n);
    assertEquals(stat(vm, "pf_taken"), taken);
    const r = vm.memory.translate(0, PAGING_OFF, Number(64n * M), 0);
    assertEquals(r, { exit: "mmio", gpa: 64 * 2 ** 20 });
    vm.close();
  });
}

/**
 * Runs `body` (source using `EmuVm`, `G`, `report`) in a child Deno process,
 * so RSS is measured free of the tests running in parallel with this one.
 */
async function inChild(body: string): Promise<Record<string, number>> {
  const vmUrl = import.meta.resolve("../../../../vmm/emu/vm.ts");
  const code = `import { EmuVm } from "${vmUrl}";
    const G = 1n << 30n;
    const out = {};
    const report = (k, v) => { out[k] = Number(v); };
    ${body}
    console.log(JSON.stringify(out));`;
  const { stdout, success } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", code],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert(success);
  return JSON.parse(new TextDecoder().decode(stdout));
}

Deno.test("a 512 GiB slot costs only its metadata: 256 MiB of write tracking with on, 0 with off", async () => {
  const r = await inChild(`
    const rss0 = Deno.memoryUsage().rss;
    const on = new EmuVm({ name: "big" });
    on.addMemslot({ name: "huge", gpa: 1n << 40n, size: 512n * G });
    report("onTrack", on.stat("write_track_bytes"));
    report("onMeta", on.stat("memslot_metadata_bytes"));
    on.memory.translate(0, { cr0: 0, cr3: 0, cr4: 0, efer: 0, pat: 0n }, 2 ** 40 + 300 * 2 ** 30, 1);
    report("pages2m", on.stat("pages_2m"));
    report("rss", Deno.memoryUsage().rss - rss0);
    on.close();
    const off = new EmuVm({ name: "big" });
    off.enableCap("page_write_tracking", "off");
    off.addMemslot({ name: "huge", gpa: 1n << 40n, size: 512n * G });
    report("offTrack", off.stat("write_track_bytes"));
    report("offMeta", off.stat("memslot_metadata_bytes"));
    off.close();`);
  assertEquals(r.onTrack, 268435456);
  // lpage_info: 262144 2M entries + 512 1G entries, 4 B each.
  assertEquals(r.onMeta, 268435456 + (262144 + 512) * 4);
  assertEquals(r.pages2m, 1);
  // Creation time is a benchmark figure (bench/emu_mmu.ts), not asserted here.
  assertLess(r.rss, 128 * 2 ** 20, "no guest memory or metadata touched");
  assertEquals(r.offTrack, 0);
  assertEquals(r.offMeta, (262144 + 512) * 4);
});

Deno.test("stat() knows every name the registry gives emu and refuses others", async (t) => {
  const vm = new EmuVm({ name: "s", vcpus: 2 });
  const { statsProvidedBy } = await import("../../../../vmm/stats.ts");
  for (const n of statsProvidedBy("emu")) {
    assertEquals(typeof vm.stat(n), "bigint", n);
    assert(vm.statNames().includes(n), n);
  }
  await t.step("unknown", () => {
    const e = assertThrows(() => vm.stat("halt_poll_fail_ns"));
    assertStringIncludes(e.message, "emu backend");
  });
  vm.close();
  vm.close();
});

Deno.test("populate() of a large absent slot only marks pages present", async () => {
  const r = await inChild(`
    const vm = new EmuVm({ name: "p" });
    vm.enableCap("x86_memory_fault_exit", "absent_mapping");
    vm.addMemslot({ name: "big", gpa: 1n << 40n, size: 64n * G, backing: "absent", flags: ["absent_fault"] });
    const rss0 = Deno.memoryUsage().rss;
    vm.populate("big", 4096n);
    report("rss", Deno.memoryUsage().rss - rss0);
    const paging = { cr0: 0, cr3: 0, cr4: 0, efer: 0, pat: 0n };
    report("first", "exit" in vm.memory.translate(0, paging, 2 ** 40, 1) ? 1 : 0);
    report("last", "page" in vm.memory.translate(0, paging, 2 ** 40 + 63 * 2 ** 30, 1) ? 1 : 0);
    vm.close();`);
  assertLess(r.rss, 64 * 2 ** 20, "populate allocates no guest memory");
  assertEquals([r.first, r.last], [1, 1], "page 0 was not populated, the rest was");
});
