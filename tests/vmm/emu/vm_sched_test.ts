import { assertEquals, assertRejects } from "@std/assert";
import { EmuVm } from "../../../vmm/emu/vm.ts";
import type { CpuStop, EmuCpu } from "../../../vmm/emu/port.ts";
import type { BootImage, VcpuBootState } from "../../../guest/image.ts";
import { UCALL_PORT, UcallCmd } from "../../../guest/ucall.ts";
import type { VcpuExit } from "../../../vmm/types.ts";
import { ErrnoError } from "../../../vmm/errors.ts";

const SLOT = 0x1000n; // ucall slots in the system region, 64 B per vCPU
const LABEL = 0x2000n;

/** A scripted CPU: returns its stops in order, then `hlt` forever. */
class FakeCpu implements EmuCpu {
  instructions = 0;
  tlbFlushes = 0;
  inValue: bigint | null = null;
  constructor(readonly index: number, readonly stops: CpuStop[]) {}
  run(budget: number): CpuStop {
    this.instructions += budget;
    return this.stops.shift() ?? { kind: "hlt" };
  }
  completeIn(value: bigint): void {
    this.inValue = value;
  }
  completeMmioRead(_value: bigint): void {}
  rip(): bigint {
    return 0x1234n;
  }
  gpr(n: number): bigint {
    return n === 15 ? SLOT + BigInt(this.index) * 64n : 0n;
  }
  flushTlb(): void {
    this.tlbFlushes++;
  }
  flushGfn(_gfn: number): void {}
  invalidateCode(_range: { gfn: number; count: number }): void {}
}

function ucall(cmd: number): CpuStop {
  return { kind: "io", port: UCALL_PORT, size: 4, isWrite: true, value: BigInt(cmd) };
}

/** Ucall slots at SLOT whose label is "pass" and whose value is 40 + the vCPU index. */
function fakeImage(vcpus: number): BootImage {
  const label = new TextEncoder().encode("pass\0");
  const slots = new Uint8Array(64 * vcpus);
  const dv = new DataView(slots.buffer);
  for (let v = 0; v < vcpus; v++) {
    dv.setBigUint64(v * 64 + 8, LABEL, true);
    dv.setBigUint64(v * 64 + 16, BigInt(v + 40), true);
  }
  return {
    writes: [{ gpa: SLOT, bytes: slots }, { gpa: LABEL, bytes: label }],
    vcpus: new Array(vcpus).fill({} as VcpuBootState),
    mapped: [],
    ucallSlots: [],
    pageTablePages: [],
  };
}

function vmWith(script: CpuStop[][]): { vm: EmuVm; cpus: FakeCpu[] } {
  const cpus: FakeCpu[] = [];
  const vm = new EmuVm({ name: "sched", vcpus: script.length }, {
    createCpu: (i) => {
      const c = new FakeCpu(i, script[i]);
      cpus.push(c);
      return c;
    },
  });
  vm.loadImage(fakeImage(script.length));
  return { vm, cpus };
}

Deno.test("run(): round-robin vCPUs, unhandled syncs continue, all done stops", async () => {
  const { vm, cpus } = vmWith([
    [{ kind: "quantum" }, ucall(UcallCmd.SYNC), ucall(UcallCmd.DONE)],
    [ucall(UcallCmd.SYNC), { kind: "quantum" }, { kind: "quantum" }, ucall(UcallCmd.DONE)],
  ]);
  assertEquals(await vm.run(), { reason: "done", vcpu: 1 });
  assertEquals(cpus.map((c) => c.instructions), [30000, 40000]);
  assertEquals(Number(vm.stat("ucalls")), 4);
  assertEquals(Number(vm.stat("io_exits", 1)), 2);
  assertEquals(await vm.run(), { reason: "done", vcpu: 0 }, "nothing left to run");
  vm.close();
});

Deno.test("run(): until sync stops with label and value; handled syncs call onExit", async () => {
  const { vm } = vmWith([[ucall(UcallCmd.SYNC), ucall(UcallCmd.SYNC), ucall(UcallCmd.DONE)]]);
  assertEquals(await vm.run({ until: { kind: "sync", label: "pass" } }), {
    reason: "sync",
    vcpu: 0,
    label: "pass",
    value: 40n,
  });
  const seen: VcpuExit[] = [];
  const exit = await vm.run({
    handledSyncLabels: new Set(["pass"]),
    onExit: async (e) => {
      await new Promise((r) => setTimeout(r, 1));
      seen.push(e);
    },
  });
  assertEquals(exit.reason, "done");
  assertEquals(seen.length, 1);
  vm.close();
});

