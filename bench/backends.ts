/**
 * The same guest payloads on real KVM and on the emulator, side by side in
 * one run:
 *
 * - `write_sweep`: 64 MiB slot, one 8-byte write per 4 KiB, 2 passes;
 * - `read_sweep`: the same slot read (1 pass);
 * - `touch random`: 4096 random pages of the 64 MiB slot;
 * - `boot_sim small`: 32 MiB RAM (16 MiB touched per round), a 64 KiB
 *   readonly ROM moved away and back at each of 4 `sync "remap"`;
 * - `dirty_writer`: 2 vCPUs, 64 MiB slot, 4 iterations.
 *
 * Each round builds a fresh VM per backend (nothing carried over: first
 * touches are first touches), times VM creation + memslots + payload load +
 * run to `done` ("total"), and the run alone ("run"); closing is not timed.
 * Within a round the backends alternate (kvm first on even rounds, emu first
 * on odd ones) and the figures are medians over rounds; the emu/kvm ratio is
 * the median of per-round ratios. The emulator also reports the guest
 * instructions it retired (`instructions`) and its rate over the run.
 *
 * When `/dev/kvm` cannot be opened the kvm columns are skipped and the reason
 * is printed.
 *
 * Usage: `deno run -A bench/backends.ts [--rounds R] [--only name,...] [--json out.json]`
 *
 * @module
 */
// deno-lint-ignore-file no-console -- a benchmark reports on the console
import { createVm } from "../vmm/mod.ts";
import type { BackendKind, GuestSpec, MemslotSpec, Vm } from "../vmm/mod.ts";
import { kvmBackend } from "../vmm/kvm/mod.ts";
import { argValue, fmt, median, medianRatio, table } from "./_table.ts";

const M = 1n << 20n;
const G = 1n << 30n;
/** Where the benchmark's RAM slots start (clear of the 1 MiB system region). */
const RAM_GPA = 1n * G;
const ROM_GPA = 0xfff0_0000n;
const ROM_AWAY = 0xc000_0000n;

/** One payload configuration. */
interface Case {
  name: string;
  vcpus: number;
  memslots: MemslotSpec[];
  guest: GuestSpec;
  /** Handled `sync` labels and what the host does at each. */
  handled?: { labels: string[]; onExit: (vm: Vm) => void };
}

const RAM64: MemslotSpec = { name: "ram", gpa: RAM_GPA, size: 64n * M };

const CASES: readonly Case[] = [
  {
    name: "write_sweep",
    vcpus: 1,
    memslots: [RAM64],
    guest: {
      kind: "payload",
      name: "write_sweep",
      params: { slot: "ram", stride: 4096n, passes: 2n },
    },
  },
  {
    name: "read_sweep",
    vcpus: 1,
    memslots: [RAM64],
    guest: { kind: "payload", name: "read_sweep", params: { slot: "ram", stride: 4096n } },
  },
  {
    name: "touch_random",
    vcpus: 1,
    memslots: [RAM64],
    guest: {
      kind: "payload",
      name: "touch",
      params: { slot: "ram", count: 4096n, pattern: "random", seed: 7n, write: "on" },
    },
  },
  {
    name: "boot_sim_small",
    vcpus: 1,
    memslots: [
      { name: "ram", gpa: RAM_GPA, size: 32n * M },
      { name: "rom", gpa: ROM_GPA, size: 64n << 10n, flags: ["readonly"] },
    ],
    guest: {
      kind: "payload",
      name: "boot_sim",
      params: { ram: "ram", rom: "rom", remaps: 4n, touch: 16n * M },
    },
    handled: {
      labels: ["remap"],
      onExit: (vm) => {
        vm.moveMemslot("rom", ROM_AWAY);
        vm.moveMemslot("rom", ROM_GPA);
      },
    },
  },
  {
    name: "dirty_writer_2vcpu",
    vcpus: 2,
    memslots: [RAM64],
    guest: {
      kind: "payload",
      name: "dirty_writer",
      params: { slot: "ram", iterations: 4n, stride: 4096n },
    },
  },
];

/** One timed boot of a case on one backend. */
interface Sample {
  totalMs: number;
  runMs: number;
  instructions?: number;
  /** EPT violations (emu only: this kvm host does not maintain pf_taken). */
  faults?: number;
  exits: number;
}

async function once(c: Case, backend: BackendKind): Promise<Sample> {
  const t0 = performance.now();
  const vm = createVm({
    name: `bench-${c.name}`,
    backend,
    vcpus: c.vcpus,
    memslots: c.memslots,
    guest: c.guest,
  });
  try {
    const t1 = performance.now();
    const exit = await vm.run({
      until: { kind: "done" },
      watchdogMs: 60_000,
      handledSyncLabels: c.handled ? new Set(c.handled.labels) : undefined,
      onExit: c.handled ? () => c.handled!.onExit(vm) : undefined,
    });
    const t2 = performance.now();
    if (exit.reason !== "done") {
      throw new Error(`${c.name} on ${backend} ended with ${JSON.stringify(exit, bigintJson)}`);
    }
    return {
      totalMs: t2 - t0,
      runMs: t2 - t1,
      instructions: backend === "emu" ? Number(vm.stat("instructions")) : undefined,
      faults: backend === "emu" ? Number(vm.stat("pf_taken")) : undefined,
      exits: Number(vm.stat("exits")),
    };
  } finally {
    vm.close();
  }
}

