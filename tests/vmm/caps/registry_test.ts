/**
 * The capability registry: every capability and quirk has each of its parts
 * (words, errno rules on the raw `args[0]`, emulator behaviour, kvm mapping,
 * doc row), the emulator applies each proposal's rules to raw values, and
 * the kvm backend never sends a proposal's number for any of them.
 */
import { skipKvm } from "../../support/kvm_probe.ts";
import { assert, assertEquals, assertGreater, assertThrows } from "@std/assert";
import {
  capArg,
  type CapName,
  CAPS,
  type QuirkName,
  QUIRKS,
  VMM_PRIVATE,
} from "../../../vmm/caps/mod.ts";
import { ErrnoError, UnsupportedError, VmmError } from "../../../vmm/errors.ts";
import { EmuVm } from "../../../vmm/emu/mod.ts";
import { KvmVm } from "../../../vmm/kvm/mod.ts";
import { PROPOSAL_CAP_NUMBERS, QUIRK } from "../../../vmm/kvm/uapi.ts";
import { CAP_VALUES, QUIRKS as DSL_QUIRKS } from "../../../dsl/names.ts";

const ignore = skipKvm("capability registry");
const capNames = Object.keys(CAPS) as CapName[];
const quirkNames = Object.keys(QUIRKS) as QuirkName[];

function errno(f: () => void): string {
  const e = assertThrows(f, ErrnoError);
  assertEquals(e.operation, "KVM_ENABLE_CAP");
  return e.errno;
}

Deno.test("caps: every capability has words, hooks and a full doc row", () => {
  assertGreater(capNames.length, 0);
  for (const name of capNames) {
    const def = CAPS[name];
    const words = Object.keys(def.values);
    assertGreater(words.length, 0, name);
    for (const w of words) assertEquals(typeof def.values[w], "bigint", `${name} ${w}`);
    assertEquals(
      new Set(Object.values(def.values)).size,
      words.length,
      `${name}: one word per value`,
    );
    assertEquals(typeof def.emu, "function", name);
    assertEquals(typeof def.kvm, "function", name);
    for (const [k, v] of Object.entries(def.doc)) assert(v.trim() !== "", `${name}: doc.${k}`);
    assertEquals(CAP_VALUES[name], words, `${name}: the checker's words are the module's`);
  }
  assertEquals(Object.keys(CAP_VALUES), capNames);
});

Deno.test("caps: every module of vmm/caps/ is registered under its file name", () => {
  const shared = ["cap.ts", "mod.ts", "quirks.ts"];
  const dir = new URL("../../../vmm/caps/", import.meta.url);
  const modules = [...Deno.readDirSync(dir)].map((e) => e.name)
    .filter((f) => f.endsWith(".ts") && !shared.includes(f)).map((f) => f.slice(0, -3)).sort();
  assertEquals(modules, [...capNames].sort());
});

Deno.test("caps: every word applies on a fresh emulated VM, words and raw values alike", () => {
  for (const name of capNames) {
    for (const [word, arg0] of Object.entries(CAPS[name].values)) {
      using vm = new EmuVm({ name: "w" });
      using raw = new EmuVm({ name: "r" });
      if (CAPS[name].probeOnly) {
        // Announced, never enabled: every word and value is EINVAL.
        assertEquals(errno(() => vm.enableCap(name, word)), "EINVAL", `${name} ${word}`);
        assertEquals(errno(() => raw.enableCap(name, arg0)), "EINVAL", `${name} ${arg0}`);
      } else {
        vm.enableCap(name, word);
        raw.enableCap(name, arg0);
      }
      assertEquals(capArg(name, word), arg0);
    }
  }
});

Deno.test("caps: each capability's rules refuse an undefined args[0] bit with EINVAL", () => {
  for (const name of capNames) {
    using vm = new EmuVm({ name: "bits" });
    assertEquals(errno(() => vm.enableCap(name, 1n << 40n)), "EINVAL", name);
    assertEquals(errno(() => vm.enableCap(name, "no_such_word")), "EINVAL", name);
  }
});