Deno.test("run(): io, hlt and mmio exits stop the run; in/mmio reads complete with 0", async () => {
  const { vm, cpus } = vmWith([[
    { kind: "io", port: 0x80, size: 1, isWrite: false, value: 0n },
    { kind: "hlt" },
    { kind: "mmio", gpa: 0xfee00000, len: 4, isWrite: true, value: 7n },
    { kind: "shutdown", rip: 0x99n, reason: "#GP" },
  ]]);
  assertEquals(await vm.run(), {
    reason: "io",
    vcpu: 0,
    port: 0x80,
    size: 1,
    isWrite: false,
    data: 0n,
  });
  assertEquals(cpus[0].inValue, 0n);
  assertEquals(await vm.run(), { reason: "hlt", vcpu: 0 });
  assertEquals((await vm.run()).reason, "mmio");
  assertEquals(await vm.run(), { reason: "shutdown", vcpu: 0, rip: 0x99n });
  assertEquals(Number(vm.stat("exits")), 4);
  assertEquals(Number(vm.stat("halt_exits")), 1);
  assertEquals(Number(vm.stat("mmio_exits")), 1);
  vm.close();
});

Deno.test("run({ vcpu }) runs only that vCPU; until exit stops at the first exit", async () => {
  const { vm, cpus } = vmWith([
    [ucall(UcallCmd.DONE)],
    [ucall(UcallCmd.SYNC), ucall(UcallCmd.DONE)],
  ]);
  assertEquals((await vm.run({ vcpu: 1, until: { kind: "exit" } })).reason, "sync");
  assertEquals(cpus[0].instructions, 0);
  assertEquals(await vm.run({ vcpu: 1 }), { reason: "done", vcpu: 1 });
  assertEquals(await vm.run(), { reason: "done", vcpu: 0 });
  vm.close();
});

Deno.test("run(): memory faults stop unless handled; a closed VM refuses to run", async () => {
  const mf: CpuStop = {
    kind: "mmu",
    exit: { exit: "memory_fault", gpa: 0x200000, size: 4096, flags: ["absent_mapping"] },
  };
  const { vm } = vmWith([[mf, mf, ucall(UcallCmd.DONE), {
    kind: "mmu",
    exit: { exit: "errno", errno: "EFAULT", gpa: 0x300000 },
  }]]);
  assertEquals(await vm.run(), {
    reason: "memory_fault",
    vcpu: 0,
    gpa: 0x200000n,
    len: 4096n,
    flags: ["absent_mapping"],
  });
  let handled = 0;
  assertEquals(
    (await vm.run({ handleMemoryFault: true, onExit: () => void handled++ })).reason,
    "done",
  );
  assertEquals(handled, 1);
  vm.loadImage(fakeImage(1));
  vm.close();
  await assertRejects(() => vm.run());
});

Deno.test("run(): EFAULT from the MMU rejects with ErrnoError", async () => {
  const { vm } = vmWith([[{
    kind: "mmu",
    exit: { exit: "errno", errno: "EFAULT", gpa: 0x300000 },
  }]]);
  const e = await assertRejects(() => vm.run(), ErrnoError);
  assertEquals([e.errno, e.operation], ["EFAULT", "KVM_RUN"]);
  vm.close();
});

Deno.test("run(): until sync is a barrier; a waiting vCPU is not stepped; the next run resumes all", async () => {
  const { vm, cpus } = vmWith([
    [ucall(UcallCmd.SYNC), ucall(UcallCmd.SYNC), ucall(UcallCmd.DONE)],
    [{ kind: "quantum" }, { kind: "quantum" }, ucall(UcallCmd.SYNC), ucall(UcallCmd.DONE)],
  ]);
  const seen: number[] = [];
  const barrier = {
    until: { kind: "sync", label: "pass" } as const,
    handledSyncLabels: new Set(["pass"]),
    onExit: (e: VcpuExit) => void seen.push(e.vcpu),
  };
  assertEquals(await vm.run(barrier), { reason: "sync", vcpu: 1, label: "pass", value: 41n });
  assertEquals(cpus.map((c) => c.instructions), [10000, 30000], "vCPU 0 waited, not stepped");
  assertEquals(seen, [0, 1], "the handler ran at every arrival, the stopping one included");
  // vCPU 1 finishes with done and is not waited for: vCPU 0's arrival is $exit.
  assertEquals(await vm.run(barrier), { reason: "sync", vcpu: 0, label: "pass", value: 40n });
  assertEquals(seen, [0, 1, 0]);
  assertEquals(await vm.run(barrier), { reason: "done", vcpu: 0 }, "nobody arrived");
  vm.close();
});

Deno.test("run(): until first sync stops at the first arrival, the others where they are", async () => {
  const { vm, cpus } = vmWith([
    [{ kind: "quantum" }, ucall(UcallCmd.SYNC), ucall(UcallCmd.DONE)],
    [ucall(UcallCmd.SYNC), ucall(UcallCmd.DONE)],
  ]);
  const first = { until: { kind: "sync", label: "pass", first: true } as const };
  assertEquals((await vm.run(first)).vcpu, 1);
  assertEquals(cpus.map((c) => c.instructions), [10000, 10000]);
  assertEquals((await vm.run(first)).vcpu, 0);
  assertEquals((await vm.run()).reason, "done");
  vm.close();
});
