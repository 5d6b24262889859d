/**
 * Proposal (seed 002): non-coherent DMA for virtio GPU memory, by a memslot
 * flag or by the RFC's ref-counted KVM virtio device, and the page aliasing
 * it causes when the VMM reads guest memory in a live migration.
 */
import { TEST_WATCHDOG_MS } from "../support/wait.ts";
import { assertEquals, assertGreater, assertStringIncludes, assertThrows } from "@std/assert";
import { checkScript, MemoryOutput, parseScript, runScript } from "../../dsl/mod.ts";
import { buildVm, type DeviceMemory } from "../../vmm/builder.ts";
import { UnsupportedError } from "../../vmm/errors.ts";
import { ErrnoError } from "../../vmm/errors.ts";
import type { Vm } from "../../vmm/types.ts";
import { skipKvm } from "../support/kvm_probe.ts";
import { payload } from "../support/payload.ts";

const KVM = !skipKvm("noncoherent_dma_test");
const SHM = 0x1_0000_0000n;
const RAM = 0x4000_0000n;
const SIZE = 2n << 20n;
const PAGES = SIZE / 4096n;

/** A VM with `ram` and a virtio GPU `gpu`, whose guest fills `fill` with PAT `pat`, MTRR `mtrr`. */
async function gpuVm(
  backend: "emu" | "kvm",
  via: DeviceMemory["via"] | "coherent",
  fill: { target: "device" | "ram"; pat: string; mtrr: string },
): Promise<Vm> {
  const vm = buildVm({
    backend,
    memslots: [{ name: "ram", gpa: RAM, size: SIZE, flags: ["dirty_log"] }],
    devices: [{
      name: "gpu",
      gpa: SHM,
      size: SIZE,
      noncoherent: via !== "coherent",
      via: via === "coherent" ? undefined : via,
    }],
    guest: {
      kind: "payload",
      name: "gpu_fill",
      params: fill.target === "device"
        ? { device: "gpu", pat: fill.pat, mtrr: fill.mtrr }
        : { slot: "ram", pat: fill.pat, mtrr: fill.mtrr },
    },
  });
  const exit = await vm.run({ watchdogMs: TEST_WATCHDOG_MS });
  assertEquals(exit.reason, "done");
  return vm;
}

Deno.test("memslot flag ignores guest MTRRs; the KVM virtio device honours them", async () => {
  {
    using vm = await gpuVm("emu", "memslot_flag", { target: "device", pat: "wb", mtrr: "uc" });
    assertEquals(vm.memtype(SHM), { type: "WB", ipat: false }, "PAT WB, MTRR UC ignored");
    assertEquals(vm.memtype(RAM), { type: "WB", ipat: true }, "other memory untouched");
  }
  {
    using vm = await gpuVm("emu", "kvm_device", { target: "device", pat: "wb", mtrr: "uc" });
    assertEquals(vm.memtype(SHM), { type: "UC", ipat: false }, "MTRR UC honoured");
    assertEquals(vm.memtype(RAM), { type: "WB", ipat: false }, "all memory: guest types, WB");
  }
});

Deno.test("migration reads of non-WB pages are hazards; clflush removes them at a cost", async () => {
  using vm = await gpuVm("emu", "memslot_flag", { target: "device", pat: "wc", mtrr: "off" });
  const torn = vm.migrate(["gpu.shm", "ram"]);
  assertEquals(torn, {
    pages: 2n * PAGES,
    bytes: 2n * SIZE,
    dirty: 0n,
    hazards: PAGES,
    flushed: 0n,
  });
  const flushed = vm.migrate(["gpu.shm"], { clflush: true });
  assertEquals([flushed.hazards, flushed.flushed], [0n, PAGES]);
  assertEquals([vm.stat("aliasing_hazards"), vm.stat("clflush_pages")], [PAGES, PAGES]);
});

