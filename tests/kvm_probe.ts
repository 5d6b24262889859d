/**
 * One probe of `/dev/kvm` for the test files that also run on kvm: the
 * kvm variants skip only where KVM cannot be opened, and then say why.
 *
 * @module
 */
import { kvmBackend } from "../vmm/kvm/mod.ts";

const probe = kvmBackend.available();

/**
 * Whether the kvm tests of `area` must be skipped; prints the reason once per area when so.
 *
 * @param area what the skipped tests cover, for the message
 * @returns true when `/dev/kvm` cannot be opened
 */
export function skipKvm(area: string): boolean {
  if (probe.ok) return false;
  // deno-lint-ignore no-console -- a skipped kvm test must say why
  console.log(`${area}: kvm variants skipped: ${probe.reason}`);
  return true;
}
