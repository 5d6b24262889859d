/**
 * `run [vcpu N] [until done|exit|sync "L"] [timeout D]`: runs the current
 * VM's vCPUs, dispatching exits to the `on …` handlers in effect; `$exit`
 * holds the exit that ended the run. A guest `fail` is reported and counted;
 * a crash stops the script unless the run asked `until exit`.
 *
 * @module
 */
import type { Expr, Loc } from "../ast.ts";
import { maybeTok, tok, tokLoc } from "../cst.ts";
import type { Handlers, Interpreter } from "../interpreter.ts";
import { checkSyncLabel } from "../check_guest.ts";
import { diagnosticAt, formatDiagnostic } from "../diagnostics.ts";
import { unaskedEnding } from "../run_warnings.ts";
import { exitRecord } from "../runtime.ts";
import { formatHex } from "../values.ts";
import * as T from "../tokens.ts";
import { parseDurationImage, parseStringImage } from "../tokens.ts";
import { GuestError } from "../../vmm/errors.ts";
import type { RunUntil, VcpuExit } from "../../vmm/types.ts";
import type { StepDef } from "./statement.ts";

/** `run` options. */
export interface RunStep {
  /** The one vCPU to run (default: all). */
  vcpu?: Expr;
  /** When the run ends (`until sync`: a barrier; `until first sync`: the first arrival). */
  until: { kind: "done" } | { kind: "exit" } | { kind: "sync"; label: string; first?: boolean };
  /** Where the sync label is written (static label checks). */
  labelLoc?: Loc;
  /** The run's bound, in milliseconds (none: the watchdog's). */
  timeoutMs?: number;
}

/** A `run` step. */
export interface RunStmt {
  kind: "run";
  loc: Loc;
  run: RunStep;
}

/** The `run` step. */
export const RUN: StepDef<RunStmt> = {
  kinds: { run: true },
  reserved: ["run"],
  words: ["vcpu", "until", "first", "sync", "timeout"],
  needsVm: true,
  grammar: ({ g, K, expression }) =>
    /** `run [vcpu N] [until done|exit|[first] sync "L"] [timeout D]`, options in any order. */
    g.RULE("runStep", () => {
      g.CONSUME(K.run);
      g.MANY(() =>
        g.OR([
          {
            ALT: () => {
              g.CONSUME(K.vcpu);
              g.SUBRULE(expression, { LABEL: "vcpu" });
            },
          },
          {
            ALT: () => {
              g.CONSUME(K.until);
              g.OPTION2(() => g.CONSUME(K.first));
              g.CONSUME(T.AnyWord, { LABEL: "until" });
              g.OPTION(() => g.CONSUME(T.StringLit, { LABEL: "label" }));
            },
          },
          {
            ALT: () => {
              g.CONSUME(K.timeout);
              g.CONSUME(T.Duration, { LABEL: "timeout" });
            },
          },
        ])
      );
    }),
  build: {
    runStep(ctx, b): RunStmt {
      const run: RunStep = { until: { kind: "done" } };
      const vcpu = b.optExpr(ctx, "vcpu");
      if (vcpu) run.vcpu = vcpu;
      const until = maybeTok(ctx, "until");
      const label = maybeTok(ctx, "label");
      const first = maybeTok(ctx, "Kw_first");
      if (until) {
        if (first && until.image !== "sync") {
          b.error(tokLoc(first), `'first' goes with sync only: until first sync "LABEL"`);
        }
        if (until.image === "sync") {
          if (label) {
            run.until = { kind: "sync", label: parseStringImage(label.image) };
            if (first) run.until.first = true;
            run.labelLoc = tokLoc(label);
          } else b.error(tokLoc(until), "'until sync' needs a label: until sync \"LABEL\"");
        } else if (until.image === "done" || until.image === "exit") {
          run.until = { kind: until.image };
          if (label) b.error(tokLoc(label), `'until ${until.image}' takes no label`);
        } else {
          b.error(
            tokLoc(until),
            `unknown run condition '${until.image}' (expected done, sync "LABEL" or exit)`,
          );
        }
      }
      const timeout = maybeTok(ctx, "timeout");
      if (timeout) run.timeoutMs = parseDurationImage(timeout.image);
      for (const key of ["vcpu", "until", "timeout"]) {
        const again = (ctx[key] ?? [])[1];
        if (again) {
          const loc = "image" in again ? tokLoc(again) : tokLoc(tok(ctx, `Kw_${key}`, 1));
          b.error(loc, `'${key}' given twice in one run`);
        }
      }
      return { kind: "run", loc: tokLoc(tok(ctx, "Kw_run")), run };
    },
  },
  check(step, c, ctx, vm) {
    if (ctx.handler) c.error(step.loc, "'run' cannot be used inside a handler");
    if (step.run.vcpu) {
      const n = c.expectInt(step.run.vcpu, "vcpu");
      const count = vm?.vcpus ?? 1n;
      // Without a vm, the 'needs a vm' check has said what is wrong.
      if (vm && n !== undefined && (n < 0n || n >= count)) {
        c.error(
          step.run.vcpu.loc,
          `vcpu ${n} does not exist (vm '${vm?.name}' has ${count})`,
        );
      }
    }
    if (vm && !vm.hasGuest) {
      c.error(step.loc, `'run' needs a guest: vm '${vm.name}' declares none`);
    }
    const until = step.run.until;
    if (until.kind === "sync" && step.run.labelLoc) {
      checkSyncLabel(vm?.payload, until.label, step.run.labelLoc, (l, m) => c.error(l, m));
    }
    c.vars.set("exit", "exit");
  },
  async exec(step, r) {
    const current = r.vm(step);
    const { handlers, vm } = current;
    const until: RunUntil = step.run.until;
    const exit = await vm.run({
      vcpu: step.run.vcpu ? Number(r.int(step.run.vcpu, "vcpu")) : undefined,
      until,
      timeoutMs: step.run.timeoutMs,
      watchdogMs: r.options.watchdogMs,
      handledSyncLabels: new Set(handlers.sync.keys()),
      handleMemoryFault: handlers.memoryFault !== undefined,
      onExit: (exit) => handle(r, handlers, exit),
    });
    r.vars.set("exit", exitRecord(exit));
    const unasked = unaskedEnding(exit, until, vm.memslots());
    if (unasked) warn(r, step, exit, unasked);
    if (exit.reason === "fail") guestFailed(r, step, exit);
    // A crash is a backend failure (exit code 3) unless the script asked to see
    // whatever exit comes: `run … until exit` leaves it in $exit to inspect.
    if (until.kind !== "exit") throwIfCrashed(exit);
  },
};