Deno.test("with the KVM virtio device all guest memory faces aliasing (the RFC's own concern)", async () => {
  using vm = await gpuVm("emu", "kvm_device", { target: "ram", pat: "wb", mtrr: "uc" });
  assertEquals(vm.migrate(["ram"]).hazards, PAGES, "RAM mapped UC by the guest's MTRR");
  using flag = await gpuVm("emu", "memslot_flag", { target: "ram", pat: "wb", mtrr: "uc" });
  assertEquals(flag.migrate(["ram"]).hazards, 0n, "the flag confines guest types to its slot");
});

Deno.test("host writes into pages the guest maps non-WB are aliasing hazards", async () => {
  using vm = await gpuVm("emu", "memslot_flag", { target: "device", pat: "uc", mtrr: "off" });
  vm.writeSlot("gpu.shm", 0n, 1n);
  vm.writeSlot("ram", 0n, 1n);
  assertEquals(vm.stat("aliasing_hazards"), 1n);
});

Deno.test("registration is ref-counted per device and zaps on the first", async () => {
  using vm = await gpuVm("emu", "coherent", { target: "device", pat: "wc", mtrr: "off" });
  const zaps = () => vm.stat("sptes_zapped");
  const before = zaps();
  assertEquals(vm.memtype(SHM), { type: "WB", ipat: true });
  vm.registerNoncoherentDma("gpu0");
  const afterFirst = zaps();
  assertGreater(afterFirst, before, "the guest's SPTEs carry the old type: zapped");
  // The guest never enabled its MTRRs: with MTRR in CPUID that is UC for all memory.
  assertEquals(vm.memtype(SHM), { type: "UC", ipat: false });
  vm.registerNoncoherentDma("gpu1");
  vm.registerNoncoherentDma("gpu1");
  vm.unregisterNoncoherentDma("gpu0");
  assertEquals(zaps(), afterFirst, "neither a second registration nor a non-last one zaps");
  assertEquals(vm.memtype(SHM).ipat, false, "gpu1 still registered");
  vm.unregisterNoncoherentDma("gpu1");
  vm.unregisterNoncoherentDma("gpu1");
  assertEquals(vm.memtype(SHM), { type: "WB", ipat: true });
});

Deno.test("host access outside a slot is EFAULT; gpu.shm is a slot name (both backends)", async () => {
  for (const backend of KVM ? ["emu", "kvm"] as const : ["emu"] as const) {
    using vm = await gpuVm(backend, "coherent", { target: "device", pat: "wc", mtrr: "uc" });
    const pass = vm.migrate(["gpu.shm", "ram"]);
    assertEquals([pass.pages, pass.bytes], [2n * PAGES, 2n * SIZE], backend);
    assertEquals(pass.dirty, 0n, `${backend}: the guest never wrote ram`);
    vm.writeSlot("ram", 8n, 7n);
    assertEquals(vm.readSlot("ram", 8n), 7n);
    assertEquals(vm.readSlot("gpu.shm", 0n), 0xa5a5_a5a5_a5a5_a5a5n);
    for (const op of [() => vm.readSlot("gpu.shm", SIZE), () => vm.writeSlot("ram", SIZE, 1n)]) {
      assertEquals(assertThrows(op, ErrnoError).errno, "EFAULT", backend);
    }
    assertEquals(assertThrows(() => vm.readGuest(SHM + SIZE, 8), ErrnoError).errno, "EFAULT");
    vm.setMemslotFlags("gpu.shm", ["dirty_log"], []);
    assertEquals(vm.getDirtyLog("gpu.shm", false).length, Number(PAGES / 8n), backend);
  }
});

Deno.test("kvm: migrate counts dirty pages from the log; no hazards; kvm_device refused", async () => {
  if (!KVM) return;
  using vm = await gpuVm("kvm", "coherent", { target: "ram", pat: "wc", mtrr: "uc" });
  const first = vm.migrate(["ram"]);
  assertEquals([first.pages, first.dirty, first.hazards], [PAGES, PAGES, undefined]);
  assertEquals(vm.migrate(["ram"]).dirty, 0n, "nothing written since the last pass");
  const e = assertThrows(
    () =>
      buildVm({
        backend: "kvm",
        devices: [{ name: "gpu", gpa: SHM, size: SIZE, noncoherent: true, via: "kvm_device" }],
      }),
    UnsupportedError,
  );
  assertStringIncludes(e.message, "KVM_DEV_TYPE_VIRTIO");
});

