/**
 * The emulator at the seeds' scale (spec "Version 2" → "Scale"):
 *
 * - random 4 KiB touches over a 512 GiB slot (the `touch` payload, random
 *   pattern; goal: 1,000,000 in < 30 s, stretch 10 s);
 * - first touch of a fresh page: host time per EPT violation through
 *   `translate()` (goal ≤ 0.5 µs) and per page of the `touch` payload;
 * - dirty_log_perf_test's shape: V vCPUs x 1 GiB, one write per 4 KiB page
 *   per iteration: populate, enable logging, an iteration, get+clear,
 *   disable, an iteration; once per recovery policy (goal < 300 s and
 *   < 8 GiB RSS at 96 vCPUs, stretch 120 s). Each phase's wall time, the
 *   guest instructions and faults in it, and the host bytes held for guest
 *   data are printed, so the time can be split between interpretation,
 *   faults and memory.
 *
 * Usage: `deno run -A bench/emu_scale.ts [--quick] [--only first|touch|dirty]
 * [--vcpus N] [--json out.json]` (`--quick`: 20,000 touches, 8 vCPUs x
 * 64 MiB). Prints a table and JSON.
 *
 * @module
 */
// deno-lint-ignore-file no-console -- a benchmark reports on the console
import { createVm } from "../vmm/builder.ts";
import type { Vm } from "../vmm/types.ts";
import { EmuVm } from "../vmm/emu/vm.ts";
import { ACCESS_WRITE } from "../vmm/emu/port.ts";
import { PAGING_OFF } from "../tests/support/emu_tables.ts";
import { argValue } from "./_table.ts";

const G = 1n << 30n;
const M = 1n << 20n;
const QUICK = Deno.args.includes("--quick");

interface Row {
  name: string;
  value: number;
  unit: string;
  goal?: string;
  note?: string;
}

const rows: Row[] = [];
/** Records a row and prints it at once (the full-size cases take minutes). */
function report(row: Row): void {
  rows.push(row);
  console.error(`${row.name.trim()}: ${row.value.toPrecision(4)} ${row.unit} ${row.note ?? ""}`);
}
const mib = (b: number) => (b / 2 ** 20).toFixed(0) + " MiB";

/**
 * CPU seconds this process has used (user + system, from /proc/self/stat;
 * NaN elsewhere): on a shared machine, wall time also counts waiting for a core.
 */
function cpuSeconds(): number {
  try {
    const stat = Deno.readTextFileSync("/proc/self/stat");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in USER_HZ ticks
  } catch {
    return NaN;
  }
}

/** Host bytes held for the guest data of `slot` (frames, small pages, page map). */
function hostBytes(vm: Vm, slot: string): number {
  if (!(vm instanceof EmuVm)) return NaN;
  return vm.memory.slots.byName(slot)?.host.hostBytes() ?? NaN;
}

async function randomTouches(count: number): Promise<void> {
  const vm = createVm({
    name: "scale-touch",
    backend: "emu",
    system: { gpa: 0n, size: 4n * M }, // room for the identity tables of 512 GiB
    memslots: [{ name: "big", gpa: 1n << 40n, size: 512n * G, hugepage: 4096n }],
    guest: {
      kind: "payload",
      name: "touch",
      params: { slot: "big", count: BigInt(count), pattern: "random", seed: 7n },
    },
  });
  try {
    const rss0 = Deno.memoryUsage().rss;
    const t = performance.now(), c = cpuSeconds();
    const exit = await vm.run({ watchdogMs: 3_600_000 });
    const s = (performance.now() - t) / 1000, cpu = cpuSeconds() - c;
    if (exit.reason !== "done") throw new Error(`touch ended with ${exit.reason}`);
    report({
      name: `${count} random 4K touches over a 512 GiB slot`,
      value: s,
      unit: "s",
      goal: count >= 1e6 ? "< 30 (10)" : undefined,
      note: `${(count / s).toFixed(0)}/s, CPU ${cpu.toFixed(1)} s, pf_taken ${
        vm.stat("pf_taken")
      }, host data ${mib(hostBytes(vm, "big"))}, RSS +${mib(Deno.memoryUsage().rss - rss0)}`,
    });
  } finally {
    vm.close();
  }
}

/** Host time per first-touch EPT violation through translate() (paging off). */
function firstTouch(pages: number): void {
  const best: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < 3; r++) {
    const vm = new EmuVm({ name: "scale-first" });
    vm.addMemslot({ name: "ram", gpa: 4n * G, size: BigInt(pages) * 4096n, hugepage: 4096n });
    const m = vm.memory;
    const base = 4 * 2 ** 30;
    const t = performance.now(), c = cpuSeconds();
    for (let i = 0; i < pages; i++) {
      const tr = m.translate(0, PAGING_OFF, base + i * 4096, ACCESS_WRITE);
      // The first write, as the guest's store would make it.
      if ("gfn" in tr) (tr.sparse ?? tr.view).setInt32(0, i, true);
    }
    best.push((performance.now() - t) * 1000 / pages);
    cpu.push((cpuSeconds() - c) * 1e6 / pages);
    if (Number(vm.stat("pf_taken")) !== pages) throw new Error("unexpected fault count");
    vm.close();
  }
  report({
    name: "first touch of a fresh page (translate + 1 write)",
    value: Math.min(...best),
    unit: "µs",
    goal: "<= 0.5",
    note: `best of 3 x ${pages} pages (wall); CPU ${
      (cpu.reduce((a, b) => a + b) / cpu.length).toFixed(3)
    } µs/page (mean)`,
  });
}

