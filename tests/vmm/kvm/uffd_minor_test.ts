/**
 * `demand uffd NAME minor` on a real /dev/kvm: userfaultfd MINOR mode over a
 * memfd slot, answered with UFFDIO_CONTINUE (`demand_paging_test -u MINOR -s
 * shmem`). Skipped (with the reason printed) when /dev/kvm, userfaultfd or
 * its MINOR shmem feature is missing.
 */
import { assertEquals, assertThrows } from "@std/assert";
import { skipKvm } from "../../support/kvm_probe.ts";
import { TEST_WATCHDOG_MS } from "../../support/wait.ts";
import { vmWithRam } from "../../support/kvm_slot_vm.ts";
import { UnsupportedError } from "../../../vmm/errors.ts";
import { KvmVm } from "../../../vmm/kvm/mod.ts";
import { probeUffdMinor } from "../../../vmm/kvm/uffd.ts";
import {
  UFFD_FEATURE_MINOR_SHMEM,
  UFFD_SIZEOF,
  UFFDIO,
  UFFDIO_CONTINUE_OFF,
  UFFDIO_IOCTL_BIT_CONTINUE,
  UFFDIO_REGISTER_MODE_MINOR,
} from "../../../vmm/kvm/uapi.ts";
import { loadGuest } from "../../../vmm/builder.ts";

const ignore = skipKvm("kvm uffd minor tests", probeUffdMinor);

const MIB = 1n << 20n;
const GIB = 1n << 30n;

Deno.test("uffd minor: numbers match linux/userfaultfd.h", () => {
  // _IOWR(0xAA, 0x07, struct uffdio_continue) with a 32-byte struct.
  assertEquals(UFFDIO.UFFDIO_CONTINUE, 0xc020aa07);
  assertEquals(UFFD_SIZEOF.uffdio_continue, 32);
  assertEquals(UFFDIO_CONTINUE_OFF, { start: 0, len: 8, mode: 16, mapped: 24 });
  assertEquals(UFFDIO_REGISTER_MODE_MINOR, 4n);
  assertEquals(UFFD_FEATURE_MINOR_SHMEM, 1024n);
  assertEquals(UFFDIO_IOCTL_BIT_CONTINUE, 128n);
});

/** A VM with a `memfd` slot `ram` at 1 GiB. */
function vmWithMemfd(name: string, size: bigint, vcpus = 1): KvmVm {
  return vmWithRam(name, size, "memfd", vcpus);
}

for (const handlers of [1, 2]) {
  Deno.test({
    name: `uffd minor: touch over a memfd slot, ${handlers} handler(s): one CONTINUE per page`,
    ignore,
  }, async () => {
    using vm = vmWithMemfd(`minor${handlers}`, 4n * MIB);
    // Bytes written before registration stay: MINOR maps the page cache's pages.
    vm.writeSlot("ram", 8n, 0x1234n);
    vm.demandUffd("ram", handlers, { minor: true });
    loadGuest(vm, { kind: "payload", name: "touch", params: { slot: "ram", count: 256n } });
    assertEquals(vm.stat("uffd_faults"), 0n);
    assertEquals((await vm.run({ watchdogMs: TEST_WATCHDOG_MS })).reason, "done");
    assertEquals(vm.stat("uffd_faults"), 256n);
    // The guest's writes went to the memfd's pages; the earlier byte is still there.
    assertEquals(vm.readSlot("ram", 0n), GIB);
    assertEquals(vm.readSlot("ram", 8n), 0x1234n);
    assertEquals(vm.stat("uffd_faults"), 256n);
    // A host read of an untouched page is a minor fault too.
    assertEquals(vm.readSlot("ram", 3n * MIB), 0n);
    assertEquals(vm.stat("uffd_faults"), 257n);
  });
}

Deno.test({ name: "uffd minor: two vCPUs fault concurrently", ignore }, async () => {
  using vm = vmWithMemfd("minor-dw", 4n * MIB, 2);
  vm.demandUffd("ram", 2, { minor: true });
  loadGuest(vm, { kind: "payload", name: "dirty_writer", params: { slot: "ram", iterations: 2n } });
  const exit = await vm.run({
    watchdogMs: TEST_WATCHDOG_MS,
    handledSyncLabels: new Set(["iter"]),
    onExit: () => {},
  });
  assertEquals(exit.reason, "done");
  assertEquals(vm.stat("uffd_faults"), 1024n);
});

Deno.test({ name: "uffd minor: populate maps pages with UFFDIO_CONTINUE", ignore }, async () => {
  using vm = vmWithMemfd("minor-pop", 2n * MIB);
  vm.demandUffd("ram", 1, { minor: true });
  vm.populate("ram", 0n, 100n * 4096n);
  vm.populate("ram", 0n, 200n * 4096n); // the first 100 are mapped already (EEXIST)
  loadGuest(vm, { kind: "payload", name: "touch", params: { slot: "ram", count: 300n } });
  assertEquals((await vm.run({ watchdogMs: TEST_WATCHDOG_MS })).reason, "done");
  assertEquals(vm.stat("uffd_faults"), 100n);
});

Deno.test({ name: "uffd minor: needs backing memfd", ignore }, () => {
  using vm = new KvmVm({ name: "minor-anon" });
  vm.addMemslot({ name: "ram", gpa: GIB, size: 2n * MIB, backing: "absent" });
  assertThrows(
    () => vm.demandUffd("ram", 1, { minor: true }),
    UnsupportedError,
    "needs shared memory: give the slot `backing memfd`",
  );
  // Nothing was registered: MISSING mode still works on the slot.
  vm.demandUffd("ram", 1);
});
