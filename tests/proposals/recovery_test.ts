/**
 * Proposal 5 (seed 004) in dirty_log_perf_test's normal flow: write every
 * page, GET + CLEAR (re-protect), stop logging, write again. The seed's
 * `try_promote_lpage` maps the recovered huge page writable, so the guest
 * takes no fault; mainline 6.13's `make_huge_spte` keeps the write-protected
 * children's permissions, so it takes one fault per huge page, as many as
 * `zap`. Without the CLEAR (manual protect, GET only) both in-place variants
 * recover writable huge pages. And `eager_page_split off`: huge pages split by their first write
 * fault under logging instead of when logging starts.
 */
import { assertEquals, assertGreater, assertGreaterOrEqual } from "@std/assert";
import { emuBackend } from "../../vmm/emu/mod.ts";
import type { Vm } from "../../vmm/types.ts";
import { loadPayload } from "../support/payload.ts";

const M = 1n << 20n;

function stat(vm: Vm, name: string): number {
  return Number(vm.stat(name));
}

interface Flow {
  recovery: "zap" | "in_place" | "in_place_6_13";
  eager?: "on" | "off";
  /** CLEAR after GET (default); without it the written leaves stay writable. */
  clear?: boolean;
}

/** Pages whose bit is set in a dirty bitmap. */
function dirtyPages(bitmap: Uint8Array): number {
  let n = 0;
  for (const b of bitmap) for (let x = b; x !== 0; x &= x - 1) n++;
  return n;
}

/** Three write passes over 8 MiB (four 2M pages); logging during pass 2. */
async function perfFlow(
  { recovery, eager = "on", clear = true }: Flow,
): Promise<Record<string, number>> {
  using vm = emuBackend.createVm({ name: "perf" });
  vm.enableCap("dirty_log_recovery", recovery);
  vm.enableCap("eager_page_split", eager);
  vm.enableCap("manual_dirty_log_protect", "on");
  vm.addMemslot({ name: "ram", gpa: 0x200000n, size: 8n * M });
  loadPayload(vm, "write_sweep", { slot: "ram", stride: 4096n, passes: 3n });
  const out: Record<string, number> = {};
  let pass = 0;
  let before = 0;
  let base4k = 0; // the boot image's own 4K leaves
  const exit = await vm.run({
    handledSyncLabels: new Set(["pass"]),
    onExit: () => {
      pass++;
      if (pass === 1) {
        base4k = stat(vm, "pages_4k");
        out.mapped_2m = stat(vm, "pages_2m");
        vm.setMemslotFlags("ram", ["dirty_log"], []);
        out.enabled_2m = stat(vm, "pages_2m");
        before = stat(vm, "pf_taken");
      } else if (pass === 2) {
        out.logged_faults = stat(vm, "pf_taken") - before;
        out.logged_4k = stat(vm, "pages_4k") - base4k;
        // GET + CLEAR re-protects every page; GET alone (manual protect) leaves them writable.
        out.dirty = dirtyPages(vm.getDirtyLog("ram", clear));
        vm.setMemslotFlags("ram", [], ["dirty_log"]);
        out.recovered = stat(vm, "huge_pages_recovered");
        before = stat(vm, "pf_taken");
      }
    },
  });
  assertEquals(exit.reason, "done");
  out.refaults = stat(vm, "pf_taken") - before;
  out.pages_2m = stat(vm, "pages_2m");
  return out;
}

Deno.test("proposal 5, get + clear: in_place takes no fault, in_place_6_13 as many as zap", async () => {
  const zap = await perfFlow({ recovery: "zap" });
  const seed = await perfFlow({ recovery: "in_place" });
  const mainline = await perfFlow({ recovery: "in_place_6_13" });
  assertEquals([zap.recovered, seed.recovered, mainline.recovered], [0, 4, 4]);
  assertEquals(seed.refaults, 0, "the promoted huge SPTE is writable");
  assertEquals(zap.refaults, 4, "one refault per 2M page");
  assertEquals(mainline.refaults, zap.refaults, "a read-only huge SPTE faults on the first write");
  for (const r of [zap, seed, mainline]) assertEquals(r.pages_2m, 4);
});

Deno.test("proposal 5, get only: in-place recovery restores huge pages without refaulting them", async () => {
  const zap = await perfFlow({ recovery: "zap", clear: false });
  const inPlace = await perfFlow({ recovery: "in_place", clear: false });
  for (const r of [zap, inPlace]) {
    assertEquals([r.mapped_2m, r.dirty], [4, 2048]);
    assertGreaterOrEqual(r.logged_4k, 2048);
  }
  assertEquals(zap.recovered, 0);
  assertEquals(inPlace.recovered, 4);
  assertEquals(zap.pages_2m, 4, "the guest refaulted them huge");
  assertEquals(inPlace.pages_2m, 4);
  assertEquals(inPlace.refaults, 0);
  assertGreater(zap.refaults, inPlace.refaults);
});

Deno.test("eager_page_split off: logging keeps huge pages until their first write fault", async () => {
  const eager = await perfFlow({ recovery: "in_place", eager: "on" });
  const lazy = await perfFlow({ recovery: "in_place", eager: "off" });
  assertEquals(eager.enabled_2m, 0, "split when logging starts");
  assertEquals(lazy.enabled_2m, 4, "only write-protected when logging starts");
  // Either way every page is written once under logging: one fault each
  // (the split fault is the first page's).
  assertEquals(lazy.logged_faults, eager.logged_faults);
  assertGreaterOrEqual(eager.logged_faults, 2048);
  assertEquals([eager.logged_4k, lazy.logged_4k], [2048, 2048]);
  assertEquals([lazy.recovered, lazy.refaults, lazy.pages_2m], [4, 0, 4]);
});
