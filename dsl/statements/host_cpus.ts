/**
 * `host_cpus N` in a vm block: how many host CPUs the vCPUs and handler
 * threads share (read by `build_vm.ts` into the VM's configuration). On the
 * emulator they are a resource in modelled time (default: one per thread);
 * on kvm the host's own CPUs are used, so the value is recorded only.
 *
 * @module
 */
import type { Expr, Loc } from "../ast.ts";
import type { DeclDef } from "./statement.ts";
import { keywordSyntax } from "./syntax.ts";

/** Upper bound for `host_cpus` (as many as KVM_MAX_VCPUS plus handler threads could want). */
export const MAX_HOST_CPUS = 8192;

/** A `host_cpus` declaration. */
export interface HostCpusDecl {
  kind: "host_cpus";
  loc: Loc;
  count: Expr;
}

/** The `host_cpus` declaration. */
export const HOST_CPUS: DeclDef<HostCpusDecl> = {
  ...keywordSyntax("hostCpusDecl", "host_cpus", [{ expr: "count" }]),
  unique: true,
  check(decl, c) {
    const n = c.expectInt(decl.count, "host_cpus");
    if (n !== undefined && (n < 1n || n > BigInt(MAX_HOST_CPUS))) {
      c.error(decl.count.loc, `host_cpus must be between 1 and ${MAX_HOST_CPUS}, not ${n}`);
    }
  },
  describe(decl, draft) {
    draft.settings.hostCpus = Number(draft.int(decl.count, "host_cpus"));
  },
};
