/**
 * Ucall round-trip benchmark on real KVM.
 *
 * (a) baseline: a guest doing bare `out` to a non-ucall port in a tight
 *     loop, the host calling KVM_RUN in a minimal loop with no decoding.
 *     The guest loop is the very instruction stream of (b) with another
 *     port, so (b)/(a) isolates the host-side cost of the VMM;
 * (a0) for reference: the tightest possible guest loop (`out; jmp`);
 * (b) the VMM's real path: a guest making `sync` ucalls in a loop, driven by
 *     `vm.run({ until: done })` (decode, RunControl, resume);
 * (c) the same guest bytes (memory image, sregs and regs as the VMM set
 *     them) run by a minimal C KVM_RUN loop (`bench/ucall_loop.c`, compiled
 *     here with `cc`; skipped with the reason printed where cc is missing)
 *     that decodes each ucall as the VMM does;
 * (d) the built-in payload: `write_sweep` with one word per pass (size =
 *     stride), a sync exit per pass, through `vm.run` — the lean ucall loop
 *     of `guest/payloads/_common.ts` (6 guest instructions per exit).
 *
 * Per path: the exit round trip (wall µs per exit) and the process's user
 * and system CPU per exit (Deno's `process.cpuUsage()` over the run for (a) and
 * (b), `getrusage` inside the C loop for (c), which times every exit after the
 * first). The figures are (b)/(c): the
 * VMM's exit round trip and user CPU per exit against C's on the same guest.
 *
 * Why (a) and (a0) differ on this project's host: kvm_pvm emulates the
 * guest instructions that follow a userspace exit (the vCPU stat
 * `insn_emulation` grows by the loop's instruction count per exit), so every
 * guest instruction between two exits costs about a microsecond there.
 *
 * Rounds alternate the paths to spread host noise; medians are reported,
 * ratios as the median of per-round ratios.
 *
 * Usage: `deno run -A bench/ucall.ts [--exits N] [--rounds R] [--json out.json]`
 *
 * @module
 */
// deno-lint-ignore-file no-console -- a benchmark reports on the console
import process from "node:process";
import { KvmVm, probeKvm } from "../vmm/kvm/mod.ts";
import { createVm } from "../vmm/mod.ts";
import { encodeRegs } from "../vmm/kvm/regs.ts";
import {
  flatLongModeImage,
  labelGpa,
  pioLoopGuest,
  syncLoopGuest,
} from "../tests/support/kvm_guests.ts";
import { argValue, median, medianRatio, table } from "./_table.ts";

/** A port nothing listens on. */
const BASELINE_PORT = 0x2000;
/** Guest memory the C loop maps at GPA 0: the flat image's system region. */
const C_MEMORY = 1 << 20;

/** One timed run of a path. */
interface Sample {
  /** Wall µs per exit. */
  us: number;
  /** User CPU µs per exit. */
  user: number;
  /** System CPU µs per exit. */
  sys: number;
}

/** Times `body`, which makes `exits` exits, in wall and process CPU time. */
async function timed(exits: () => number, body: () => unknown): Promise<Sample> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await body();
  const ms = performance.now() - t0;
  const c1 = process.cpuUsage();
  const n = exits();
  return { us: (ms * 1000) / n, user: (c1.user - c0.user) / n, sys: (c1.system - c0.system) / n };
}

/** Per exit of the bare KVM_RUN loop over `n` PIO exits of `code`. */
function baseline(vm: KvmVm, n: number, code: Uint8Array): Promise<Sample> {
  vm.loadImage(flatLongModeImage({ code }));
  const fd = vm.vcpuFd(0);
  fd.run(); // first entry faults in the code page
  return timed(() => n, () => {
    for (let i = 0; i < n; i++) fd.run();
  });
}

/** Per exit of `n` sync ucalls through `vm.run`, and guest instructions per exit. */
async function ucalls(vm: KvmVm, n: number): Promise<Sample & { insns: number }> {
  vm.loadImage(flatLongModeImage({ code: syncLoopGuest(n, labelGpa(0)), labels: ["tick"] }));
  const before = vm.stat("ucalls");
  const insns = vm.stat("insn_emulation", 0);
  let exit = "";
  const s = await timed(() => n + 1, async () => {
    exit = (await vm.run({ until: { kind: "done" }, watchdogMs: 120_000 })).reason;
  });
  if (exit !== "done") throw new Error(`unexpected exit ${exit}`);
  const done = Number(vm.stat("ucalls") - before);
  if (done !== n + 1) throw new Error(`expected ${n + 1} ucalls, got ${done}`);
  return { ...s, insns: Number(vm.stat("insn_emulation", 0) - insns) / (n + 1) };
}

