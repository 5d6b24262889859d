/**
 * `host_cpus N` in a vm block: how many host CPUs the vCPUs and handler
 * threads share (read by `build_vm.ts` into the VM's configuration). On the
 * emulator they are a resource in modelled time (default: one per thread);
 * on kvm the host's own CPUs are used, so the value is recorded only.
 *
 * @module
 */
import type { Expr, Loc } from "../ast.ts";
import { nodes, tok, tokLoc } from "../cst.ts";
import type { DeclDef } from "./statement.ts";

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
  kinds: { host_cpus: true },
  reserved: ["host_cpus"],
  words: [],
  unique: true,
  grammar: ({ g, K, expression }) =>
    g.RULE("hostCpusDecl", () => {
      g.CONSUME(K.host_cpus);
      g.SUBRULE(expression);
    }),
  build: {
    hostCpusDecl(ctx, b): HostCpusDecl {
      return {
        kind: "host_cpus",
        loc: tokLoc(tok(ctx, "Kw_host_cpus")),
        count: b.expr(nodes(ctx, "expression")[0]),
      };
    },
  },
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
