/**
 * How backends plug in: each exports one {@linkcode BackendFactory}
 * (`kvmBackend` from `vmm/kvm/mod.ts`, `emuBackend` from `vmm/emu/mod.ts`),
 * and `vmm/create.ts` picks one for `auto`, `kvm` or `emu`.
 *
 * @module
 */
import type { BackendKind, Vm, VmConfig } from "./types.ts";

/** Whether a backend can run here, and if not, why. */
export type Availability = { ok: true } | { ok: false; reason: string };

/** A backend: probe it, then create VMs on it. */
export interface BackendFactory {
  /** Which backend this is. */
  readonly kind: BackendKind;
  /** Cheap probe (kvm: does `/dev/kvm` open and report API version 12). */
  available(): Availability;
  /** Create a VM (system region memslot included, no user slots yet, no guest loaded). */
  createVm(config: VmConfig): Vm;
}
