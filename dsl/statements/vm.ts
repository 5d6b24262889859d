/**
 * `vm NAME { declarations }`: declares a VM and makes it the current one
 * (closing the previous). Each declaration is a module of its own (see
 * `mod.ts`); this module checks the block as a whole (names declared twice,
 * the layout, the guest against the layout) and builds the VM.
 *
 * @module
 */
import type { Decl, Loc, Name } from "../ast.ts";
import { buildVm } from "../build_vm.ts";
import type { VmChecks, VmInfo } from "../check.ts";
import { name, nodes, tok, tokLoc } from "../cst.ts";
import { checkLayout, checkRegion, declaredLayout } from "../layout.ts";
import * as T from "../tokens.ts";
import type { StepDef } from "./statement.ts";

/** A `vm NAME { … }` statement. */
export interface VmStmt {
  /** Always `vm`. */
  kind: "vm";
  /** The `vm` keyword. */
  loc: Loc;
  /** The VM's name. */
  name: Name;
  /** Its declarations, in the order written. */
  decls: Decl[];
}

/** The `vm` statement. */
export const VM: StepDef<VmStmt> = {
  kinds: { vm: true },
  reserved: ["vm"],
  words: [],
  needsVm: false,
  grammar: ({ g, K, decl }) =>
    g.RULE("vmStmt", () => {
      g.CONSUME(K.vm);
      g.CONSUME(T.AnyWord, { LABEL: "name" });
      g.CONSUME(T.LBrace);
      g.MANY(() => {
        g.SUBRULE(decl);
        g.OPTION(() => g.CONSUME(T.Semicolon));
      });
      g.CONSUME(T.RBrace);
    }),
  build: {
    vmStmt(ctx, b): VmStmt {
      return {
        kind: "vm",
        loc: tokLoc(tok(ctx, "Kw_vm")),
        name: name(tok(ctx, "name")),
        decls: nodes(ctx, "decl").map((n) => b.visit(n) as Decl),
      };
    },
  },
  check(stmt, c, ctx) {
    // Inside an `if` it is allowed: the checker merges what each branch leaves (`if.ts`).
    if (ctx.handler || ctx.inExpectError) {
      c.error(
        stmt.loc,
        `a vm block cannot appear inside ${ctx.handler ? "a handler" : "an 'expect error' block"}`,
      );
    }
    const vm: VmInfo = {
      name: stmt.name.text,
      slots: new Set(),
      devices: new Set(),
      trackers: new Set(),
      deleted: new Set(),
      hasGuest: false,
    };
    const seen = new Map<string, Loc>();
    const later: VmChecks = new Map();
    for (const decl of stmt.decls) {
      if (c.declUnique(decl)) {
        if (seen.has(decl.kind)) {
          c.error(decl.loc, `'${decl.kind}' declared twice in vm '${vm.name}'`);
        }
        seen.set(decl.kind, decl.loc);
      }
      c.decl(decl, vm, later);
    }
    // Addresses and sizes are typed here, once; the layout rules need their values.
    const layout = declaredLayout(stmt, (e, what) => c.expectInt(e, what));
    const problems = layout.complete
      ? checkLayout(layout.system, layout.regions)
      : layout.regions.flatMap(checkRegion);
    for (const p of problems) c.error(p.loc, p.message);
    for (const check of later.values()) check(layout, stmt);
    c.vm = vm;
  },
  async exec(stmt, r) {
    r.closeCurrent();
    const vm = await buildVm(stmt, {
      file: r.script.file,
      allowPaths: r.options.allowPaths,
      vars: r.vars,
      backend: r.options.backend,
      openVm: r.options.openVm,
      onOpen: (vm) => {
        if (!r.backends.includes(vm.backend)) r.backends.push(vm.backend);
      },
    });
    r.current = { vm, handlers: { sync: new Map() } };
  },
};
