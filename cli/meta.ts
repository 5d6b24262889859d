/**
 * The `meta` event: where a run's figures come from (tool, host, backend),
 * written first in `--json` output so that results stay interpretable.
 *
 * @module
 */
import config from "../deno.json" with { type: "json" };
import type { MetaEvent, Value } from "../dsl/mod.ts";
import { type BackendChoice, selectBackend } from "../vmm/create.ts";
import { hostMmu, kvmModule } from "../vmm/kvm/host.ts";

/** The tool's version (deno.json `version`). */
export const VERSION: string = config.version;

function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/** The CPU model from /proc/cpuinfo, or `unknown`. */
function cpuModel(): string {
  const m = /^model name\s*:\s*(.*)$/m.exec(readText("/proc/cpuinfo"));
  return m ? m[1].trim() : "unknown";
}

/** The backend `choice` resolves to, or why it cannot be used. */
function resolvedBackend(choice: BackendChoice): string {
  try {
    return selectBackend(choice).kind;
  } catch {
    return `${choice} (unavailable)`;
  }
}

/**
 * Collects the meta event of a run.
 *
 * @param script the script's path as given
 * @param backend the `--backend` choice (default `auto`)
 * @param parameters the script's parameters and their values
 * @returns the event
 */
export function metaEvent(
  script: string,
  backend: BackendChoice = "auto",
  parameters: Record<string, Value> = {},
): MetaEvent {
  const resolved = resolvedBackend(backend);
  const mmu = resolved === "emu"
    ? "emu (per vm block, default tdp)"
    : `${hostMmu().mode} (${hostMmu().source})`;
  return {
    event: "meta",
    version: VERSION,
    script,
    parameters,
    backend: resolved,
    // /proc rather than Deno.osRelease(): the run needs --allow-read anyway, not --allow-sys.
    kernel: readText("/proc/sys/kernel/osrelease").trim() || "unknown",
    kvmModule: kvmModule(),
    mmu,
    cpu: cpuModel(),
    deno: Deno.version.deno,
  };
}
