/**
 * `device virtio_gpu NAME { mmio A  shm gpa A size S  [noncoherent [via V]] }`
 * in a vm block. Its shm region is a memslot named `NAME.shm` (`build_vm.ts`
 * adds it after the memslots; `layout.ts` checks it with them).
 *
 * @module
 */
import type { Expr, Loc, Name } from "../ast.ts";
import { maybeTok, name, tok, tokLoc } from "../cst.ts";
import type { DeviceMemory } from "../../vmm/builder.ts";
import * as T from "../tokens.ts";
import type { DeclDef } from "./statement.ts";

/** A `device` declaration. */
export interface DeviceDecl {
  kind: "device";
  loc: Loc;
  deviceKind: Name;
  name: Name;
  mmio?: Expr;
  shmGpa?: Expr;
  shmSize?: Expr;
  noncoherent?: Loc;
  via?: Name;
}

/** The `device` declaration. */
export const DEVICE: DeclDef<DeviceDecl> = {
  kinds: { device: true },
  reserved: ["device"],
  words: ["mmio", "shm", "gpa", "size", "noncoherent", "via"],
  unique: false,
  grammar: ({ g, K, expression }) =>
    g.RULE("deviceDecl", () => {
      g.CONSUME(K.device);
      g.CONSUME(T.AnyWord, { LABEL: "kind" });
      g.CONSUME2(T.AnyWord, { LABEL: "name" });
      g.CONSUME(T.LBrace);
      g.MANY(() =>
        g.OR([
          {
            ALT: () => {
              g.CONSUME(K.mmio);
              g.SUBRULE(expression, { LABEL: "mmio" });
            },
          },
          {
            ALT: () => {
              g.CONSUME(K.shm);
              g.CONSUME(K.gpa);
              g.SUBRULE2(expression, { LABEL: "shmGpa" });
              g.CONSUME(K.size);
              g.SUBRULE3(expression, { LABEL: "shmSize" });
            },
          },
          {
            ALT: () => {
              g.CONSUME(K.noncoherent);
              g.OPTION(() => {
                g.CONSUME(K.via);
                g.CONSUME3(T.AnyWord, { LABEL: "via" });
              });
            },
          },
        ])
      );
      g.CONSUME(T.RBrace);
    }),
  build: {
    deviceDecl(ctx, b): DeviceDecl {
      const noncoherent = maybeTok(ctx, "Kw_noncoherent");
      const via = maybeTok(ctx, "via");
      return {
        kind: "device",
        loc: tokLoc(tok(ctx, "Kw_device")),
        deviceKind: name(tok(ctx, "kind")),
        name: name(tok(ctx, "name")),
        mmio: b.optExpr(ctx, "mmio"),
        shmGpa: b.optExpr(ctx, "shmGpa"),
        shmSize: b.optExpr(ctx, "shmSize"),
        noncoherent: noncoherent ? tokLoc(noncoherent) : undefined,
        via: via ? name(via) : undefined,
      };
    },
  },
  check(decl, c, vm) {
    if (decl.deviceKind.text !== "virtio_gpu") {
      c.error(
        decl.deviceKind.loc,
        `unknown device kind '${decl.deviceKind.text}' (known: virtio_gpu)`,
      );
    }
    if (vm.devices.has(decl.name.text) || vm.slots.has(decl.name.text)) {
      c.error(
        decl.name.loc,
        `name '${decl.name.text}' is already used in vm '${vm.name}'`,
      );
    }
    vm.devices.add(decl.name.text);
    // Its shm region is the memslot `DEVICE.shm`, named so wherever a slot name goes.
    vm.slots.add(`${decl.name.text}.shm`);
    if (decl.mmio) c.expectInt(decl.mmio, "mmio");
    else c.error(decl.name.loc, `device '${decl.name.text}' needs 'mmio ADDRESS'`);
    if (decl.via) c.oneOf(decl.via, ["memslot_flag", "kvm_device"], "via");
    if (!decl.shmGpa || !decl.shmSize) {
      c.error(decl.name.loc, `device '${decl.name.text}' needs 'shm gpa A size S'`);
    }
  },
  describe(d, draft) {
    draft.device(d.loc, {
      name: d.name.text,
      gpa: draft.int(d.shmGpa!, "gpa"),
      size: draft.int(d.shmSize!, "size"),
      noncoherent: d.noncoherent !== undefined,
      via: d.via?.text as DeviceMemory["via"],
    });
  },
};