async function script(text: string, backend: "emu" | "kvm") {
  const output = new MemoryOutput();
  const summary = await runScript(parseScript(text, { file: "n.kvm" }), { output, backend });
  const of = (kind: string) =>
    output.events.flatMap((e) =>
      e.event === kind ? [e as { text?: string; message?: string }] : []
    );
  return {
    summary,
    printed: of("print").map((e) => e.text),
    errors: of("error").map((e) => e.message),
  };
}

const MIGRATE_SCRIPT = `vm m {
  memslot ram gpa 0x4000_0000 size 2M dirty_log
  guest gpu_fill { slot ram  pat wc }
}
run until done
migrate ram
let $m = migrate ram clflush
print $m.pages, $m.bytes, $m.dirty
`;

Deno.test("scripts: migrate as a step and as a let value, on both backends", async () => {
  for (const backend of KVM ? ["emu", "kvm"] as const : ["emu"] as const) {
    const o = await script(MIGRATE_SCRIPT, backend);
    assertEquals([o.summary.outcome, o.errors], ["passed", []], backend);
    assertEquals(o.printed, ["512 2097152 0"], `${backend}: the bare pass took the dirty bits`);
  }
  const emu = await script(MIGRATE_SCRIPT + "print $m.hazards, $m.flushed\n", "emu");
  assertEquals(emu.printed[1], "0 0", "coherent RAM: nothing to flush");
  if (!KVM) return;
  const kvm = await script(MIGRATE_SCRIPT + "print $m.hazards\n", "kvm");
  assertStringIncludes(kvm.errors[0] ?? "", "has no field 'hazards'");
});

Deno.test("scripts: register_noncoherent_dma at run time (emu) and its checks", async () => {
  const o = await script(
    `vm r {
  memslot ram gpa 0x4000_0000 size 2M
  device virtio_gpu gpu { mmio 0xd000_0000  shm gpa 0x1_0000_0000 size 2M }
}
let $a = memtype gpa 0x4000_0000
register_noncoherent_dma gpu
let $b = memtype gpa 0x4000_0000
unregister_noncoherent_dma gpu
let $c = memtype gpa 0x4000_0000
print $a.ipat, $b.ipat, $c.ipat
`,
    "emu",
  );
  assertEquals([o.summary.outcome, o.printed], ["passed", ["true false true"]]);
  const bad = checkScript(parseScript(
    `vm r { memslot ram gpa 0x4000_0000 size 2M }
register_noncoherent_dma gpu
let $m = migrate
migrate nosuch
`,
    { file: "bad.kvm" },
  )).map((d) => d.message);
  assertEquals(bad, [
    "unknown device 'gpu' (vm 'r' has none)",
    "migrate: name at least one memslot",
    "unknown memslot 'nosuch' (vm 'r' has ram)",
  ]);
});

Deno.test("post-copy: UFFDIO_COPY into pages the guest maps WC is a hazard (tdp and shadow)", async () => {
  for (const mmu of ["tdp", "shadow"] as const) {
    using vm = buildVm({
      backend: "emu",
      mmu,
      memslots: [{
        name: "shm",
        gpa: SHM,
        size: SIZE,
        flags: ["noncoherent_dma"],
        backing: "absent",
      }],
      guest: payload("gpu_fill", { slot: "shm", pat: "wc" }),
    });
    vm.demandUffd("shm");
    assertEquals((await vm.run({ watchdogMs: TEST_WATCHDOG_MS })).reason, "done");
    assertEquals([vm.stat("uffd_faults"), vm.stat("aliasing_hazards")], [PAGES, PAGES], mmu);
  }
});
