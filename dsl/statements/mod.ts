/**
 * The registry of statements and declarations: one line per module, in the
 * order the grammar tries them. The AST's `Step` and `Decl` unions are
 * derived from these lists, and the parser, the AST builder, the checker and
 * the interpreter dispatch through them, so a statement is one module plus
 * one line here.
 *
 * @module
 */
import { BACKEND } from "./backend.ts";
import { CAP_DECL, CAP_STEP } from "./cap.ts";
import { DEMAND } from "./demand.ts";
import { DEVICE } from "./device.ts";
import { EXPECT } from "./expect.ts";
import { FOR } from "./for.ts";
import { GUEST } from "./guest.ts";
import { HOST_CPUS } from "./host_cpus.ts";
import { IF } from "./if.ts";
import { LET } from "./let.ts";
import { MARK } from "./mark.ts";
import { MEMSLOT_DECL } from "./memslot_decl.ts";
import { MEMSLOT_STEP } from "./memslot_step.ts";
import { MIGRATE } from "./migrate.ts";
import { NONCOHERENT_DMA } from "./noncoherent_dma.ts";
import { MMU } from "./mmu.ts";
import { ON } from "./on.ts";
import { PARAM } from "./param.ts";
import { PLOT } from "./plot.ts";
import { PRINT } from "./print.ts";
import { QUIRK_DECL, QUIRK_STEP } from "./quirk.ts";
import { REPEAT } from "./repeat.ts";
import { RUN } from "./run.ts";
import type { DeclDef, NodeOf, StepDef } from "./statement.ts";
import { STATS } from "./stats.ts";
import { SYSTEM } from "./system.ts";
import { TIME } from "./time.ts";
import { TRACK, UNTRACK } from "./track.ts";
import { VCPUS } from "./vcpus.ts";

export { VM } from "./vm.ts";

/** Every step, in the order the `step` rule tries them. */
export const STEPS = [
  RUN,
  ON,
  DEMAND,
  MEMSLOT_STEP,
  TRACK,
  UNTRACK,
  CAP_STEP,
  QUIRK_STEP,
  EXPECT,
  LET,
  MIGRATE,
  NONCOHERENT_DMA,
  MARK,
  STATS,
  PRINT,
  FOR,
  REPEAT,
  TIME,
  IF,
  PARAM,
  PLOT,
] as const;

/** Every declaration of a vm block, in the order the `decl` rule tries them. */
export const DECLS = [
  BACKEND,
  MMU,
  VCPUS,
  HOST_CPUS,
  SYSTEM,
  CAP_DECL,
  QUIRK_DECL,
  MEMSLOT_DECL,
  DEVICE,
  GUEST,
] as const;

/**
 * A step: anything but a `vm` block. `loc` spans the step's first token.
 * Each step's node type is its module's (`dsl/statements/`).
 *
 * @ignore
 */
export type Step = NodeOf<typeof STEPS[number]>;

/**
 * A declaration inside `vm NAME { … }`; its node type is its module's.
 *
 * @ignore
 */
export type Decl = NodeOf<typeof DECLS[number]>;

/** Each kind's module, from the modules' own `kinds`. */
function byKind<D extends { kinds: object }>(defs: readonly D[]): Map<string, D> {
  const map = new Map<string, D>();
  for (const def of defs) {
    for (const kind of Object.keys(def.kinds)) {
      if (map.has(kind)) throw new Error(`two statement modules produce '${kind}' nodes`);
      map.set(kind, def);
    }
  }
  return map;
}

// A module of nodes N is a module of `never` (it accepts at least those): one map holds them all.
const STEP_BY_KIND = byKind<StepDef<never>>(STEPS);
const DECL_BY_KIND = byKind<DeclDef<never>>(DECLS);

/** The module of a step. */
export function stepDef<S extends Step>(step: S): StepDef<S> {
  return STEP_BY_KIND.get(step.kind) as unknown as StepDef<S>;
}

/** The module of a declaration. */
export function declDef<D extends Decl>(decl: D): DeclDef<D> {
  return DECL_BY_KIND.get(decl.kind) as unknown as DeclDef<D>;
}
