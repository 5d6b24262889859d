/**
 * Runs every benchmark script in `bench/` one after another (never in
 * parallel: these machines have 2 cores and the figures are ratios against
 * a baseline measured in the same script), prints each one's table, and
 * writes their JSON results into one file.
 *
 * Usage: `deno task bench [--only name,...] [--json out.json]`
 *
 * @module
 */
// deno-lint-ignore-file no-console -- a benchmark runner prints its tables
import { parseArgs } from "node:util";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** The benchmark scripts, in the order they run. */
export const BENCHMARKS: readonly string[] = [
  "ucall.ts",
  "emu_cpu.ts",
  "emu_mmu.ts",
  "demand_paging.ts",
  "backends.ts",
  "proposals.ts",
  "memslot_fill.ts",
  "calibrate.ts",
];

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { only: { type: "string" }, json: { type: "string" } },
  });
  const only = values.only?.split(",").map((s) => s.replace(/\.ts$/, ""));
  const tmp = await Deno.makeTempDir({ prefix: "vmm-bench-" });
  const results: Record<string, unknown> = {};
  let failed = 0;
  try {
    for (const file of BENCHMARKS) {
      const name = basename(file, ".ts");
      if (only && !only.includes(name)) continue;
      const path = join(here, file);
      try {
        await Deno.stat(path);
      } catch {
        continue;
      }
      const out = join(tmp, `${name}.json`);
      console.log(`\n== ${name} ==`);
      const { code } = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", path, "--json", out],
        stdout: "inherit",
        stderr: "inherit",
      }).output();
      if (code !== 0) {
        failed++;
        console.log(`${name}: exited with ${code}`);
        continue;
      }
      results[name] = JSON.parse(await Deno.readTextFile(out));
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
  if (values.json) {
    await Deno.writeTextFile(values.json, JSON.stringify(results, null, 2) + "\n");
    console.log(`\nwrote ${values.json}`);
  }
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
