/**
 * Guest instructions per sync exit of the looping payloads, counted by the
 * emulator's `instructions` stat. On this project's kvm host every guest
 * instruction between two exits is emulated (about a microsecond each), so
 * these counts are what a sync loop costs beyond the exit itself. The
 * per-exit figure is the difference between two runs that differ only in
 * their number of syncs, so setup and `done` cancel out.
 */
import { assertEquals } from "@std/assert";
import { emuBackend } from "../vmm/emu/mod.ts";
import type { Vm } from "../vmm/types.ts";

const MIB = 1n << 20n;
const PAGE = 4096n;

interface Run {
  instructions: bigint;
  syncs: bigint[];
}

async function run(
  name: string,
  params: Record<string, bigint | string>,
  vcpus = 1,
): Promise<Run> {
  using vm: Vm = emuBackend.createVm({ name: "cost", vcpus });
  vm.addMemslot({ name: "ram", gpa: MIB, size: 4n * MIB });
  vm.addMemslot({ name: "rom", gpa: 0x1000_0000n, size: PAGE });
  vm.loadGuest({ kind: "payload", name, params });
  const syncs: bigint[] = [];
  const exit = await vm.run({
    handledSyncLabels: new Set(["pass", "sum", "iter", "remap"]),
    onExit: (e) => void (e.reason === "sync" && syncs.push(e.value)),
  });
  assertEquals(exit.reason, "done");
  return { instructions: vm.stat("instructions"), syncs };
}

/** Instructions per extra sync between `few` and `many` syncs of the same loop. */
async function perSync(
  name: string,
  params: (n: bigint) => Record<string, bigint | string>,
  few: bigint,
  many: bigint,
): Promise<bigint> {
  const a = await run(name, params(few));
  const b = await run(name, params(many));
  assertEquals(a.syncs.length, Number(few));
  assertEquals(b.syncs.length, Number(many));
  if (name !== "read_sweep") {
    assertEquals(b.syncs, Array.from({ length: Number(many) }, (_, i) => BigInt(i + 1)));
  }
  return (b.instructions - a.instructions) / (many - few);
}

Deno.test("write_sweep: a one-word pass costs 6 guest instructions per sync exit", async () => {
  // store the word, store the value in the slot, out, inc, cmp, jbe.
  const n = await perSync(
    "write_sweep",
    (passes) => ({ slot: "ram", size: PAGE, stride: PAGE, passes }),
    3n,
    53n,
  );
  assertEquals(n, 6n);
});

Deno.test("write_sweep with a fixed value: a one-word pass still costs 6", async () => {
  const n = await perSync(
    "write_sweep",
    (passes) => ({ slot: "ram", size: 8n, stride: 64n, passes, value: 7n }),
    3n,
    23n,
  );
  assertEquals(n, 6n);
});

Deno.test("write_sweep: each further word of a pass adds its 4 loop instructions", async () => {
  // mov rbx, r8 before the word loop; mov/add/cmp/jb per word; the 5 of the sync tail.
  const n = await perSync(
    "write_sweep",
    (passes) => ({ slot: "ram", size: 4n * PAGE, stride: PAGE, passes }),
    3n,
    23n,
  );
  assertEquals(n, 1n + 4n * 4n + 5n);
});

Deno.test("read_sweep: a one-word pass costs 6 guest instructions per sync exit", async () => {
  const n = await perSync(
    "read_sweep",
    (passes) => ({ slot: "ram", size: PAGE, stride: PAGE, passes }),
    3n,
    23n,
  );
  assertEquals(n, 6n);
});

Deno.test("dirty_writer: a one-word iteration costs 6 guest instructions per sync exit", async () => {
  const n = await perSync(
    "dirty_writer",
    (iterations) => ({ slot: "ram", stride: 4n * MIB, iterations }),
    3n,
    23n,
  );
  assertEquals(n, 6n);
});

Deno.test("boot_sim: a round over one RAM and one ROM page costs 7 per sync exit", async () => {
  // Store to the RAM page, load from the ROM page, then the 5 of the sync tail.
  const n = await perSync(
    "boot_sim",
    (remaps) => ({ ram: "ram", rom: "rom", touch: PAGE, remaps }),
    3n,
    23n,
  );
  assertEquals(n, 7n);
});
