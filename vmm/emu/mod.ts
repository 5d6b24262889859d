/**
 * The built-in emulator backend: always available, models KVM's MMU
 * (TDP or shadow), memslots and the five proposals.
 *
 * @module
 */
import type { BackendFactory } from "../backend.ts";
import type { Vm, VmConfig } from "../types.ts";
import { createCpu } from "./cpu/mod.ts";
import { EmuVm } from "./vm.ts";

export { EmuVm } from "./vm.ts";
export type { CpuFactory, EmuDeps } from "./vm.ts";

/** The emulator as a {@linkcode BackendFactory}. */
export const emuBackend: BackendFactory = {
  kind: "emu",
  available() {
    return { ok: true };
  },
  createVm(config: VmConfig): Vm {
    return new EmuVm(config, { createCpu });
  },
};
