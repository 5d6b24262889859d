/**
 * Fills every user memslot id KVM has (KVM_USER_MEM_SLOTS = 32764 on x86;
 * id 0 is the VMM's system region, so 32763 user slots) on each backend,
 * once, then asks for one more, which must fail with EINVAL naming the slot
 * limit. Reports the total time, µs per slot, and the ratio of the last
 * 1000 inserts' time to the first 1000 (≈ 1 when insert is O(log n), ≫ 1
 * when quadratic). The kernel's own `set_memory_region_test` fills 32764
 * slots in about 26 s on this machine (peers README), the reference figure.
 *
 * Usage: `deno run -A bench/memslot_fill.ts [--backend emu|kvm|both] [--json out.json]`
 *
 * @module
 */
// deno-lint-ignore-file no-console -- a benchmark reports on the console
import { emuBackend } from "../vmm/emu/mod.ts";
import { ErrnoError } from "../vmm/errors.ts";
import { kvmBackend } from "../vmm/kvm/mod.ts";
import { PAGE_BYTES } from "../vmm/memory/layout.ts";
import { KVM_USER_MEM_SLOTS } from "../vmm/memory/slot_rules.ts";
import type { BackendKind } from "../vmm/types.ts";
import { argValue } from "./_table.ts";

/** Where the slots start: above the system region, 4 GiB. */
const BASE = 1n << 32n;
/** The reference figure: `set_memory_region_test`'s 32764 slots on this host, seconds. */
const SELFTEST_S = 26;

interface Fill {
  backend: BackendKind;
  slots: number;
  seconds: number;
  usPerSlot: number;
  lastOverFirst: number;
  limitError: string;
}

function fill(backend: BackendKind): Fill {
  const vm = (backend === "kvm" ? kvmBackend : emuBackend).createVm({ name: `fill-${backend}` });
  try {
    const n = KVM_USER_MEM_SLOTS - 1;
    const stamps: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      if (i % 1000 === 0) stamps.push(performance.now());
      vm.addMemslot({ name: `s${i}`, gpa: BASE + BigInt(i) * PAGE_BYTES, size: PAGE_BYTES });
    }
    const t1 = performance.now();
    stamps.push(t1);
    let limitError = "accepted (wrong)";
    try {
      vm.addMemslot({ name: "one_more", gpa: BASE + BigInt(n) * PAGE_BYTES, size: PAGE_BYTES });
    } catch (e) {
      limitError = e instanceof ErrnoError ? `${e.errno}: ${e.hint}` : String(e);
    }
    const first = stamps[1] - stamps[0];
    const last = stamps[stamps.length - 2] - stamps[stamps.length - 3];
    return {
      backend,
      slots: vm.memslots().length,
      seconds: (t1 - t0) / 1000,
      usPerSlot: ((t1 - t0) * 1000) / n,
      lastOverFirst: last / first,
      limitError,
    };
  } finally {
    vm.close();
  }
}

function main(): void {
  const which = argValue("--backend") ?? "both";
  const json = argValue("--json");
  const backends: BackendKind[] = which === "both" ? ["emu", "kvm"] : [which as BackendKind];
  const results: Fill[] = [];
  for (const b of backends) {
    if (b === "kvm") {
      const probe = kvmBackend.available();
      if (!probe.ok) {
        console.log(`kvm: skipped (${probe.reason})`);
        continue;
      }
    }
    results.push(fill(b));
  }
  console.log(`memslot fill: ${KVM_USER_MEM_SLOTS - 1} user slots of 4 KiB, then one more`);
  console.log(
    `${"backend".padEnd(8)} ${"slots".padStart(6)} ${"s".padStart(7)} ${"µs/slot".padStart(8)} ${
      "last/first 1000".padStart(16)
    } ${"vs selftest".padStart(12)}   limit`,
  );
  for (const r of results) {
    console.log(
      `${r.backend.padEnd(8)} ${String(r.slots).padStart(6)} ${r.seconds.toFixed(2).padStart(7)} ${
        r.usPerSlot.toFixed(1).padStart(8)
      } ${r.lastOverFirst.toFixed(2).padStart(16)} ${
        (SELFTEST_S / r.seconds).toFixed(2).padStart(11)
      }x   ${r.limitError}`,
    );
  }
  if (json) {
    Deno.writeTextFileSync(
      json,
      JSON.stringify({ bench: "memslot_fill", selftestSeconds: SELFTEST_S, results }, null, 2) +
        "\n",
    );
  }
}

if (import.meta.main) main();
