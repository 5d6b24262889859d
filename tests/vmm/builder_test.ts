/**
 * The builder (`vmm/builder.ts`): the boot order, the step hook, the lazy
 * guest, payload parameters checked once at the guest step, and a failing
 * step closing the VM.
 */
import { TEST_WATCHDOG_MS } from "../support/wait.ts";
import { assertEquals, assertThrows } from "@std/assert";
import { PayloadParamError } from "../../guest/payloads/mod.ts";
import { type BuildStep, buildVm, loadGuest } from "../../vmm/builder.ts";
import { openVm } from "../../vmm/create.ts";
import type { Vm } from "../../vmm/types.ts";
import { payload } from "../support/payload.ts";

/** Opens an emu VM that records the configuration calls it receives. */
function recording(calls: string[]): (c: Parameters<typeof openVm>[0]) => Vm {
  return (config) => {
    const vm = openVm(config, "emu");
    const enableCap = vm.enableCap.bind(vm);
    const setQuirk = vm.setQuirk.bind(vm);
    const addMemslot = vm.addMemslot.bind(vm);
    const loadImage = vm.loadImage.bind(vm);
    const close = vm.close.bind(vm);
    vm.enableCap = (n, v) => (calls.push(`cap ${n}`), enableCap(n, v));
    vm.setQuirk = (n, on) => (calls.push(`quirk ${n}`), setQuirk(n, on));
    vm.addMemslot = (s) => (calls.push(`memslot ${s.name}`), addMemslot(s));
    vm.loadImage = (i) => (calls.push("image"), loadImage(i));
    vm.close = () => (calls.push("close"), close());
    return vm;
  };
}

Deno.test("buildVm() applies caps, quirks, memslots, devices, then the guest", async () => {
  const calls: string[] = [];
  const steps: BuildStep[] = [];
  using vm = buildVm({
    guest: () => {
      calls.push("guest evaluated");
      return payload("write_sweep", { slot: "ram", size: 4096n });
    },
    devices: [{ name: "gpu", gpa: 0x4000_0000n, size: 0x10000n }],
    memslots: [{ name: "ram", gpa: 0x100000n, size: 1n << 20n }],
    quirks: [["slot_zap_all", true]],
    // Must come before any memslot (EINVAL after): the builder puts it first.
    caps: [["page_write_tracking", "off"]],
  }, {
    openVm: recording(calls),
    step: (step, run) => (steps.push(step), run()),
  });
  assertEquals(calls, [
    "cap page_write_tracking",
    "quirk slot_zap_all",
    "memslot ram",
    "memslot gpu.shm",
    "guest evaluated",
    "image",
  ]);
  assertEquals(steps, [
    { kind: "cap", index: 0 },
    { kind: "quirk", index: 0 },
    { kind: "memslot", index: 0 },
    { kind: "device", index: 0 },
    { kind: "guest" },
  ]);
  assertEquals((await vm.run({ timeoutMs: TEST_WATCHDOG_MS })).reason, "done");
});

Deno.test("buildVm() checks payload parameters at the guest step and closes the VM", () => {
  const calls: string[] = [];
  const e = assertThrows(
    () =>
      buildVm({
        memslots: [{ name: "ram", gpa: 0x100000n, size: 1n << 20n }],
        guest: payload("write_sweep", { slot: "rom", passes: 0n }),
      }, { openVm: recording(calls) }),
    PayloadParamError,
  );
  assertEquals(e.problems, [
    'write_sweep: parameter "slot" names no memslot "rom"',
    'write_sweep: parameter "passes" must be at least 1',
  ]);
  assertEquals(calls, ["memslot ram", "close"]);
});

Deno.test("buildVm() registers a kvm_device non-coherent device VM-wide after its slot", () => {
  const calls: string[] = [];
  const open = recording(calls);
  using vm = buildVm({
    devices: [{
      name: "gpu",
      gpa: 0x4000_0000n,
      size: 0x10000n,
      noncoherent: true,
      via: "kvm_device",
    }],
  }, {
    openVm: (config) => {
      const v = open(config);
      const register = v.registerNoncoherentDma.bind(v);
      v.registerNoncoherentDma = (d) => (calls.push(`register ${d}`), register(d));
      return v;
    },
  });
  assertEquals(calls, ["memslot gpu.shm", "register gpu"]);
  // No slot flag: the registration, not the slot, makes guest types apply.
  assertEquals(vm.memslots()[0].flags, []);
  assertEquals(vm.memtype(0x4000_0000n).ipat, false);
});

Deno.test("loadGuest() builds the image from the VM's memslots and vCPUs", async () => {
  using vm = openVm({ name: "two", vcpus: 2 }, "emu");
  vm.addMemslot({ name: "ram", gpa: 0x100000n, size: 1n << 20n });
  loadGuest(vm, payload("dirty_writer", { slot: "ram" }));
  const exit = await vm.run({ timeoutMs: TEST_WATCHDOG_MS });
  assertEquals(exit.reason, "done");
  assertEquals(vm.stat("ucalls"), 4n, "two vCPUs, one sync and one done each");
});
