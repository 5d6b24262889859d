/**
 * Guest instructions per sync exit of the looping payloads, counted by the
 * emulator's `instructions` stat. On this project's kvm host every guest
 * instruction between two exits is emulated (about a microsecond each), so
 * these counts are what a sync loop costs beyond the exit itself. The
 * per-exit figure is the difference between two runs that differ only in
 * their number of syncs, so setup and `done` cancel out. The bound the lean
 * ucall loops were made for: a one-word pass at most 7 (it was 16).
 */
import { assertEquals } from "@std/assert";
import { emuBackend } from "../../vmm/emu/mod.ts";
import type { Vm } from "../../vmm/types.ts";
import { loadGuest } from "../../vmm/builder.ts";

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
  loadGuest(vm, { kind: "payload", name, params });
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

/** A looping payload, how its parameters make `n` sync exits, and what one exit costs. */
interface Case {
  name: string;
  payload: string;
  params: (n: bigint) => Record<string, bigint | string>;
  /** Guest instructions per sync exit. */
  perExit: bigint;
  /** Why that many. */
  why: string;
}

const CASES: Case[] = [
  {
    name: "write_sweep, one-word pass",
    payload: "write_sweep",
    params: (passes) => ({ slot: "ram", size: PAGE, stride: PAGE, passes }),
    perExit: 6n,
    why: "store the word, store the value in the slot, out, inc, cmp, jbe",
  },
  {
    name: "write_sweep, one-word pass of a fixed value",
    payload: "write_sweep",
    params: (passes) => ({ slot: "ram", size: 8n, stride: 64n, passes, value: 7n }),
    perExit: 6n,
    why: "as above: the value is loaded once, before the loop",
  },
  {
    name: "write_sweep, four words per pass",
    payload: "write_sweep",
    params: (passes) => ({ slot: "ram", size: 4n * PAGE, stride: PAGE, passes }),
    perExit: 1n + 4n * 4n + 5n,
    why: "mov rbx, r8; mov/add/cmp/jb per word; the 5 of the sync tail",
  },
  {
    name: "read_sweep, one-word pass",
    payload: "read_sweep",
    params: (passes) => ({ slot: "ram", size: PAGE, stride: PAGE, passes }),
    perExit: 6n,
    why: "load the word (the sum of one word), store it in the slot, out, inc, cmp, jbe",
  },
  {
    name: "dirty_writer, one-word iteration",
    payload: "dirty_writer",
    params: (iterations) => ({ slot: "ram", stride: 4n * MIB, iterations }),
    perExit: 6n,
    why: "a 4 MiB share with a 4 MiB stride is one word",
  },
  {
    name: "boot_sim, one RAM and one ROM page per round",
    payload: "boot_sim",
    params: (remaps) => ({ ram: "ram", rom: "rom", touch: PAGE, remaps }),
    perExit: 7n,
    why: "store to the RAM page, load from the ROM page, the 5 of the sync tail",
  },
];

for (const c of CASES) {
  Deno.test(`${c.name}: ${c.perExit} guest instructions per sync exit`, async () => {
    const n = await perSync(c.payload, c.params, 3n, 23n);
    assertEquals(n, c.perExit, c.why);
  });
}
