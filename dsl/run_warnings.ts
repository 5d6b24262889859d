/**
 * Why a `run` ended when the script did not ask for that ending: a write to
 * a read-only slot, an unclaimed MMIO or port access, or `until sync "L"`
 * ending in `done` without L. The run step prints it as a warning (the
 * script goes on with `$exit` set), so a loop over barriers cannot exit 0
 * with wrong counts silently.
 *
 * @module
 */
import type { MemslotInfo, RunUntil, VcpuExit } from "../vmm/types.ts";
import { formatHex } from "./values.ts";

/**
 * The warning for a run that ended with `exit`, or undefined when the
 * script asked for that ending (`until exit` asks for any).
 *
 * @param exit the exit the run returned
 * @param until the run's condition
 * @param slots the VM's memslots (to name a read-only slot written)
 * @returns the message, naming the exit and the vCPU
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { unaskedEnding } from "./run_warnings.ts";
 * assertEquals(
 *   unaskedEnding({ reason: "done", vcpu: 1 }, { kind: "sync", label: "iter" }, []),
 *   'run until sync "iter" ended with exit done (vCPU 1): no vCPU reached sync "iter"',
 * );
 * ```
 */
export function unaskedEnding(
  exit: VcpuExit,
  until: RunUntil,
  slots: readonly MemslotInfo[],
): string | undefined {
  if (until.kind === "exit") return undefined;
  const ended = `run until ${
    until.kind === "sync" ? syncCondition(until) : "done"
  } ended with exit ${exit.reason} (vCPU ${exit.vcpu})`;
  switch (exit.reason) {
    case "done":
      return until.kind === "sync"
        ? `${ended}: no vCPU reached sync ${JSON.stringify(until.label)}`
        : undefined;
    case "io":
      return `${ended}: an unclaimed port ${exit.isWrite ? "write to" : "read from"} port ${
        formatHex(BigInt(exit.port))
      } (size ${exit.size})`;
    case "mmio": {
      const slot = exit.isWrite
        ? slots.find((s) =>
          s.flags.includes("readonly") && exit.gpa >= s.gpa && exit.gpa < s.gpa + s.size
        )
        : undefined;
      if (slot) {
        return `${ended}: a write to read-only slot '${slot.name}' at gpa ${formatHex(exit.gpa)}`;
      }
      return `${ended}: an unclaimed MMIO ${exit.isWrite ? "write" : "read"} at gpa ${
        formatHex(exit.gpa)
      } (len ${exit.len})`;
    }
    default:
      return undefined;
  }
}

function syncCondition(until: RunUntil & { kind: "sync" }): string {
  return `${until.first ? "first " : ""}sync ${JSON.stringify(until.label)}`;
}
