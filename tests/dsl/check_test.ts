import { assertEquals } from "@std/assert";
import { checkScript } from "../../dsl/check.ts";
import { parseScript } from "../../dsl/parse.ts";

function problems(text: string): string[] {
  return checkScript(parseScript(text, { file: "c.kvm" })).map((d) =>
    `${d.line}:${d.column} ${d.message}`
  );
}

Deno.test("checkScript() accepts the examples", async () => {
  for await (const entry of Deno.readDir(new URL("../../examples", import.meta.url))) {
    if (!entry.name.endsWith(".kvm")) continue;
    const url = new URL(`../../examples/${entry.name}`, import.meta.url);
    const script = parseScript(await Deno.readTextFile(url), { file: entry.name });
    assertEquals(checkScript(script), [], entry.name);
  }
});

Deno.test("checkScript() accepts every construct used correctly", () => {
  assertEquals(
    problems(`
vm full {
  backend emu
  mmu shadow
  vcpus 2
  system gpa 0 size 2M
  cap page_write_tracking on_demand
  cap memory_fault_nowait
  cap memslot_zap_control zap_only_memslot
  quirk slot_zap_all off
  memslot ram gpa 0x200000 size 64M dirty_log backing memfd hugepage 2M
  memslot lazy gpa 1G size 1G absent_fault backing absent
  device virtio_gpu gpu { mmio 0xd000_0000  shm gpa 0x1_0000_0000 size 16M  noncoherent }
  guest dirty_writer { slot ram  iterations 2 }
}
on memory_fault { memslot lazy populate offset $fault.gpa - 1G size 4K }
on sync "iter" { let $d = dirty_log ram clear; print $d.pages }
mark "warm"
run until done timeout 5s
expect $exit.reason == done else "finished"
track gt gpa 0x200000 size 8K
untrack gt
expect error EINVAL { cap page_write_tracking off }
let $v = memslot ram read offset 0
memslot ram write offset 8 value $v + 1
memslot ram flags -dirty_log
memslot lazy move gpa 2G
let $p = stat pf_taken vcpu 1
stats pf_taken exits
for $n in [1, 2] { print $n * 2 }
repeat 2 { print hex($p) }
time { print 1 } -> $t
expect $t >= 0
memslot lazy delete
`),
    [],
  );
});

Deno.test("checkScript() reports unknown names", () => {
  assertEquals(
    problems(`vm a {
  backend qemu
  mmu ept
  quirk slot_zap_some on
  memslot ram gpa 0x100000 size 4M dirty_logging backing swap hugepage 3M
  device virtio_net n { mmio 0  shm gpa 0x800000 size 4K  noncoherent via dma }
  guest touch { slot ram }
}
memslot ram flags +readonly -dirty
untrack nobody
demand userfault ram
`),
    [
      "2:11 unknown backend 'qemu' (expected auto, kvm, emu)",
      "3:7 unknown mmu 'ept' (expected tdp, shadow)",
      "4:9 unknown quirk 'slot_zap_some' (expected slot_zap_all, ignore_guest_pat, cd_nw_cleared)",
      "5:36 unknown memslot flag 'dirty_logging' (expected dirty_log, readonly, absent_fault, noncoherent_dma)",
      "5:58 unknown backing 'swap' (expected anon, memfd, hugetlb, absent)",
      "5:72 hugepage must be 4K, 2M or 1G, not 3M",
      "6:10 unknown device kind 'virtio_net' (known: virtio_gpu)",
      "6:75 unknown via 'dma' (expected memslot_flag, kvm_device)",
      "9:30 unknown memslot flag 'dirty' (expected dirty_log, readonly, absent_fault, noncoherent_dma)",
      "10:9 unknown tracker 'nobody' (register it with 'track' first)",
      "11:8 unknown demand mode 'userfault' (expected uffd)",
    ],
  );
});