interface Phase {
  name: string;
  s: number;
  cpu: number;
  instructions: number;
  pfTaken: number;
  rss: number;
}

async function dirtyLog(vcpus: number, perVcpu: bigint, recovery: string): Promise<void> {
  const size = BigInt(vcpus) * perVcpu;
  const vm = createVm({
    name: "scale-dirty",
    backend: "emu",
    vcpus,
    system: { gpa: 0n, size: 8n * M }, // stacks and ucall slots of many vCPUs
    caps: [["manual_dirty_log_protect", "on"], ["dirty_log_recovery", recovery]],
    memslots: [{ name: "ram", gpa: 4n * G, size }],
    guest: {
      kind: "payload",
      name: "dirty_writer",
      params: { slot: "ram", iterations: 3n, stride: 4096n },
    },
  });
  const phases: Phase[] = [];
  let peak = Deno.memoryUsage().rss;
  const t00 = performance.now();
  const phase = async (name: string, f: () => void | Promise<void>) => {
    const i0 = Number(vm.stat("instructions")), p0 = Number(vm.stat("pf_taken"));
    const t = performance.now(), c = cpuSeconds();
    await f();
    const rss = Deno.memoryUsage().rss;
    peak = Math.max(peak, rss);
    phases.push({
      name,
      s: (performance.now() - t) / 1000,
      cpu: cpuSeconds() - c,
      instructions: Number(vm.stat("instructions")) - i0,
      pfTaken: Number(vm.stat("pf_taken")) - p0,
      rss,
    });
  };
  // One vCPU at a time to its next stop (`sync "iter"`, or `done` at the end).
  const iteration = async (until: "sync" | "done") => {
    for (let k = 0; k < vcpus; k++) {
      const e = await vm.run({
        vcpu: k,
        until: until === "sync" ? { kind: "sync", label: "iter" } : { kind: "done" },
        watchdogMs: 3_600_000,
      });
      if (e.reason !== until) throw new Error(`vCPU ${k} stopped with ${e.reason}`);
    }
  };
  try {
    await phase("populate (iteration 1)", () => iteration("sync"));
    await phase("enable dirty logging", () => vm.setMemslotFlags("ram", ["dirty_log"], []));
    await phase("iteration 2 (logged)", () => iteration("sync"));
    let dirty = 0;
    await phase("get + clear dirty log", () => {
      for (const b of vm.getDirtyLog("ram", true)) {
        for (let x = b; x !== 0; x &= x - 1) dirty++;
      }
    });
    if (dirty !== Number(size / 4096n)) throw new Error(`${dirty} dirty pages`);
    await phase("disable dirty logging", () => vm.setMemslotFlags("ram", [], ["dirty_log"]));
    await phase("iteration 3 (after recovery)", () => iteration("sync"));
    await iteration("done");
    const total = (performance.now() - t00) / 1000;
    const label = `dirty_log ${vcpus} vCPUs x ${perVcpu / M} MiB, ${recovery}`;
    for (const p of phases) {
      report({
        name: `  ${p.name}`,
        value: p.s,
        unit: "s",
        note: `CPU ${p.cpu.toFixed(1)} s, ${
          (p.instructions / 1e6).toFixed(1)
        } M insns, ${p.pfTaken} pf_taken${
          p.instructions > 0 ? `, ${(p.instructions / p.s / 1e6).toFixed(1)} M insns/s` : ""
        }`,
      });
    }
    report({
      name: label,
      value: total,
      unit: "s",
      goal: vcpus >= 96 ? "< 300 (120)" : undefined,
      note: `peak RSS ${mib(peak)} (goal < 8 GiB), host data ${mib(hostBytes(vm, "ram"))}, ${
        Number(size / 4096n)
      } pages`,
    });
  } finally {
    vm.close();
  }
}

async function main(): Promise<void> {
  const load = Deno.loadavg();
  const only = argValue("--only");
  if (only === undefined || only === "first") firstTouch(QUICK ? 65536 : 262144);
  if (only === undefined || only === "touch") await randomTouches(QUICK ? 20_000 : 1_000_000);
  const vcpus = Number(argValue("--vcpus") ?? (QUICK ? 8 : 96));
  const per = QUICK ? 64n * M : G;
  if (only === undefined || only === "dirty") {
    for (const recovery of ["zap", "in_place"]) await dirtyLog(vcpus, per, recovery);
  }
  const w = Math.max(...rows.map((r) => r.name.length));
  console.log(
    `load average ${
      load.map((x) => x.toFixed(2)).join(" ")
    }, ${navigator.hardwareConcurrency} CPUs`,
  );
  console.log(`${"benchmark".padEnd(w)}  ${"value".padStart(10)}  unit  goal         note`);
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(w)}  ${r.value.toPrecision(4).padStart(10)}  ${r.unit.padEnd(4)}  ${
        (r.goal ?? "").padEnd(11)
      }  ${r.note ?? ""}`,
    );
  }
  const json = JSON.stringify({ quick: QUICK, loadavg: load, rows }, null, 2);
  console.log(json);
  const out = argValue("--json");
  if (out !== undefined) await Deno.writeTextFile(out, json);
}

if (import.meta.main) await main();
