/**
 * The edges of a script run that the caller controls: stopping it from
 * outside (an abort signal) and watching its progress.
 *
 * @module
 */
import type { VmOpener } from "./build_vm.ts";
import type { BackendKind, Vm } from "../vmm/types.ts";

/** The figures of a running VM, for a progress indicator. */
export interface RunProgress {
  /** The VM's name. */
  vm: string;
  /** Its backend. */
  backend: BackendKind;
  /** Its vCPUs. */
  vcpus: number;
  /** Its exits so far (stat `exits`). */
  exits: bigint;
  /** Its ucalls so far (stat `ucalls`). */
  ucalls: bigint;
  /** Milliseconds since the script started. */
  elapsedMs: number;
}

/** Why `signal` was aborted, in words. */
export function abortReason(signal: AbortSignal): string {
  const r = signal.reason;
  return typeof r === "string" ? r : r instanceof Error ? r.message : "an abort signal";
}

/** Throws when `signal` was aborted, naming why. */
export function throwIfInterrupted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new Error(`interrupted by ${abortReason(signal)}`);
}

/**
 * The VM opener of an interruptible run: it opens nothing once `signal` is
 * aborted (opening is synchronous, so no abort lands in between). Every VM
 * it opens goes to `opened` (the progress indicator reads the last one).
 */
export function interruptibleOpener(
  open: VmOpener,
  signal: AbortSignal | undefined,
  opened: (vm: Vm) => void,
): VmOpener {
  return (config, backend) => {
    throwIfInterrupted(signal);
    const vm = open(config, backend);
    opened(vm);
    return vm;
  };
}

/** Reads the progress figures of `vm`, or undefined once it is closed. */
export function progressOf(vm: Vm, start: number): RunProgress | undefined {
  try {
    return {
      vm: vm.name,
      backend: vm.backend,
      vcpus: vm.vcpuCount,
      exits: vm.stat("exits"),
      ucalls: vm.stat("ucalls"),
      elapsedMs: performance.now() - start,
    };
  } catch {
    return undefined; // closed: nothing runs
  }
}
