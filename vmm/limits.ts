/**
 * vCPU limits, once for the DSL checker and both backends.
 *
 * @module
 */
import { ERRNO_NUMBERS, ErrnoError } from "./errors.ts";

/**
 * `KVM_MAX_VCPUS` on x86 (arch/x86/include/asm/kvm_host.h:
 * `CONFIG_KVM_MAX_NR_VCPUS`, default 1024; 4096 with MAXSMP). The emulator's
 * limit, and the DSL checker's. On kvm the host's `KVM_CAP_MAX_VCPUS`
 * decides.
 */
export const KVM_MAX_VCPUS = 1024;

/**
 * Refuse a vCPU count above `max` as `KVM_CREATE_VCPU` does
 * (`kvm->created_vcpus >= kvm->max_vcpus` → EINVAL).
 *
 * @param count the vCPUs asked for
 * @param max the limit in force
 * @param source where `max` comes from, for the message
 */
export function checkVcpuCount(count: number, max: number, source: string): void {
  if (!Number.isInteger(count) || count < 1 || count > max) {
    throw new ErrnoError(
      "KVM_CREATE_VCPU",
      ERRNO_NUMBERS.EINVAL,
      `vcpus ${count}: must be 1..${max} (${source})`,
    );
  }
}
