/**
 * `guest PAYLOAD { key value … }` / `guest file "x.bin" { load A … }` in a vm
 * block: what the vCPUs run. Checked after the VM's layout is known
 * (`check_guest.ts`); loaded last by `build_vm.ts`.
 *
 * @module
 */
import type { Expr, Loc, Name } from "../ast.ts";
import { guestSpec } from "../build_vm.ts";
import { checkGuest } from "../check_guest.ts";
import { payloadSyncLabels } from "../payloads.ts";
import { maybeTok, name, nodes, tok, tokLoc, toks } from "../cst.ts";
import * as T from "../tokens.ts";
import { parseStringImage } from "../tokens.ts";
import type { DeclDef } from "./statement.ts";

/** A `key value` parameter of a guest block. */
export interface Param {
  /** The parameter's name. */
  key: Name;
  /** Its value. */
  value: Expr;
}

/** A `guest` declaration. */
export interface GuestDecl {
  kind: "guest";
  loc: Loc;
  payload: Name;
  file?: { path: string; loc: Loc };
  params: Param[];
}

/** The `guest` declaration. */
export const GUEST: DeclDef<GuestDecl> = {
  kinds: { guest: true },
  reserved: ["guest"],
  words: [],
  unique: true,
  grammar: ({ g, K, expression }) =>
    g.RULE("guestDecl", () => {
      g.CONSUME(K.guest);
      g.CONSUME(T.AnyWord, { LABEL: "payload" });
      g.OPTION(() => g.CONSUME(T.StringLit, { LABEL: "file" }));
      g.CONSUME(T.LBrace);
      g.MANY(() => {
        g.CONSUME(T.KeyWord, { LABEL: "key" });
        g.SUBRULE(expression, { LABEL: "value" });
        g.OPTION2(() => g.CONSUME(T.Comma));
      });
      g.CONSUME(T.RBrace);
    }),
  build: {
    guestDecl(ctx, b): GuestDecl {
      const payload = name(tok(ctx, "payload"));
      const fileTok = maybeTok(ctx, "file");
      if (fileTok && payload.text !== "file") {
        b.error(tokLoc(fileTok), `expected '{' after the payload name '${payload.text}'`);
      }
      const values = nodes(ctx, "value");
      const params: Param[] = toks(ctx, "key").map((key, i) => ({
        key: name(key),
        value: b.expr(values[i]),
      }));
      return {
        kind: "guest",
        loc: tokLoc(tok(ctx, "Kw_guest")),
        payload,
        file: fileTok ? { path: parseStringImage(fileTok.image), loc: tokLoc(fileTok) } : undefined,
        params,
      };
    },
  },
  check(decl, c, vm, later) {
    vm.hasGuest = true;
    const syncLabels = payloadSyncLabels(decl.payload.text);
    vm.payload = syncLabels ? { name: decl.payload.text, syncLabels } : undefined;
    // Payload parameters are checked against the VM's vCPUs and layout, known after every declaration.
    later.set("guest", (layout, stmt) =>
      checkGuest(decl, {
        report: (loc, message) => c.error(loc, message),
        types: c.types,
        vcpus: vm.vcpus === undefined
          ? (stmt.decls.some((d) => d.kind === "vcpus") ? undefined : 1)
          : Number(vm.vcpus),
        regions: layout.complete ? layout.regions : undefined,
      }));
  },
  describe(decl, draft) {
    draft.guest(decl.loc, () => guestSpec(decl, draft), decl.payload.loc);
  },
};
