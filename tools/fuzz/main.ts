/**
 * `deno task fuzz`: the fuzzer's command line.
 *
 * ```
 * deno task fuzz [--seconds N] [--count N] [--seed S] [--mode worker|process|inline]
 *                [--timeout MS] [--out DIR]
 * ```
 *
 * Prints a table of outcome classes; exit code 1 when a crash class occurred.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { formatReport, fuzz, type FuzzMode } from "./fuzz.ts";

const USAGE = `Usage: deno task fuzz [options]

  --seconds N   time budget (default 60 unless --count is given)
  --count N     number of scripts instead of a time budget
  --seed S      seed of the script stream (default: the clock; printed)
  --mode M      worker (default: in-process, a hang is cut), process (the CLI
                in a subprocess: exit codes, --json, memory), inline
  --timeout MS  per-script limit in worker/process modes (default 20000)
  --out DIR     where crashing inputs go (default fuzz-crashes)`;

function write(text: string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(text + "\n"));
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      seconds: { type: "string" },
      count: { type: "string" },
      seed: { type: "string" },
      mode: { type: "string", default: "worker" },
      timeout: { type: "string", default: "20000" },
      out: { type: "string", default: "fuzz-crashes" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    write(USAGE);
    return 0;
  }
  const mode = values.mode as FuzzMode;
  if (!["worker", "process", "inline"].includes(mode)) {
    write(`fuzz: --mode must be worker, process or inline\n\n${USAGE}`);
    return 2;
  }
  const seed = values.seed !== undefined ? Number(values.seed) : Date.now() % 1_000_000;
  const count = values.count !== undefined ? Number(values.count) : undefined;
  const seconds = values.seconds !== undefined
    ? Number(values.seconds)
    : count === undefined
    ? 60
    : undefined;
  write(
    `fuzz: seed ${seed}, ${
      count !== undefined ? `${count} scripts` : `${seconds} s`
    }, mode ${mode}`,
  );
  const report = await fuzz({
    seed,
    count,
    seconds,
    mode,
    timeoutMs: Number(values.timeout),
    out: values.out,
  });
  write(formatReport(report));
  if (report.crashes.length > 0) {
    write(
      `crashing inputs in ${values.out}/ (rerun: deno task fuzz --seed ${seed} --count ${report.total})`,
    );
  }
  return report.crashes.length > 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