Deno.test("checkScript() checks run, vcpus and handlers", () => {
  assertEquals(
    problems(`vm a { vcpus 2 }
run vcpu 2
on sync "x" { run }
on memory_fault { on sync "y" { print 1 } }
print $fault
`),
    [
      "2:1 'run' needs a guest: vm 'a' declares none",
      "2:10 vcpu 2 does not exist (vm 'a' has 2)",
      "3:15 'run' cannot be used inside a handler",
      "3:15 'run' needs a guest: vm 'a' declares none",
      "4:19 a handler cannot be declared inside a handler",
      "5:7 $fault only has a value inside 'on memory_fault { … }'",
    ],
  );
});

Deno.test("checkScript() knows a vm inside a loop body is gone after the loop", () => {
  assertEquals(
    problems(`for $s in [4K, 8K] {
  vm v { memslot m gpa 1G size $s; guest spin { } }
  run timeout 10ms
}
stats
`),
    ["5:1 'stats' needs a vm: declare one with 'vm NAME { … }' before it"],
  );
});

Deno.test("checkScript() checks record fields and types", () => {
  assertEquals(
    problems(`vm a { memslot ram gpa 1M size 4K; guest spin { } }
run timeout 1s
let $d = dirty_log ram
print $exit.gap, $d.pages.x, hex("a"), $exit.reason < 1, len($d)
`),
    [
      "4:13 $exit has no field 'gap' (fields: reason, vcpu, port, gpa, len, flags, label, value, message, rip)",
      "4:27 '$d.pages' is an integer: it has no fields",
      "4:34 'hex' needs integers but '\"a\"' is a string",
      "4:40 '<' needs numbers but '$exit.reason' is an exit reason",
      "4:62 'len' needs a list or a string but '$d' is a dirty-log record",
    ],
  );
});

Deno.test("checkScript() lets 'expect error' name missing or duplicate slots", () => {
  assertEquals(
    problems(`vm a { memslot ram gpa 1M size 4K }
expect error ENOENT { memslot gone delete }
expect error EEXIST { memslot ram gpa 2M size 4K }
`),
    [],
  );
});

Deno.test("checkScript() checks hugepage of a memslot added as a step, not inside expect error", () => {
  assertEquals(
    problems(`vm a {
  memslot ram gpa 0x100000 size 4M
}
memslot x gpa 0x1000000 size 2M hugepage 3K
expect error EINVAL { memslot y gpa 0x2000000 size 2M hugepage 3K }
`),
    ["4:42 hugepage must be 4K, 2M or 1G, not 3K"],
  );
});

Deno.test("checkScript() checks the payload parameters it knows when the layout is not constant", () => {
  // The layout depends on $s: memslot names and the payload's own checks wait
  // for the run; names, types and ranges of constant values do not.
  assertEquals(
    problems(`for $s in [4K, 8K] {
  vm v { memslot m gpa 1G size $s; guest write_sweep { slot m  passes 0  stride $s  color 1 } }
  run timeout 10ms
}
`),
    [
      '2:71 write_sweep: parameter "passes" must be at least 1',
      '2:85 write_sweep: unknown parameter "color" (known: slot, offset, size, stride, passes, value)',
    ],
  );
});

Deno.test("checkScript(): a deleted slot's name may be declared again, a live one may not", () => {
  const vm = "vm a {\n  memslot ram gpa 1G size 1M\n}\n";
  assertEquals(problems(vm + "memslot ram delete\nmemslot ram gpa 2G size 1M\n"), []);
  assertEquals(problems(vm + "memslot ram gpa 2G size 1M\n"), [
    "4:9 memslot 'ram' is declared twice in vm 'a'",
  ]);
});

Deno.test("checkScript(): vcpus is bounded by KVM_MAX_VCPUS (1024)", () => {
  assertEquals(problems("vm a {\n  vcpus 1024\n}\n"), []);
  assertEquals(problems("vm a {\n  vcpus 1025\n}\n"), [
    "2:9 vcpus must be between 1 and 1024 (KVM_MAX_VCPUS on x86), not 1025",
  ]);
});
