/**
 * The one probe of `/dev/kvm` for every test file that also runs on kvm: the
 * kvm variants skip only where KVM cannot be opened (or a further host
 * feature they need is missing), and then say why.
 *
 * @module
 */
import { kvmBackend } from "../../vmm/kvm/mod.ts";
import type { Availability } from "../../vmm/mod.ts";

/** Whether /dev/kvm opens here, and why not (probed once per test process). */
export const KVM: Availability = kvmBackend.available();

/**
 * Whether the kvm tests of `area` must be skipped; prints the reason when so.
 *
 * @param area what the skipped tests cover, for the message
 * @param extra a further probe (e.g. userfaultfd) run only when KVM opens
 * @returns true when `/dev/kvm` (or `extra`) is unavailable
 */
export function skipKvm(area: string, extra?: () => Availability): boolean {
  const probe = KVM.ok && extra ? extra() : KVM;
  if (probe.ok) return false;
  // deno-lint-ignore no-console -- a skipped kvm test must say why
  console.log(`${area}: kvm variants skipped: ${probe.reason}`);
  return true;
}