Deno.test("caps: the proposals' own rules on raw args[0]", () => {
  using vm = new EmuVm({ name: "raw" });
  assertEquals(errno(() => vm.enableCap("page_write_tracking", 2n)), "EINVAL");
  assertEquals(errno(() => vm.enableCap("page_write_tracking", "2")), "EINVAL");
  assertEquals(errno(() => vm.enableCap("memslot_zap_control", 4n)), "EINVAL");
  assertEquals(errno(() => vm.enableCap("x86_memory_fault_exit", 4n)), "EINVAL");
  assertEquals(errno(() => vm.enableCap("manual_dirty_log_protect", 2n)), "EINVAL");
  vm.enableCap("x86_memory_fault_exit", 3n); // UNKNOWN | ABSENT_MAPPING: both defined
  vm.enableCap("memslot_zap_control", 1n);
  vm.enableCap("page_write_tracking", VMM_PRIVATE); // on_demand
  using shadow = new EmuVm({ name: "shadow", mmu: "shadow" });
  // The seed's order: unknown bits before EBUSY.
  assertEquals(errno(() => shadow.enableCap("page_write_tracking", 3n)), "EINVAL");
  assertEquals(errno(() => shadow.enableCap("page_write_tracking", 0n)), "EBUSY");
  // Then any memslot: EINVAL for enabling and disabling alike; EBUSY still first.
  shadow.addMemslot({ name: "ram", gpa: 1n << 20n, size: 1n << 20n });
  assertEquals(errno(() => shadow.enableCap("page_write_tracking", 0n)), "EBUSY");
  assertEquals(errno(() => shadow.enableCap("page_write_tracking", 1n)), "EINVAL");
  vm.addMemslot({ name: "ram", gpa: 1n << 20n, size: 1n << 20n });
  assertEquals(errno(() => vm.enableCap("page_write_tracking", 1n)), "EINVAL");
  assertEquals(errno(() => vm.enableCap("page_write_tracking", 0n)), "EINVAL");
  vm.enableCap("page_write_tracking", VMM_PRIVATE); // on_demand has no such rule
  // dirty_log_recovery: 0, 1 and the private bit alone; eager_page_split: 0 and 1.
  assertEquals(errno(() => vm.enableCap("dirty_log_recovery", 2n)), "EINVAL");
  assertEquals(errno(() => vm.enableCap("dirty_log_recovery", VMM_PRIVATE | 1n)), "EINVAL");
  vm.enableCap("dirty_log_recovery", VMM_PRIVATE);
  assertEquals(vm.memory.caps.recovery, "in_place_6_13");
  assertEquals(errno(() => vm.enableCap("eager_page_split", 2n)), "EINVAL");
  vm.enableCap("eager_page_split", 0n);
  assertEquals(vm.memory.caps.eagerPageSplit, false);
});

Deno.test("quirks: every quirk has its mainline bit, an emulator hook and a doc", () => {
  assertEquals(DSL_QUIRKS, quirkNames);
  const bits = new Set<number>(Object.values(QUIRK));
  for (const name of quirkNames) {
    const def = QUIRKS[name];
    assert(bits.has(def.bit), `${name}: bit 0x${def.bit.toString(16)} is a KVM_X86_QUIRK_*`);
    assert(def.doc.trim() !== "", name);
    using vm = new EmuVm({ name: "q" });
    vm.setQuirk(name, false);
    vm.setQuirk(name, true);
  }
});

Deno.test(
  { name: "caps: kvm maps every word and raw value without a proposal number", ignore },
  () => {
    for (const name of capNames) {
      const values = [...Object.values(CAPS[name].values), 2n, 4n, 1n << 40n];
      for (const v of [...Object.keys(CAPS[name].values), ...values]) {
        using vm = new KvmVm({ name: "map" });
        try {
          vm.enableCap(name, v);
        } catch (e) {
          // Unsupported, the host's fixed state, or a value the mapping refuses.
          assert(e instanceof UnsupportedError || e instanceof VmmError, `${name} ${v}: ${e}`);
        }
        for (const l of vm.ioctlLog) {
          if (l.name !== "KVM_ENABLE_CAP" && l.name !== "KVM_CHECK_EXTENSION") continue;
          assert(
            !PROPOSAL_CAP_NUMBERS.includes(Number(l.args[0])),
            `${name} ${v}: ${l.name}(${l.args[0]})`,
          );
        }
      }
    }
    for (const name of quirkNames) {
      using vm = new KvmVm({ name: "quirk" });
      try {
        vm.setQuirk(name, false);
      } catch (e) {
        assert(e instanceof UnsupportedError, `${name}: ${e}`);
      }
    }
  },
);
