/**
 * Ucall round-trip benchmark on real KVM.
 *
 * (a) baseline: a guest doing bare `out` to a non-ucall port in a tight
 *     loop, the host calling KVM_RUN in a minimal loop with no decoding.
 *     The guest loop is the very instruction stream of (b) with another
 *     port, so (b)/(a) isolates the host-side cost of the VMM;
 * (a0) for reference: the tightest possible guest loop (`out; jmp`);
 * (b) the VMM's real path: a guest making `sync` ucalls in a loop, driven by
 *     `vm.run({ until: done })` (decode, RunControl, resume).
 *
 * Why (a) and (a0) differ on this project's host: kvm_pvm emulates the
 * guest instructions that follow a userspace exit (the vCPU stat
 * `insn_emulation` grows by the loop's instruction count per exit), so every
 * guest instruction between two exits costs about a microsecond there.
 *
 * Rounds alternate (a) and (b) to spread host noise; the medians are
 * reported with their ratio (goal: (b) costs at most 1/0.97 of (a)).
 *
 * Usage: `deno run -A bench/ucall.ts [--exits N] [--rounds R] [--json out.json]`
 *
 * @module
 */
// deno-lint-ignore-file no-console -- a benchmark reports on the console
import { KvmVm, probeKvm } from "../vmm/kvm/mod.ts";
import {
  flatLongModeImage,
  labelGpa,
  pioLoopGuest,
  syncLoopGuest,
} from "../tests/support/kvm_guests.ts";
import { argValue, median, medianRatio } from "./_table.ts";

/** A port nothing listens on. */
const BASELINE_PORT = 0x2000;

/** µs per exit of the bare KVM_RUN loop over `n` PIO exits of `code`. */
function baseline(vm: KvmVm, n: number, code: Uint8Array): number {
  vm.loadImage(flatLongModeImage({ code }));
  const fd = vm.vcpuFd(0);
  fd.run(); // first entry faults in the code page
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fd.run();
  return ((performance.now() - t0) * 1000) / n;
}

/** µs per exit of `n` sync ucalls through `vm.run`. */
async function ucalls(vm: KvmVm, n: number): Promise<number> {
  vm.loadImage(flatLongModeImage({ code: syncLoopGuest(n, labelGpa(0)), labels: ["tick"] }));
  const before = vm.stat("ucalls");
  const t0 = performance.now();
  const exit = await vm.run({ until: { kind: "done" }, watchdogMs: 120_000 });
  const ms = performance.now() - t0;
  if (exit.reason !== "done") throw new Error(`unexpected exit ${exit.reason}`);
  const done = Number(vm.stat("ucalls") - before);
  if (done !== n + 1) throw new Error(`expected ${n + 1} ucalls, got ${done}`);
  return (ms * 1000) / (n + 1);
}

async function main(): Promise<void> {
  const probe = probeKvm();
  if (!probe.ok) {
    console.error(`bench/ucall.ts: KVM unavailable: ${probe.reason}`);
    Deno.exit(3);
  }
  const n = Number(argValue("--exits") ?? 10_000);
  const rounds = Number(argValue("--rounds") ?? 11);
  const json = argValue("--json");
  const base = new KvmVm({ name: "bench-baseline" });
  const vmm = new KvmVm({ name: "bench-ucall" });
  try {
    // Warm up both paths (JIT, page faults, halt-poll state).
    const same = syncLoopGuest(0x7fff_ffff, labelGpa(0), BASELINE_PORT);
    const tight = pioLoopGuest(BASELINE_PORT);
    baseline(base, 2000, same);
    await ucalls(vmm, 2000);
    const a: number[] = [];
    const a0: number[] = [];
    const b: number[] = [];
    for (let r = 0; r < rounds; r++) {
      a.push(baseline(base, n, same));
      b.push(await ucalls(vmm, n));
      a0.push(baseline(base, n, tight));
    }
    const ma = median(a);
    const ma0 = median(a0);
    const mb = median(b);
    // Throughput of (b) relative to (a), paired per round so that drift in
    // the host's load (other processes on a 2-core machine) cancels out.
    const ratio = medianRatio(a, b);
    const row = (name: string, us: number, all: number[]) =>
      `${name.padEnd(34)} ${us.toFixed(2).padStart(8)} ${
        Math.round(1e6 / us).toString().padStart(10)
      }   ${all.map((x) => x.toFixed(2)).join(" ")}`;
    console.log(`ucall round trip, ${n} exits x ${rounds} rounds (medians)`);
    console.log(`${"path".padEnd(34)} ${"µs/exit".padStart(8)} ${"exits/s".padStart(10)}   rounds`);
    console.log(row("(a) bare PIO, minimal KVM_RUN loop", ma, a));
    console.log(row("(a0) out;jmp, minimal KVM_RUN loop", ma0, a0));
    console.log(row("(b) sync ucall via vm.run", mb, b));
    console.log(
      `ratio (b)/(a) throughput: ${ratio.toFixed(3)} (median of per-round ratios; ` +
        `ratio of medians ${(ma / mb).toFixed(3)}; goal >= 0.97)`,
    );
    if (json) {
      Deno.writeTextFileSync(
        json,
        JSON.stringify(
          {
            bench: "ucall",
            exits: n,
            rounds,
            baselineUsPerExit: ma,
            ucallUsPerExit: mb,
            baselineRounds: a,
            tightUsPerExit: ma0,
            tightRounds: a0,
            ucallRounds: b,
            ratio,
            goal: 0.97,
          },
          null,
          2,
        ) + "\n",
      );
    }
  } finally {
    base.close();
    vmm.close();
  }
}

if (import.meta.main) await main();
