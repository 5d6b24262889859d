/**
 * Barriers on real KVM with several vCPUs (`run until sync "L"`): every
 * vCPU stops at the label before the run returns, the handler runs at every
 * arrival, and the vCPUs really run concurrently between barriers. Nothing
 * here depends on timing: the concurrency test hangs (and the watchdog
 * fails it) unless the vCPUs run at the same time.
 */
import { TEST_WATCHDOG_MS } from "../../support/wait.ts";
import { skipKvm } from "../../support/kvm_probe.ts";
import { assertEquals } from "@std/assert";
import { KvmVm } from "../../../vmm/kvm/mod.ts";
import { Assembler } from "../../../guest/assembler.ts";
import { imm, mem, qword, R } from "../../../guest/operands.ts";
import { UCALL_LABEL_OFFSET, UCALL_PORT, UcallCmd } from "../../../guest/ucall.ts";
import {
  CODE_OFFSET,
  flatLongModeImage,
  labelGpa,
  syncLoopGuest,
} from "../../support/kvm_guests.ts";
import type { VcpuExit } from "../../../vmm/types.ts";

const ignore = skipKvm("kvm barrier tests");

Deno.test({ name: "barrier: every vCPU of four stops at each sync", ignore }, async () => {
  using vm = new KvmVm({ name: "barrier", vcpus: 4 });
  vm.loadImage(
    flatLongModeImage({ code: syncLoopGuest(3, labelGpa(0)), labels: ["s"], vcpus: 4 }),
  );
  for (let i = 0n; i < 3n; i++) {
    const seen: VcpuExit[] = [];
    const exit = await vm.run({
      watchdogMs: TEST_WATCHDOG_MS,
      until: { kind: "sync", label: "s" },
      handledSyncLabels: new Set(["s"]),
      onExit: (e) => void seen.push(e),
    });
    assertEquals(exit.reason === "sync" && exit.value, i, "$exit is an arrival at this barrier");
    // The handler ran once per vCPU (the last arrival included), all at value i.
    assertEquals(seen.map((e) => e.vcpu).sort(), [0, 1, 2, 3]);
    assertEquals(seen.map((e) => e.reason === "sync" && e.value), [i, i, i, i]);
  }
  // Nobody reaches "s" again: the barrier run ends in done.
  assertEquals(
    (await vm.run({ watchdogMs: TEST_WATCHDOG_MS, until: { kind: "sync", label: "s" } })).reason,
    "done",
  );
  assertEquals(vm.stat("ucalls"), 16n, "3 syncs and a done per vCPU, none lost or repeated");
});

Deno.test({ name: "barrier: until first sync holds the others' exits", ignore }, async () => {
  using vm = new KvmVm({ name: "first", vcpus: 2 });
  vm.loadImage(
    flatLongModeImage({ code: syncLoopGuest(2, labelGpa(0)), labels: ["s"], vcpus: 2 }),
  );
  const seen: string[] = [];
  const onExit = (e: VcpuExit) => void seen.push(`${e.vcpu}:${e.reason === "sync" && e.value}`);
  const sync = { handledSyncLabels: new Set(["s"]), onExit, watchdogMs: TEST_WATCHDOG_MS };
  const first = await vm.run({ ...sync, until: { kind: "sync", label: "s", first: true } });
  assertEquals(first.reason, "sync");
  assertEquals(await vm.run(sync).then((e) => e.reason), "done");
  // Every sync was handled exactly once, whatever the first run interrupted.
  assertEquals(seen.sort(), ["0:0", "0:1", "1:0", "1:1"]);
  assertEquals(vm.stat("ucalls"), 6n);
});

/**
 * vCPU 0 spins until vCPU 1 sets a flag, then both sync and finish: only
 * concurrent vCPUs get past it (one at a time, vCPU 0 never returns).
 */
function handshakeGuest(flag: bigint): Uint8Array {
  const a = new Assembler();
  const writer = a.newLabel("writer");
  const spin = a.newLabel("spin");
  const sync = a.newLabel("sync");
  const halt = a.newLabel("halt");
  a.mov(R.rbx, imm(flag));
  a.cmp(R.rdi, imm(0n));
  a.jcc("ne", writer);
  a.label(spin);
  a.cmp(qword({ base: R.rbx }), imm(0n));
  a.jcc("e", spin);
  a.jmp(sync);
  a.label(writer);
  a.mov(qword({ base: R.rbx }), imm(1n));
  a.label(sync);
  a.mov(R.rax, imm(labelGpa(0)));
  a.mov(mem({ base: R.r15, disp: UCALL_LABEL_OFFSET }), R.rax);
  a.mov(R.edx, imm(BigInt(UCALL_PORT)));
  a.mov(R.eax, imm(BigInt(UcallCmd.SYNC)));
  a.out_dx_eax();
  a.mov(R.eax, imm(BigInt(UcallCmd.DONE)));
  a.out_dx_eax();
  a.label(halt);
  a.hlt();
  a.jmp(halt);
  return a.assemble(CODE_OFFSET).bytes;
}

Deno.test({ name: "barrier: vCPUs run concurrently between barriers", ignore }, async () => {
  using vm = new KvmVm({ name: "handshake", vcpus: 2 });
  vm.loadImage(
    flatLongModeImage({ code: handshakeGuest(0x9800n), labels: ["s"], vcpus: 2 }),
  );
  const exit = await vm.run({ until: { kind: "sync", label: "s" }, watchdogMs: TEST_WATCHDOG_MS });
  assertEquals(exit.reason, "sync");
  assertEquals((await vm.run({ watchdogMs: TEST_WATCHDOG_MS })).reason, "done");
  assertEquals(vm.stat("ucalls"), 4n);
});
