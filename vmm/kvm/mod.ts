/**
 * The KVM backend: a {@linkcode BackendFactory} over `/dev/kvm`, and the
 * thin fd classes (`KvmSystem`, `VmFd`, `VcpuFd`) for library users.
 *
 * @example Probe and create a VM
 * ```ts ignore
 * import { kvmBackend } from "./mod.ts";
 * const a = kvmBackend.available();
 * if (a.ok) {
 *   using vm = kvmBackend.createVm({ name: "demo" });
 *   vm.addMemslot({ name: "ram", gpa: 0x100000n, size: 0x1000000n });
 * }
 * ```
 *
 * @module
 */
import type { Availability, BackendFactory } from "../backend.ts";
import type { Vm, VmConfig } from "../types.ts";
import { BackendUnavailableError } from "../errors.ts";
import { KvmSystem } from "./system.ts";
import { KvmVm } from "./vm.ts";

export { KvmVm } from "./vm.ts";
export { KvmSystem } from "./system.ts";
export type { CpuidEntry } from "./system.ts";
export { VmFd } from "./vm_fd.ts";
export type { UserMemoryRegion } from "./vm_fd.ts";
export { VcpuFd } from "./vcpu_fd.ts";
export { StatsReader } from "./stats.ts";
export type { IoctlLogEntry } from "./ioctl.ts";
export { hostMmu } from "./host.ts";
export * as uapi from "./uapi.ts";

/**
 * Probe `/dev/kvm`: it must open and report API version 12.
 *
 * @returns ok, or the reason it cannot be used
 */
export function probeKvm(): Availability {
  try {
    KvmSystem.open().close();
    return { ok: true };
  } catch (e) {
    if (e instanceof BackendUnavailableError) return { ok: false, reason: e.message };
    return { ok: false, reason: String(e) };
  }
}

/** The KVM backend. */
export const kvmBackend: BackendFactory = {
  kind: "kvm",
  available: probeKvm,
  createVm(config: VmConfig): Vm {
    return new KvmVm(config);
  },
};
