/**
 * `deno task reproduce [--out DIR] [--quick] [--tiny] [--only ID,…]`: runs
 * every proposal's experiment and writes `DIR/report.md` (default
 * `reproduce-out/`) with one SVG chart per claim. Full size is the seeds'
 * where the machine allows (under 8 minutes on a 2-core host); `--quick`
 * about a minute; `--tiny` is the tests' size.
 *
 * @module
 */
// deno-lint-ignore-file no-console -- a command-line tool reports on the console
import type { ClaimResult, Scale } from "./claim.ts";
import { CLAIMS } from "./claims/mod.ts";
import { writeReport } from "./report.ts";
import { kvmAvailable } from "./run.ts";

/** Options of {@linkcode reproduce}. */
export interface ReproduceOptions {
  /** Output directory. */
  out: string;
  /** Experiment size. */
  scale: Scale;
  /** Only these claim ids (default all). */
  only?: readonly string[];
  /** Progress lines (default none). */
  log?: (line: string) => void;
}

/**
 * Runs the claims and writes the report.
 *
 * @param options where, how large, which claims
 * @returns the claims' results and the files written
 */
export async function reproduce(
  options: ReproduceOptions,
): Promise<{ results: ClaimResult[]; files: string[] }> {
  const kvm = kvmAvailable();
  const results: ClaimResult[] = [];
  const t0 = performance.now();
  for (const claim of CLAIMS) {
    if (options.only && !options.only.includes(claim.id)) continue;
    const t = performance.now();
    results.push(await claim.run(options.scale, kvm));
    options.log?.(`${claim.id}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  const wall = (performance.now() - t0) / 1000;
  const notes = [
    `Scale: ${options.scale}${options.scale === "full" ? "" : " (reduced sizes; see each claim)"}.`,
    kvm
      ? `kvm: /dev/kvm opens (${Deno.build.os}, kernel ${Deno.osRelease()}); kvm figures are measured here.`
      : "kvm: /dev/kvm does not open here; only the emulator's figures.",
    `Wall time of all experiments: ${wall.toFixed(0)} s.`,
    "Every claim runs the examples themselves (examples/*.kvm with `--set` sizes); claim 1 " +
    "adds tools/reproduce/scripts/write_tracking_sweep.kvm for slots up to 512 GiB.",
  ];
  const files = await writeReport(options.out, options.scale, results, notes);
  return { results, files };
}

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

if (import.meta.main) {
  const args = Deno.args;
  const scale: Scale = args.includes("--tiny")
    ? "tiny"
    : args.includes("--quick")
    ? "quick"
    : "full";
  const out = arg(args, "--out") ?? "reproduce-out";
  const only = arg(args, "--only")?.split(",");
  const { files } = await reproduce({ out, scale, only, log: (l) => console.error(l) });
  console.log(`wrote ${files.length} files; report: ${out}/report.md`);
}
