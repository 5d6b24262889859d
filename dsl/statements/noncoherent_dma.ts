/**
 * `register_noncoherent_dma DEVICE` / `unregister_noncoherent_dma DEVICE`:
 * a virtio_gpu device declares its DMA non-coherent VM-wide at run time, as
 * the RFC's KVM virtio device does on hot-plug and hot-unplug
 * (`kvm_arch_[un]register_noncoherent_dma`, ref-counted by device; the
 * first and the last zap every SPTE). `device … noncoherent via kvm_device`
 * registers at boot. Emulator only: mainline KVM has no uAPI for it.
 *
 * @module
 */
import type { Loc, Name } from "../ast.ts";
import { name, tok, tokLoc } from "../cst.ts";
import * as T from "../tokens.ts";
import type { StepDef } from "./statement.ts";

/** A `register_noncoherent_dma` or `unregister_noncoherent_dma` step. */
export interface NoncoherentDmaStmt {
  kind: "noncoherent_dma";
  loc: Loc;
  register: boolean;
  device: Name;
}

/** The `[un]register_noncoherent_dma` step. */
export const NONCOHERENT_DMA: StepDef<NoncoherentDmaStmt> = {
  kinds: { noncoherent_dma: true },
  reserved: ["register_noncoherent_dma", "unregister_noncoherent_dma"],
  words: [],
  needsVm: true,
  grammar: ({ g, K }) =>
    g.RULE("noncoherentDmaStep", () => {
      g.OR([
        { ALT: () => g.CONSUME(K.register_noncoherent_dma) },
        { ALT: () => g.CONSUME(K.unregister_noncoherent_dma) },
      ]);
      g.CONSUME(T.AnyWord, { LABEL: "device" });
    }),
  build: {
    noncoherentDmaStep(ctx): NoncoherentDmaStmt {
      const register = ctx.Kw_register_noncoherent_dma !== undefined;
      const keyword = register ? "Kw_register_noncoherent_dma" : "Kw_unregister_noncoherent_dma";
      return {
        kind: "noncoherent_dma",
        loc: tokLoc(tok(ctx, keyword)),
        register,
        device: name(tok(ctx, "device")),
      };
    },
  },
  check(step, c, _ctx, vm) {
    if (vm && !c.lenient && !vm.devices.has(step.device.text)) {
      const known = [...vm.devices];
      c.error(
        step.device.loc,
        `unknown device '${step.device.text}' (vm '${vm.name}' has ${
          known.length ? known.join(", ") : "none"
        })`,
      );
    }
  },
  exec(step, r) {
    const vm = r.vm(step).vm;
    if (step.register) vm.registerNoncoherentDma(step.device.text);
    else vm.unregisterNoncoherentDma(step.device.text);
  },
};
