/**
 * `on memory_fault { … }` / `on sync "L" { … }`: a handler, in effect for the
 * later runs of the current VM (a later one for the same event replaces it).
 * Inside `on memory_fault` the exit is `$fault`; inside `on sync` it is `$exit`.
 *
 * @module
 */
import type { Loc, Stmt } from "../ast.ts";
import { maybeTok, nodes, tok, tokLoc } from "../cst.ts";
import * as T from "../tokens.ts";
import { parseStringImage } from "../tokens.ts";
import { checkSyncLabel } from "../check_guest.ts";
import type { StepDef } from "./statement.ts";

/** An `on memory_fault` or `on sync "L"` handler. */
export type OnStmt =
  & { loc: Loc }
  & (
    | { kind: "on_memory_fault"; body: Stmt[] }
    | { kind: "on_sync"; label: string; labelLoc?: Loc; body: Stmt[] }
  );

/** The handler steps. */
export const ON: StepDef<OnStmt> = {
  kinds: { on_memory_fault: true, on_sync: true },
  reserved: [],
  words: ["on", "sync"],
  needsVm: true,
  grammar: ({ g, K, block }) =>
    /** `on memory_fault { … }` / `on sync "L" { … }`. */
    g.RULE("onStep", () => {
      g.CONSUME(K.on);
      g.CONSUME(T.AnyWord, { LABEL: "event" });
      g.OPTION(() => g.CONSUME(T.StringLit, { LABEL: "label" }));
      g.SUBRULE(block);
    }),
  build: {
    onStep(ctx, b): OnStmt {
      const loc = tokLoc(tok(ctx, "Kw_on"));
      const event = tok(ctx, "event");
      const label = maybeTok(ctx, "label");
      const body = b.body(nodes(ctx, "block")[0]);
      if (event.image === "sync") {
        if (label) {
          const text = parseStringImage(label.image);
          return { kind: "on_sync", loc, label: text, labelLoc: tokLoc(label), body };
        }
        b.error(tokLoc(event), "'on sync' needs a label: on sync \"LABEL\" { … }");
      } else if (event.image === "memory_fault") {
        if (label) b.error(tokLoc(label), "'on memory_fault' takes no label");
        return { kind: "on_memory_fault", loc, body };
      } else {
        b.error(
          tokLoc(event),
          `unknown event '${event.image}' (expected memory_fault or sync "LABEL")`,
        );
      }
      return { kind: "on_memory_fault", loc, body };
    },
  },
  check(step, c, ctx, vm) {
    if (ctx.handler) c.error(step.loc, "a handler cannot be declared inside a handler");
    if (step.kind === "on_sync" && step.labelLoc) {
      checkSyncLabel(vm?.payload, step.label, step.labelLoc, (l, m) => c.error(l, m));
    }
    const variable = step.kind === "on_memory_fault" ? "fault" : "exit";
    const before = c.vars.get(variable);
    c.vars.set(variable, "exit");
    c.statements(step.body, {
      ...ctx,
      handler: step.kind === "on_sync" ? "sync" : "memory_fault",
    });
    if (step.kind === "on_memory_fault") {
      if (before === undefined) c.vars.delete(variable);
      else c.vars.set(variable, before);
    }
  },
  exec(step, r) {
    if (step.kind === "on_memory_fault") r.vm(step).handlers.memoryFault = step.body;
    else r.vm(step).handlers.sync.set(step.label, step.body);
  },
};