function bigintJson(_key: string, v: unknown): unknown {
  return typeof v === "bigint" ? `0x${v.toString(16)}` : v;
}

/** Medians of one case. */
interface CaseResult {
  name: string;
  rounds: number;
  kvm?: {
    totalMs: number;
    runMs: number;
    exits: number;
    totalRounds: number[];
    runRounds: number[];
  };
  emu: {
    totalMs: number;
    runMs: number;
    instructions: number;
    instructionsPerSecond: number;
    faults: number;
    exits: number;
    totalRounds: number[];
    runRounds: number[];
  };
  /** emu/kvm, median of per-round ratios. */
  ratioTotal?: number;
  ratioRun?: number;
}

async function measure(c: Case, rounds: number, kvm: boolean): Promise<CaseResult> {
  // Warm-up (JIT, code paths, host allocator) on each backend, not recorded.
  if (kvm) await once(c, "kvm");
  await once(c, "emu");
  const k: Sample[] = [];
  const e: Sample[] = [];
  for (let r = 0; r < rounds; r++) {
    if (kvm && r % 2 === 0) k.push(await once(c, "kvm"));
    e.push(await once(c, "emu"));
    if (kvm && r % 2 === 1) k.push(await once(c, "kvm"));
  }
  const insns = median(e.map((s) => s.instructions ?? 0));
  const result: CaseResult = {
    name: c.name,
    rounds,
    emu: {
      totalMs: median(e.map((s) => s.totalMs)),
      runMs: median(e.map((s) => s.runMs)),
      instructions: insns,
      instructionsPerSecond: median(e.map((s) => (s.instructions ?? 0) / (s.runMs / 1000))),
      faults: median(e.map((s) => s.faults ?? 0)),
      exits: median(e.map((s) => s.exits)),
      totalRounds: e.map((s) => s.totalMs),
      runRounds: e.map((s) => s.runMs),
    },
  };
  if (kvm) {
    result.kvm = {
      totalMs: median(k.map((s) => s.totalMs)),
      runMs: median(k.map((s) => s.runMs)),
      exits: median(k.map((s) => s.exits)),
      totalRounds: k.map((s) => s.totalMs),
      runRounds: k.map((s) => s.runMs),
    };
    result.ratioTotal = medianRatio(e.map((s) => s.totalMs), k.map((s) => s.totalMs));
    result.ratioRun = medianRatio(e.map((s) => s.runMs), k.map((s) => s.runMs));
  }
  return result;
}

async function main(): Promise<void> {
  const rounds = Number(argValue("--rounds") ?? 9);
  const only = argValue("--only")?.split(",");
  const json = argValue("--json");
  const probe = kvmBackend.available();
  const kvm = probe.ok;
  if (!probe.ok) console.log(`kvm part skipped: ${probe.reason}`);
  const results: CaseResult[] = [];
  for (const c of CASES) {
    if (only && !only.includes(c.name)) continue;
    results.push(await measure(c, rounds, kvm));
  }
  const na = "-";
  const rows = results.map((r) => [
    r.name,
    r.kvm ? r.kvm.totalMs.toFixed(1) : na,
    r.kvm ? r.kvm.runMs.toFixed(1) : na,
    r.emu.totalMs.toFixed(1),
    r.emu.runMs.toFixed(1),
    fmt(r.emu.instructions),
    `${(r.emu.instructionsPerSecond / 1e6).toFixed(1)}M`,
    r.ratioTotal !== undefined ? `${r.ratioTotal.toFixed(2)}x` : na,
    r.ratioRun !== undefined ? `${r.ratioRun.toFixed(2)}x` : na,
    r.kvm ? fmt(r.kvm.exits) : na,
    fmt(r.emu.exits),
    fmt(r.emu.faults),
  ]);
  console.log(
    `kvm vs emu, same payloads, ${rounds} alternating rounds after 1 warm-up (medians, ms; ` +
      `total = create + memslots + load + run to done; emu/kvm = median of per-round ratios)`,
  );
  for (
    const line of table([
      "payload",
      "kvm total",
      "kvm run",
      "emu total",
      "emu run",
      "emu insns",
      "emu insn/s",
      "emu/kvm total",
      "emu/kvm run",
      "kvm exits",
      "emu exits",
      "emu pf_taken",
    ], rows)
  ) console.log(line);
  console.log(
    [
      "  emu insn/s = guest instructions retired / run time: these payloads do a few instructions per",
      "  4 KiB page, so the run is dominated by first-touch faults (the host committing memory) and",
      "  memslot work, not by instruction execution (bench/emu_cpu.ts measures that alone).",
      "  emu slots default to 2 MiB host pages (pf_taken counts 2M mappings); kvm gets what the host",
      "  gives. kvm exits count every KVM_RUN exit, emu exits the modelled ones; they are not comparable",
      "  one to one. kvm here is kvm_pvm (nested, shadow paging), whose per-exit and per-fault costs",
      "  are far above bare-metal KVM's (vmm/kvm/README.md).",
    ].join("\n"),
  );
  if (json) {
    await Deno.writeTextFile(
      json,
      JSON.stringify(
        { bench: "backends", rounds, kvm: probe.ok ? "ok" : probe.reason, results },
        null,
        2,
      ) +
        "\n",
    );
  }
}

if (import.meta.main) await main();
