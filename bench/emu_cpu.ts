/**
 * Speed of the emulated CPU (`vmm/emu/cpu/`) in guest instructions per
 * second, over a flat identity-mapped MMU double (so the MMU costs nothing
 * and TLB misses are rare):
 *
 * - `write_sweep`: the payload's inner loop `mov [rax], rbx; add rax, rdx;
 *   cmp rax, rcx; jb loop` over 2 MiB, repeated (TLB hits after the first
 *   pass). The goal is 150 M instructions/s.
 * - `write_sweep_4k`: the same loop with a 4 KiB stride over 6 MiB, so every
 *   store misses the 1024-entry TLB and refills it through the MMU port
 *   (here the flat double): the cost of the slow path.
 * - `mixed`: calls, loads, imul, shifts, byte stores and a data-dependent
 *   branch (a hash loop), for a less flattering figure.
 *
 * Usage: `deno run -A bench/emu_cpu.ts [--json out.json] [--passes N]`
 *
 * @module
 */
import { flatMachine } from "../vmm/emu/cpu/flat_mmu.ts";
import { argValue } from "./_table.ts";

const GOAL = 150e6;

/** One measured workload. */
interface Result {
  name: string;
  instructions: number;
  seconds: number;
  ips: number;
  ratioToGoal: number;
}

function measure(
  name: string,
  code: string,
  gprs: Record<string, bigint>,
): Result {
  // Warm-up run (compiles the blocks and lets V8 optimise them), then the timed run.
  let best: Result | null = null;
  for (let round = 0; round < 5; round++) {
    const { cpu } = flatMachine({ code, gprs, size: 8 << 20 });
    const t0 = performance.now();
    const stop = cpu.run(Number.MAX_SAFE_INTEGER);
    const seconds = (performance.now() - t0) / 1000;
    if (stop.kind !== "hlt") throw new Error(`Cannot run ${name}: stopped with ${stop.kind}`);
    const ips = cpu.instructions / seconds;
    if (best === null || ips > best.ips) {
      best = { name, instructions: cpu.instructions, seconds, ips, ratioToGoal: ips / GOAL };
    }
  }
  return best!;
}

// outer: mov rax, 0x200000; mov rcx, 0x400000; mov rdx, 8; mov rbx, 0x1122334455667788
// l: mov [rax], rbx; add rax, rdx; cmp rax, rcx; jb l; dec r8; jnz outer; hlt
const WRITE_SWEEP =
  "48c7c00000200048c7c10000400048c7c20800000048bb88776655443322114889184801d04839c872f549ffc875d1f4";

// As WRITE_SWEEP with mov rcx, 0x800000 and mov rdx, 4096.
const WRITE_SWEEP_4K = WRITE_SWEEP.replace("48c7c100004000", "48c7c100008000").replace(
  "48c7c208000000",
  "48c7c200100000",
);

// mov rsi, 0x200000; xor eax, eax; mov rbx, 0x9e3779b97f4a7c15
// l: call h; dec r8; jnz l; hlt
// h: mov rdx, [rsi + rax*8]; imul rdx, rbx; shr rdx, 3; xor rax, rdx; and eax, 0xfff
//    mov byte [rsi + rax], dl; test dl, 1; jz skip; inc rcx; skip: ret
const MIXED =
  "48c7c60000200031c048bb157c4a7fb979379ee80600000049ffc875f6f4488b14c6480fafd348c1ea034831d025ff0f0000881406f6c201740348ffc1c3";

function main(): void {
  const passes = Number(argValue("--passes") ?? 0) || 100;
  const results = [
    measure("write_sweep", WRITE_SWEEP, { r8: BigInt(passes) }),
    measure("write_sweep_4k", WRITE_SWEEP_4K, { r8: BigInt(passes * 40) }),
    measure("mixed", MIXED, { r8: BigInt(passes * 50_000) }),
  ];
  for (const r of results) {
    // deno-lint-ignore no-console
    console.log(
      `${r.name.padEnd(15)} ${(r.ips / 1e6).toFixed(1).padStart(7)} M instructions/s  ` +
        `(${r.instructions} in ${r.seconds.toFixed(3)} s; ${
          r.ratioToGoal.toFixed(2)
        }x the 150 M goal)`,
    );
  }
  const json = argValue("--json");
  if (json !== undefined) {
    Deno.writeTextFileSync(json, JSON.stringify({ goal: GOAL, results }, null, 2) + "\n");
  }
}

if (import.meta.main) main();
