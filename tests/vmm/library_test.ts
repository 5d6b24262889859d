import { skipKvm } from "../support/kvm_probe.ts";
import { TEST_WATCHDOG_MS } from "../support/wait.ts";
import { assertEquals, assertGreater } from "@std/assert";
import { createVm } from "../../vmm/mod.ts";
import { payload } from "../support/payload.ts";

for (const backend of ["emu", "kvm"] as const) {
  Deno.test({
    name: `createVm() boots a payload and reads stats without a script (${backend})`,
    ignore: backend === "kvm" && skipKvm("library_test"),
    async fn() {
      using vm = createVm({
        backend,
        vcpus: 1,
        memslots: [{ name: "ram", gpa: 0x100000n, size: 4n << 20n }],
        guest: payload("write_sweep", { slot: "ram", passes: 2n }),
      });
      assertEquals(vm.backend, backend);
      const exit = await vm.run({ until: { kind: "done" }, timeoutMs: TEST_WATCHDOG_MS });
      assertEquals(exit.reason, "done");
      assertEquals(vm.stat("ucalls"), 3n);
      assertGreater(vm.stat("exits"), 0n);
      assertEquals(vm.memslots().find((s) => s.name === "ram")?.size, 4n << 20n);
    },
  });
}

Deno.test("createVm() closes the VM when a step of its configuration fails", () => {
  let threw = false;
  try {
    createVm({
      backend: "emu",
      memslots: [
        { name: "a", gpa: 0x100000n, size: 0x10000n },
        { name: "b", gpa: 0x100000n, size: 0x1000n },
      ],
    });
  } catch (e) {
    threw = true;
    assertEquals((e as { errno?: string }).errno, "EEXIST");
  }
  assertEquals(threw, true);
});
