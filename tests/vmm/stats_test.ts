/**
 * The stats registry: every row is complete, every backend provides exactly
 * the rows that say so (and refuses the others with the row's reason), and
 * every counter the emulator keeps has a row.
 */
import { skipKvm } from "../support/kvm_probe.ts";
import { assert, assertEquals, assertThrows } from "@std/assert";
import { type StatDef, STATS, statsProvidedBy } from "../../vmm/stats.ts";
import { UnsupportedError } from "../../vmm/errors.ts";
import { EmuVm } from "../../vmm/emu/mod.ts";
import { M, V } from "../../vmm/emu/stats.ts";
import { KvmVm } from "../../vmm/kvm/mod.ts";
import { STAT_NAMES } from "../../dsl/names.ts";

const ignore = skipKvm("stats registry");
const rows = Object.entries(STATS) as [string, StatDef][];

Deno.test("stats: every row has a scope, a unit, both backends and a description", () => {
  for (const [name, def] of rows) {
    assert(["vcpu", "vm", "vmm"].includes(def.scope), name);
    assert(["count", "pages", "bytes", "ns", "boolean"].includes(def.unit), name);
    for (const b of ["kvm", "emu"] as const) {
      assert(def[b] === true || (typeof def[b] === "string" && def[b] !== ""), `${name}.${b}`);
    }
    assert(def.description.trim() !== "", name);
  }
  assertEquals([...STAT_NAMES], Object.keys(STATS), "the checker knows exactly the registry");
});

Deno.test("stats: every emulator counter has a row that says emu provides it", () => {
  const emu = new Set(statsProvidedBy("emu"));
  for (const name of [...Object.keys(V), ...Object.keys(M)]) assert(emu.has(name as never), name);
});

Deno.test("stats: the emulator provides exactly its rows, and says why not for the others", () => {
  using vm = new EmuVm({ name: "s", vcpus: 2 });
  assertEquals(vm.statNames(), statsProvidedBy("emu"));
  for (const [name, def] of rows) {
    if (def.emu === true) {
      assertEquals(typeof vm.stat(name), "bigint", name);
      assertEquals(typeof vm.stat(name, 1), "bigint", name);
    } else {
      assertThrows(() => vm.stat(name), UnsupportedError, `emu backend: ${def.emu}`);
    }
  }
});

Deno.test({ name: "stats: kvm reads every VMM counter its rows promise", ignore }, () => {
  using vm = new KvmVm({ name: "s" });
  const names = new Set(vm.statNames());
  for (const [name, def] of rows) {
    if (def.scope !== "vmm") continue;
    if (def.kvm === true) {
      assert(names.has(name), name);
      assertEquals(typeof vm.stat(name), "bigint", name);
    } else {
      assert(!names.has(name), name);
      assertThrows(() => vm.stat(name), UnsupportedError, `kvm backend: ${def.kvm}`);
    }
  }
  // The host's stats fds provide the Linux rows they have; the spec's vCPU stats at least.
  for (const name of ["exits", "pf_taken", "halt_exits"]) assert(names.has(name), name);
});
