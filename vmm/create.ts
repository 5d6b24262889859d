/**
 * Backend selection: `auto` takes real KVM when `/dev/kvm` opens and the
 * emulator otherwise; asking for `kvm` where it cannot open is an error
 * with the probe's reason, never a silent fallback.
 *
 * @module
 */
import type { BackendFactory } from "./backend.ts";
import { BackendUnavailableError } from "./errors.ts";
import type { BackendKind, Vm, VmConfig } from "./types.ts";
import { emuBackend } from "./emu/mod.ts";
import { kvmBackend } from "./kvm/mod.ts";

/** What a script or caller may ask for. */
export type BackendChoice = "auto" | BackendKind;

/** The factories to choose between. */
export interface BackendFactories {
  /** Real KVM. */
  kvm: BackendFactory;
  /** The emulator (what `auto` falls back to). */
  emu: BackendFactory;
}

/** The project's two backends. */
export const BACKENDS: BackendFactories = { kvm: kvmBackend, emu: emuBackend };

/**
 * Picks the factory for a choice.
 *
 * @param choice `auto`, `kvm` or `emu`
 * @param factories the candidates (default: the real ones)
 * @returns the factory to create VMs with
 * @throws {BackendUnavailableError} when `kvm` is asked for and cannot be used
 */
export function selectBackend(
  choice: BackendChoice,
  factories: BackendFactories = BACKENDS,
): BackendFactory {
  if (choice === "emu") return factories.emu;
  const probe = factories.kvm.available();
  if (probe.ok) return factories.kvm;
  if (choice === "kvm") {
    throw new BackendUnavailableError(`backend kvm is not available: ${probe.reason}`);
  }
  return factories.emu;
}

/**
 * Creates a VM on the chosen backend.
 *
 * @param config the VM's name, vCPUs, MMU and system region
 * @param backend `auto` (default), `kvm` or `emu`
 * @returns the VM (close it, or declare it with `using`)
 * @throws {BackendUnavailableError} when `kvm` is asked for and cannot be used
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { openVm } from "./create.ts";
 * using vm = openVm({ name: "demo" }, "emu");
 * assertEquals(vm.backend, "emu");
 * ```
 */
export function openVm(config: VmConfig, backend: BackendChoice = "auto"): Vm {
  return selectBackend(backend).createVm(config);
}