/** Per exit of `n` one-word `write_sweep` passes through `vm.run`, and guest instructions per exit. */
async function sweep(n: number): Promise<Sample & { insns: number }> {
  using vm = createVm({
    backend: "kvm",
    name: "bench-sweep",
    memslots: [{ name: "ram", gpa: 1n << 20n, size: 2n << 20n }],
    guest: {
      kind: "payload",
      name: "write_sweep",
      params: { slot: "ram", size: 4096n, stride: 4096n, passes: BigInt(n) },
    },
  });
  let exit = "";
  const s = await timed(() => n + 1, async () => {
    exit = (await vm.run({ until: { kind: "done" }, watchdogMs: 120_000 })).reason;
  });
  if (exit !== "done") throw new Error(`unexpected exit ${exit}`);
  const ucalls = Number(vm.stat("ucalls"));
  if (ucalls !== n + 1) throw new Error(`expected ${n + 1} ucalls, got ${ucalls}`);
  return { ...s, insns: Number(vm.stat("insn_emulation", 0)) / (n + 1) };
}

/** The C loop, built in `dir`, and the files of the guest it runs. */
interface CLoop {
  run(): Promise<Sample>;
}

/**
 * Compiles `bench/ucall_loop.c` and writes the guest of (b) with `n` syncs
 * as the VMM loads it: memory, kvm_sregs (read back from a vCPU after
 * loadImage), kvm_regs.
 *
 * @returns the loop, or the reason it cannot run
 */