/** A run that ended for a reason the script did not ask for: a located warning; the script goes on. */
function warn(r: Interpreter, step: RunStmt, exit: VcpuExit, message: string): void {
  r.options.output.emit({
    event: "warning",
    location: r.location(step.loc),
    message,
    exit: exit.reason,
    vcpu: exit.vcpu,
    diagnostic: formatDiagnostic(
      diagnosticAt(r.script.file, step.loc, message),
      r.script.source,
      "warning",
    ),
  });
}

/** A guest's `fail` ucall never goes unnoticed: an error at the `run`, counted as a failure. */
function guestFailed(r: Interpreter, step: RunStmt, exit: VcpuExit & { reason: "fail" }): void {
  r.failed++;
  const message = `guest vCPU ${exit.vcpu} failed: ${exit.message} (value ${
    formatHex(exit.value)
  })`;
  r.options.output.emit({
    event: "error",
    location: r.location(step.loc),
    message,
    diagnostic: r.diagnostic(step.loc, message),
  });
}

/** Runs the handler for `exit`, if any; handlers run one at a time (they share `$fault`). */
function handle(r: Interpreter, handlers: Handlers, exit: VcpuExit): Promise<void> {
  const body = exit.reason === "memory_fault"
    ? handlers.memoryFault
    : exit.reason === "sync"
    ? handlers.sync.get(exit.label)
    : undefined;
  if (!body) return Promise.resolve();
  const next = r.handlerChain.then(async () => {
    r.vars.set(exit.reason === "memory_fault" ? "fault" : "exit", exitRecord(exit));
    await r.exec(body);
  });
  // Keep the chain alive after a failure; the failure itself reaches `run` through `next`.
  r.handlerChain = next.catch(() => {});
  return next;
}

/** Throws a {@linkcode GuestError} for the exits that mean the guest crashed. */
function throwIfCrashed(exit: VcpuExit): void {
  const hint = "(`run … until exit` lets a script inspect such an exit)";
  switch (exit.reason) {
    case "shutdown":
      throw new GuestError(
        exit.vcpu,
        exit.rip,
        `guest crashed: triple fault (shutdown exit) ${hint}`,
      );
    case "internal_error":
      throw new GuestError(
        exit.vcpu,
        exit.rip,
        `guest crashed: KVM internal error, suberror ${exit.suberror} ${hint}`,
      );
    case "fail_entry":
      throw new GuestError(
        exit.vcpu,
        0n,
        `guest crashed: VM entry failed, hardware reason 0x${
          exit.hardwareReason.toString(16)
        } on CPU ${exit.cpu} ${hint}`,
      );
  }
}
