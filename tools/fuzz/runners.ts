/**
 * Runners that can cut a script off: a worker (terminated and replaced on a
 * timeout) and a CLI subprocess (killed on a timeout; also sees what the
 * CLI prints, exit codes, `--json`, and memory exhaustion).
 *
 * @module
 */
import { join } from "node:path";
import { ROOT } from "./corpus.ts";
import { capTimeouts, eventsOutcome, type Outcome } from "./execute.ts";
import { hasEngineWording, type OutputEvent } from "../../dsl/mod.ts";

/** Runs scripts in a worker, one at a time; a script over the limit is a timeout. */
export class WorkerRunner {
  readonly #timeoutMs: number;
  #worker: Worker | undefined;

  /**
   * Makes a runner; its worker starts with the first script.
   *
   * @param timeoutMs the per-script limit
   */
  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** Runs one script. */
  run(text: string): Promise<Outcome> {
    this.#worker ??= new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
    const worker = this.#worker;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        // A hung script cannot be interrupted: drop the worker, the next script gets a new one.
        this.close();
        resolve({ class: "timeout", detail: `no result within ${this.#timeoutMs} ms` });
      }, this.#timeoutMs);
      worker.onmessage = (e: MessageEvent<Outcome>) => {
        clearTimeout(timer);
        resolve(e.data);
      };
      worker.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        clearTimeout(timer);
        this.close();
        const memory = /memory|allocation/i.test(e.message);
        resolve({ class: memory ? "memory" : "internal", detail: e.message });
      };
      worker.postMessage({ text, file: "fuzz.kvm" });
    });
  }

  /** Ends the worker. */
  close(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
  }
}

/** Heap limit of a subprocess: a script that needs more is a memory crash. */
const HEAP_MB = 1024;

/**
 * Runs one script through the CLI (`vmm.ts --json --backend emu`) in a subprocess.
 *
 * @param text the script
 * @param timeoutMs the limit; the process is killed after it
 * @returns the outcome, from the exit code, the JSON events and stderr
 */
export async function executeProcess(text: string, timeoutMs: number): Promise<Outcome> {
  const dir = await Deno.makeTempDir({ prefix: "kvmmu-fuzz-" });
  try {
    const file = join(dir, "fuzz.kvm");
    await Deno.writeTextFile(file, capTimeouts(text));
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `--v8-flags=--max-old-space-size=${HEAP_MB}`,
        join(ROOT, "vmm.ts"),
        file,
        "--json",
        "--backend",
        "emu",
      ],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(timeoutMs),
    }).spawn();
    const out = await child.output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    if (out.signal === "SIGTERM" || out.signal === "SIGKILL") {
      return { class: "timeout", detail: `killed after ${timeoutMs} ms` };
    }
    if (
      /out of memory|heap limit/i.test(stderr) || out.signal === "SIGABRT" ||
      out.signal === "SIGTRAP"
    ) {
      return {
        class: "memory",
        detail: stderr.split("\n").find((l) => l.trim()) ?? `signal ${out.signal}`,
      };
    }
    if (/internal error/i.test(stderr)) {
      return { class: "internal", exit: out.code, detail: stderr.split("\n")[0] };
    }
    if (hasEngineWording(stderr) || hasEngineWording(stdout.replace(/"event":"print".*\n/g, ""))) {
      return { class: "js-error", exit: out.code, detail: (stderr || stdout).split("\n")[0] };
    }
    const events: OutputEvent[] = [];
    for (const line of stdout.split("\n")) {
      if (!line.trim()) continue;
      try {
        events.push(JSON.parse(line));
      } catch {
        return { class: "internal", exit: out.code, detail: `not JSON: ${line.slice(0, 80)}` };
      }
    }
    const outcome = eventsOutcome(events);
    if (outcome.exit !== undefined && outcome.exit !== out.code) {
      return {
        class: "internal",
        exit: out.code,
        detail: `summary says ${outcome.exit}, exit code ${out.code}`,
      };
    }
    return outcome;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
