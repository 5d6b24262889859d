/**
 * Instruction-exact parity. This project's kvm host (kvm_pvm, shadow
 * paging) runs a non-PVM guest entirely in KVM's instruction emulator, so
 * the kernel's `insn_emulation` counts every guest instruction. The
 * emulator's `instructions` counts the same thing, so for a single vCPU run
 * to `done` the two must be equal to the instruction. On a host that runs
 * the guest natively `insn_emulation` stays near 0 and the comparison is
 * skipped with a note.
 */
import { TEST_WATCHDOG_MS } from "../support/wait.ts";
import { assertEquals } from "@std/assert";
import { createVm } from "../../vmm/mod.ts";
import type { GuestSpec } from "../../vmm/types.ts";
import { skipKvm } from "../support/kvm_probe.ts";

const ignore = skipKvm("parity_instructions");

const MIB = 1n << 20n;

const CASES: { name: string; params: Record<string, bigint | string> }[] = [
  { name: "write_sweep", params: { slot: "ram", stride: 4096n, passes: 2n } },
  { name: "read_sweep", params: { slot: "ram", stride: 4096n, passes: 3n } },
  { name: "touch", params: { slot: "ram", count: 300n, pattern: "random", seed: 7n } },
  { name: "touch", params: { slot: "ram", count: 300n, write: "off" } },
  { name: "pt_write", params: { count: 40n } },
];

async function instructions(
  backend: "kvm" | "emu",
  guest: GuestSpec,
): Promise<{ count: bigint; exit: string }> {
  using vm = createVm({
    backend,
    memslots: [{ name: "ram", gpa: 2n * MIB, size: 16n * MIB }],
    guest,
  });
  const exit = await vm.run({ until: { kind: "done" }, timeoutMs: TEST_WATCHDOG_MS });
  return {
    count: vm.stat(backend === "kvm" ? "insn_emulation" : "instructions"),
    exit: exit.reason,
  };
}

function describe(params: Record<string, bigint | string>): string {
  return Object.entries(params).map(([k, v]) => `${k}=${v}`).join(" ");
}

for (const c of CASES) {
  Deno.test({
    name: `parity: ${c.name} ${describe(c.params)} retires the same instructions on kvm and emu`,
    ignore,
    async fn() {
      const guest: GuestSpec = { kind: "payload", name: c.name, params: c.params };
      const kvm = await instructions("kvm", guest);
      const emu = await instructions("emu", guest);
      assertEquals(kvm.exit, "done");
      assertEquals(emu.exit, "done");
      if (kvm.count < emu.count / 2n) {
        // deno-lint-ignore no-console -- say why the exact comparison did not apply
        console.log(`host runs the guest natively (insn_emulation ${kvm.count}): not comparable`);
        return;
      }
      assertEquals(kvm.count, emu.count, "insn_emulation (kvm) == instructions (emu)");
    },
  });
}