async function buildCLoop(dir: string, vm: KvmVm, n: number): Promise<CLoop | string> {
  const bin = `${dir}/ucall_loop`;
  const src = new URL("./ucall_loop.c", import.meta.url).pathname;
  let cc: Deno.CommandOutput;
  try {
    cc = await new Deno.Command("cc", { args: ["-O2", "-o", bin, src], stderr: "piped" }).output();
  } catch (e) {
    return `cc is not available (${e instanceof Error ? e.message : e})`;
  }
  if (!cc.success) return `cc failed: ${new TextDecoder().decode(cc.stderr).trim()}`;
  const image = flatLongModeImage({ code: syncLoopGuest(n, labelGpa(0)), labels: ["tick"] });
  vm.loadImage(image);
  const mem = new Uint8Array(C_MEMORY);
  for (const w of image.writes) mem.set(w.bytes, Number(w.gpa));
  const files = { mem: `${dir}/mem.bin`, sregs: `${dir}/sregs.bin`, regs: `${dir}/regs.bin` };
  Deno.writeFileSync(files.mem, mem);
  Deno.writeFileSync(files.sregs, vm.vcpuFd(0).getSregs());
  Deno.writeFileSync(files.regs, encodeRegs(image.vcpus[0]));
  const args = [files.mem, files.sregs, files.regs, `0x${image.ucallSlots[0].toString(16)}`];
  return {
    async run(): Promise<Sample> {
      const out = await new Deno.Command(bin, { args, stderr: "piped" }).output();
      if (!out.success) {
        throw new Error(`ucall_loop: ${new TextDecoder().decode(out.stderr).trim()}`);
      }
      const r = JSON.parse(new TextDecoder().decode(out.stdout));
      // The C loop times every exit but the first (which faults the guest in): n of n + 1.
      if (r.exits !== n) throw new Error(`ucall_loop: ${r.exits} timed exits, expected ${n}`);
      return { us: r.wallUs / r.exits, user: r.userUs / r.exits, sys: r.systemUs / r.exits };
    },
  };
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
  const dir = await Deno.makeTempDir({ prefix: "vmm-bench-ucall-" });
  try {
    const c = await buildCLoop(dir, vmm, n);
    if (typeof c === "string") console.log(`(c) C KVM_RUN loop skipped: ${c}`);
    // Warm up every path (JIT, page faults, halt-poll state).
    const same = syncLoopGuest(0x7fff_ffff, labelGpa(0), BASELINE_PORT);
    const tight = pioLoopGuest(BASELINE_PORT);
    await baseline(base, 2000, same);
    await ucalls(vmm, 2000);
    if (typeof c !== "string") await c.run();
    await sweep(2000);
    const a: Sample[] = [];
    const a0: Sample[] = [];
    const b: (Sample & { insns: number })[] = [];
    const cs: Sample[] = [];
    const d: (Sample & { insns: number })[] = [];
    for (let r = 0; r < rounds; r++) {
      a.push(await baseline(base, n, same));
      b.push(await ucalls(vmm, n));
      if (typeof c !== "string") cs.push(await c.run());
      a0.push(await baseline(base, n, tight));
      d.push(await sweep(n));
    }
    const med = (xs: Sample[], k: keyof Sample) => median(xs.map((x) => x[k]));
    const us = (xs: Sample[]) => xs.map((x) => x.us);
    const user = (xs: Sample[]) => xs.map((x) => x.user);
    const row = (name: string, xs: Sample[]) => [
      name,
      med(xs, "us").toFixed(2),
      Math.round(1e6 / med(xs, "us")).toString(),
      med(xs, "user").toFixed(2),
      med(xs, "sys").toFixed(2),
    ];
    const rows = [
      row("(a) bare PIO, minimal KVM_RUN loop (Deno)", a),
      row("(a0) out;jmp, minimal KVM_RUN loop (Deno)", a0),
      row("(b) sync ucall via vm.run (the VMM)", b),
      ...(cs.length ? [row("(c) sync ucall, C KVM_RUN loop", cs)] : []),
      row("(d) write_sweep one-word passes via vm.run", d),
    ];
    console.log(`ucall round trip, ${n} exits x ${rounds} rounds (medians, per exit)`);
    for (const line of table(["path", "µs/exit", "exits/s", "user µs", "sys µs"], rows)) {
      console.log(line);
    }
    const insns = median(b.map((x) => x.insns));
    const sweepInsns = median(d.map((x) => x.insns));
    console.log(
      `guest instructions per exit (insn_emulation): (b) and (c) ${insns.toFixed(1)}, ` +
        `(d) ${sweepInsns.toFixed(1)} (with setup and done)`,
    );
    // Throughput of (b) relative to (a), paired per round so that drift in
    // the host's load (other processes on a 2-core machine) cancels out.
    const ratio = medianRatio(us(a), us(b));
    console.log(
      `ratio (b)/(a) throughput: ${ratio.toFixed(3)} (ratio of medians ${
        (med(a, "us") / med(b, "us")).toFixed(3)
      }; goal >= 0.97)`,
    );
    const cpu = (xs: Sample[]) => xs.map((x) => x.user + x.sys);
    // C's own user CPU is near zero (it only copies a few bytes per exit), so
    // the user-CPU figure is the VMM's extra microseconds; the ratios are of
    // the round trip and of the whole CPU time per exit.
    const vsC = cs.length
      ? {
        roundTrip: medianRatio(us(b), us(cs)),
        cpu: medianRatio(cpu(b), cpu(cs)),
        extraUserUs: median(user(b)) - median(user(cs)),
      }
      : null;
    if (vsC) {
      console.log(
        `VMM vs C on the same guest (medians of per-round (b)/(c)): exit round trip ` +
          `${vsC.roundTrip.toFixed(3)}x, CPU per exit ${vsC.cpu.toFixed(3)}x, ` +
          `user CPU +${vsC.extraUserUs.toFixed(2)} µs per exit`,
      );
    }
    if (json) {
      Deno.writeTextFileSync(
        json,
        JSON.stringify(
          {
            bench: "ucall",
            exits: n,
            rounds,
            baselineUsPerExit: med(a, "us"),
            ucallUsPerExit: med(b, "us"),
            baselineRounds: us(a),
            tightUsPerExit: med(a0, "us"),
            tightRounds: us(a0),
            ucallRounds: us(b),
            ratio,
            goal: 0.97,
            guestInstructionsPerExit: insns,
            sweepUsPerExit: med(d, "us"),
            sweepRounds: us(d),
            sweepGuestInstructionsPerExit: sweepInsns,
            userCpuUsPerExit: {
              baseline: med(a, "user"),
              ucall: med(b, "user"),
              sweep: med(d, "user"),
            },
            systemCpuUsPerExit: {
              baseline: med(a, "sys"),
              ucall: med(b, "sys"),
              sweep: med(d, "sys"),
            },
            c: vsC
              ? {
                usPerExit: med(cs, "us"),
                userCpuUsPerExit: med(cs, "user"),
                systemCpuUsPerExit: med(cs, "sys"),
                rounds: us(cs),
                vmmOverC: vsC,
              }
              : { skipped: c },
          },
          null,
          2,
        ) + "\n",
      );
    }
  } finally {
    base.close();
    vmm.close();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
