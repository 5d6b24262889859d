/**
 * `vcpus N` in a vm block (1..KVM_MAX_VCPUS; read by `build_vm.ts` into the VM's configuration).
 *
 * @module
 */
import type { Expr, Loc } from "../ast.ts";
import type { DeclDef } from "./statement.ts";
import { keywordSyntax } from "./syntax.ts";
import { KVM_MAX_VCPUS } from "../../vmm/limits.ts";

/** A `vcpus` declaration. */
export interface VcpusDecl {
  kind: "vcpus";
  loc: Loc;
  count: Expr;
}

/** The `vcpus` declaration. */
export const VCPUS: DeclDef<VcpusDecl> = {
  ...keywordSyntax("vcpusDecl", "vcpus", [{ expr: "count" }]),
  unique: true,
  check(decl, c, vm) {
    const n = c.expectInt(decl.count, "vcpus");
    if (n !== undefined && (n < 1n || n > BigInt(KVM_MAX_VCPUS))) {
      c.error(
        decl.count.loc,
        `vcpus must be between 1 and ${KVM_MAX_VCPUS} (KVM_MAX_VCPUS on x86), not ${n}`,
      );
      // Reported: later checks (a payload's share per vCPU) go on as if it were unknown.
      return;
    }
    vm.vcpus = n;
  },
  describe(decl, draft) {
    draft.settings.vcpus = Number(draft.int(decl.count, "vcpus"));
  },
};
