/**
 * Runs a checked script against VMs. One variable scope for the whole
 * script; one current VM at a time (a `vm` statement closes the previous
 * one, a `vm` inside a loop body lives for one iteration); every VM is
 * closed on every path, failures included.
 *
 * Handlers (`on memory_fault`, `on sync "L"`) are steps: they take effect
 * for the runs that follow them and stay in effect for later runs of the
 * same VM; a second handler for the same event replaces the first.
 *
 * @module
 */
import type { Expr, LetValue, Loc, Name, Script, Step, Stmt, VmStmt } from "./ast.ts";
import { buildVm, slotSpec, type VmOpener } from "./build_vm.ts";
import { diagnosticAt, formatDiagnostic } from "./diagnostics.ts";
import { evaluate, operandsOf, ScriptRuntimeError, truthy } from "./evaluate.ts";
import type { Output, RunOutcome } from "./output.ts";
import { at, dirtyRecord, exitRecord, rootCause, StepError, u64, U64_LIMIT } from "./runtime.ts";
import { formatHex, formatValue, RecordValue, typeName, type Value, Word } from "./values.ts";
import { isBuiltinVariable } from "./check_expr.ts";
import { SIZE_4K } from "../guest/page_tables.ts";
import { type BackendChoice, selectBackend } from "../vmm/create.ts";
import { ErrnoError, errorKindOf, GuestError } from "../vmm/errors.ts";
import {
  abortReason,
  interruptibleOpener,
  progressOf,
  type RunProgress,
  throwIfInterrupted,
} from "./run_edges.ts";
import type {
  BackendKind,
  CapName,
  MemslotFlag,
  QuirkName,
  RunUntil,
  VcpuExit,
  Vm,
} from "../vmm/types.ts";

/** Options of {@linkcode executeScript}. */
export interface ExecuteOptions {
  /** Where results go. */
  output: Output;
  /** Overrides every vm block's `backend` declaration (the CLI's `--backend`). */
  backend?: BackendChoice;
  /** Opens VMs; default `openVm` of `vmm/create.ts`. */
  openVm: VmOpener;
  /** Include stacks in error events. */
  debug?: boolean;
  /** The watchdog of runs without `timeout` (default 10 s; tests shorten it). */
  watchdogMs?: number;
  /**
   * Stops the run from outside (the CLI's SIGINT/SIGTERM): the current VM is
   * closed at once, which ends a run in progress, no VM opens after it, and
   * the outcome is `interrupted`.
   */
  signal?: AbortSignal;
  /** Called about every `progressMs` with the figures of the VM in use (while there is one). */
  onProgress?: (progress: RunProgress) => void;
  /** The period of `onProgress` (default 1000 ms). */
  progressMs?: number;
}

/** What a run of a script came to. */
export interface RunSummary {
  /** Expectations (and `expect error`s) that held. */
  passed: number;
  /** Expectations that failed. */
  failed: number;
  /** What the run came to (the CLI maps it to its exit code). */
  outcome: RunOutcome;
  /** The backends VMs ran on, in order of first use. */
  backends: BackendKind[];
  /** Wall time of the whole script, in milliseconds. */
  wallMs: number;
}

/**
 * The script's variables, with the built-in read-only ones (`$backend`,
 * `$mmu`, `$vcpus`) computed when read.
 */
class Variables extends Map<string, Value> {
  readonly #builtin: (name: string) => Value;

  constructor(builtin: (name: string) => Value) {
    super();
    this.#builtin = builtin;
  }

  override get(name: string): Value | undefined {
    return isBuiltinVariable(name) ? this.#builtin(name) : super.get(name);
  }

  override has(name: string): boolean {
    return isBuiltinVariable(name) || super.has(name);
  }
}

interface Handlers {
  memoryFault?: Stmt[];
  sync: Map<string, Stmt[]>;
}

interface Current {
  vm: Vm;
  handlers: Handlers;
  /** Stat values at the last `mark`. */
  mark?: { label: string; baseline: Map<string, bigint> };
}

/** A stat name listed by the backend rather than the script: located at the step. */
function nameOnly(loc: Loc): (text: string) => Name {
  return (text) => ({ text, loc });
}

class Interpreter {
  readonly #script: Script;
  readonly #options: ExecuteOptions;
  readonly #vars = new Variables((name) => this.#builtin(name));
  #current: Current | null = null;
  /** The backend `auto` / `--backend` picks, probed once, the first time `$backend` needs it. */
  #defaultBackend: BackendKind | undefined;
  /** Handlers run one at a time even when vCPUs exit in parallel (they share `$fault`). */
  #handlerChain: Promise<void> = Promise.resolve();
  passed = 0;
  failed = 0;
  readonly backends: BackendKind[] = [];

  constructor(script: Script, options: ExecuteOptions) {
    this.#script = script;
    this.#options = options;
  }

  /** `$backend`, `$mmu`, `$vcpus`: facts of the current VM. */
  #builtin(name: string): Value {
    const vm = this.#current?.vm;
    if (name === "backend") {
      if (vm) return new Word(vm.backend);
      this.#defaultBackend ??= selectBackend(this.#options.backend ?? "auto").kind;
      return new Word(this.#defaultBackend);
    }
    if (!vm) throw new Error(`$${name} needs a vm: there is none here`);
    return name === "mmu" ? new Word(vm.mmu) : BigInt(vm.vcpuCount);
  }

  #eval(expr: Expr): Value {
    return evaluate(expr, this.#vars);
  }

  #int(expr: Expr, what: string): bigint {
    return u64(this.#eval(expr), expr, what);
  }

  #vm(step: Step): Current {
    if (!this.#current) {
      throw new ScriptRuntimeError(
        step.loc,
        "there is no vm here (the last one was closed at the end of its loop body)",
      );
    }
    return this.#current;
  }

  /** Closes the current VM; never throws (a failing close must not hide the error that led here). */
  closeCurrent(): void {
    const current = this.#current;
    this.#current = null;
    if (!current) return;
    try {
      current.vm.close();
    } catch {
      // The VM is gone either way; there is nothing more to release.
    }
  }

  async exec(stmts: readonly Stmt[]): Promise<void> {
    for (const stmt of stmts) {
      if (stmt.kind === "vm") await at(stmt.loc, () => this.#createVm(stmt));
      else await at(stmt.loc, () => this.#step(stmt));
    }
  }

  /** A loop body: a vm created in it is closed at the end of each iteration. */
  async #loopBody(body: readonly Stmt[]): Promise<void> {
    const ownsVm = body.some((s) => s.kind === "vm");
    try {
      await this.exec(body);
    } finally {
      if (ownsVm) this.closeCurrent();
    }
  }

  async #createVm(stmt: VmStmt): Promise<void> {
    this.closeCurrent();
    const vm = await buildVm(stmt, {
      file: this.#script.file,
      vars: this.#vars,
      backend: this.#options.backend,
      openVm: this.#options.openVm,
      onOpen: (vm) => {
        if (!this.backends.includes(vm.backend)) this.backends.push(vm.backend);
      },
    });
    this.#current = { vm, handlers: { sync: new Map() } };
  }

  async #step(step: Step): Promise<void> {
    switch (step.kind) {
      case "run":
        return await this.#run(step);
      case "on_memory_fault":
        this.#vm(step).handlers.memoryFault = step.body;
        return;
      case "on_sync":
        this.#vm(step).handlers.sync.set(step.label, step.body);
        return;
      case "demand": {
        const vm = this.#vm(step).vm;
        vm.demandUffd(
          step.slot.text,
          step.handlers ? Number(this.#int(step.handlers, "handlers")) : 1,
        );
        return;
      }
      case "memslot":
        return this.#memslot(step);
      case "track": {
        const vm = this.#vm(step).vm;
        vm.track(
          step.name.text,
          this.#int(step.gpa, "gpa"),
          step.size ? this.#int(step.size, "size") : SIZE_4K,
        );
        return;
      }
      case "untrack":
        this.#vm(step).vm.untrack(step.name.text);
        return;
      case "cap":
        this.#vm(step).vm.enableCap(step.name.text as CapName, step.value.text);
        return;
      case "quirk":
        this.#vm(step).vm.setQuirk(step.name.text as QuirkName, step.value.text === "on");
        return;
      case "expect":
        return this.#expect(step);
      case "expect_error":
        return await this.#expectError(step);
      case "let":
        this.#vars.set(step.variable.text, this.#letValue(step, step.value));
        return;
      case "mark":
        return this.#mark(step);
      case "stats":
        return this.#stats(step);
      case "print": {
        const values = step.exprs.map((e) => this.#eval(e));
        this.#options.output.emit({
          event: "print",
          text: values.map(formatValue).join(" "),
          values,
        });
        return;
      }
      case "for": {
        const list = this.#eval(step.list);
        if (!Array.isArray(list)) {
          throw new ScriptRuntimeError(
            step.list.loc,
            `'for' needs a list, not a ${typeName(list)}`,
          );
        }
        for (const item of list) {
          this.#vars.set(step.variable.text, item);
          await this.#loopBody(step.body);
        }
        return;
      }
      case "repeat": {
        const n = this.#int(step.count, "repeat count");
        for (let i = 0n; i < n; i++) await this.#loopBody(step.body);
        return;
      }
      case "time": {
        const start = performance.now();
        await this.exec(step.body);
        this.#vars.set(step.variable.text, (performance.now() - start) / 1000);
        return;
      }
      case "if": {
        for (const branch of step.branches) {
          const value = this.#eval(branch.condition);
          if (typeof value !== "boolean") {
            throw new ScriptRuntimeError(
              branch.condition.loc,
              `'if' needs a boolean but '${branch.condition.source}' is ${
                /^[aeiou]/.test(typeName(value)) ? "an" : "a"
              } ${typeName(value)}`,
            );
          }
          if (value) return await this.exec(branch.body);
        }
        if (step.otherwise) await this.exec(step.otherwise);
        return;
      }
    }
  }

  async #run(step: Step & { kind: "run" }): Promise<void> {
    const current = this.#vm(step);
    const { handlers, vm } = current;
    const until: RunUntil = step.run.until;
    const exit = await vm.run({
      vcpu: step.run.vcpu ? Number(this.#int(step.run.vcpu, "vcpu")) : undefined,
      until,
      timeoutMs: step.run.timeoutMs,
      watchdogMs: this.#options.watchdogMs,
      handledSyncLabels: new Set(handlers.sync.keys()),
      handleMemoryFault: handlers.memoryFault !== undefined,
      onExit: (exit) => this.#handle(handlers, exit),
    });
    this.#vars.set("exit", exitRecord(exit));
    if (exit.reason === "fail") this.#guestFailed(step, exit);
    // A crash is a backend failure (exit code 3) unless the script asked to see
    // whatever exit comes: `run … until exit` leaves it in $exit to inspect.
    if (until.kind !== "exit") throwIfCrashed(exit);
  }

  /** A guest's `fail` ucall never goes unnoticed: an error at the `run`, counted as a failure. */
  #guestFailed(step: Step, exit: VcpuExit & { reason: "fail" }): void {
    this.failed++;
    const message = `guest vCPU ${exit.vcpu} failed: ${exit.message} (value ${
      formatHex(exit.value)
    })`;
    this.#options.output.emit({
      event: "error",
      location: this.#location(step.loc),
      message,
      diagnostic: this.#diagnostic(step.loc, message),
    });
  }

  #handle(handlers: Handlers, exit: VcpuExit): Promise<void> {
    const body = exit.reason === "memory_fault"
      ? handlers.memoryFault
      : exit.reason === "sync"
      ? handlers.sync.get(exit.label)
      : undefined;
    if (!body) return Promise.resolve();
    const next = this.#handlerChain.then(async () => {
      this.#vars.set(exit.reason === "memory_fault" ? "fault" : "exit", exitRecord(exit));
      await this.exec(body);
    });
    // Keep the chain alive after a failure; the failure itself reaches `run` through `next`.
    this.#handlerChain = next.catch(() => {});
    return next;
  }

  #memslot(step: Step & { kind: "memslot" }): void {
    const vm = this.#vm(step).vm;
    const name = step.slot.text;
    const op = step.op;
    switch (op.kind) {
      case "delete":
        return vm.deleteMemslot(name);
      case "move":
        return vm.moveMemslot(name, this.#int(op.gpa, "gpa"));
      case "flags":
        return vm.setMemslotFlags(
          name,
          op.add.map((f) => f.text as MemslotFlag),
          op.remove.map((f) => f.text as MemslotFlag),
        );
      case "populate":
        return vm.populate(
          name,
          op.offset ? this.#int(op.offset, "offset") : undefined,
          op.size ? this.#int(op.size, "size") : undefined,
        );
      case "write": {
        const value = this.#eval(op.value);
        if (typeof value !== "bigint" || value < -(1n << 63n) || value >= U64_LIMIT) {
          throw new ScriptRuntimeError(
            op.value.loc,
            `value must be a 64-bit integer, not ${formatValue(value)}`,
          );
        }
        return vm.writeSlot(name, this.#int(op.offset, "offset"), BigInt.asUintN(64, value));
      }
      case "add":
        vm.addMemslot(slotSpec(op.slot, this.#vars));
        return;
    }
  }

  #letValue(step: Step, value: LetValue): Value {
    if (value.kind === "expr") return this.#eval(value.expr);
    const vm = this.#vm(step).vm;
    switch (value.kind) {
      case "stat": {
        const vcpu = value.vcpu ? Number(this.#int(value.vcpu, "vcpu")) : undefined;
        return this.#stat(vm, value.name, vcpu);
      }
      case "memtype": {
        const t = vm.memtype(this.#int(value.gpa, "gpa"));
        return new RecordValue(
          "memtype",
          new Map<string, Value>([["type", new Word(t.type)], ["ipat", t.ipat]]),
        );
      }
      case "slot_read":
        return vm.readSlot(value.slot.text, this.#int(value.offset, "offset"));
      case "dirty_log":
        return dirtyRecord(vm.getDirtyLog(value.slot.text, value.clear));
    }
  }

  /** A stat, its errors (a stat this backend cannot provide) pointed at the name. */
  #stat(vm: Vm, name: Name, vcpu?: number): bigint {
    try {
      return vm.stat(name.text, vcpu);
    } catch (e) {
      throw new StepError(e, name.loc);
    }
  }

  #snapshot(vm: Vm): Map<string, bigint> {
    const values = new Map<string, bigint>();
    for (const name of vm.statNames()) values.set(name, vm.stat(name));
    return values;
  }

  #mark(step: Step & { kind: "mark" }): void {
    const current = this.#vm(step);
    current.mark = { label: step.label ?? "", baseline: this.#snapshot(current.vm) };
  }

  #stats(step: Step & { kind: "stats" }): void {
    const current = this.#vm(step);
    const names = step.names.length > 0
      ? step.names
      : current.vm.statNames().map(nameOnly(step.loc));
    const stats: Record<string, bigint> = {};
    for (const name of names) {
      stats[name.text] = this.#stat(current.vm, name) -
        (current.mark?.baseline.get(name.text) ?? 0n);
    }
    this.#options.output.emit({
      event: "stats",
      vm: current.vm.name,
      backend: current.vm.backend,
      mark: current.mark ? current.mark.label : null,
      stats,
    });
  }

  #location(loc: Loc) {
    return { file: this.#script.file, line: loc.line, column: loc.column };
  }

  /** `message` as a located, rendered diagnostic (`FILE:LINE:COL: error: …` with the caret). */
  #diagnostic(loc: Loc, message: string): string {
    return formatDiagnostic(diagnosticAt(this.#script.file, loc, message), this.#script.source);
  }

  #expect(step: Step & { kind: "expect" }): void {
    const ok = truthy(this.#eval(step.expr), step.expr);
    const event = {
      event: "expect",
      ok,
      location: this.#location(step.expr.loc),
      expression: step.expr.source,
      message: step.message,
    } as const;
    if (ok) {
      this.passed++;
      this.#options.output.emit({ ...event, operands: [] });
      return;
    }
    this.failed++;
    // An operand that short-circuiting skipped may not evaluate (`$x != 0 and 1 / $x > 1`): leave it out.
    const operands = operandsOf(step.expr).flatMap((e) => {
      try {
        return [{ expression: e.source, value: this.#eval(e) }];
      } catch {
        return [];
      }
    });
    const shown = operands.map((o) => `${o.expression} = ${formatValue(o.value)}`).join(", ");
    const message = `${step.message ?? "expectation failed"}: ${step.expr.source}${
      shown ? ` (${shown})` : ""
    }`;
    this.#options.output.emit({
      ...event,
      operands,
      diagnostic: this.#diagnostic(step.expr.loc, message),
    });
  }

  async #expectError(step: Step & { kind: "expect_error" }): Promise<void> {
    const wanted = step.errno.text;
    let failure: string | undefined;
    try {
      await this.exec(step.body);
      failure = `expected ${wanted} but the step succeeded`;
    } catch (e) {
      const cause = rootCause(e);
      if (!(cause instanceof ErrnoError)) throw e;
      if (cause.errno !== wanted) {
        failure = `expected ${wanted} but got ${cause.errno}: ${cause.message}`;
      }
    }
    const loc = {
      ...step.loc,
      length: step.errno.loc.offset + step.errno.loc.length - step.loc.offset,
    };
    const expression = `error ${wanted}`;
    if (failure === undefined) this.passed++;
    else this.failed++;
    this.#options.output.emit({
      event: "expect",
      ok: failure === undefined,
      location: this.#location(step.loc),
      expression,
      message: failure,
      operands: [],
      diagnostic: failure === undefined ? undefined : this.#diagnostic(loc, failure),
    });
  }

  /**
   * Reports an error that stopped the script (`interruption`: the reason it
   * was stopped from outside, which replaces the error it caused); returns the
   * outcome.
   */
  report(error: unknown, interruption?: string): RunOutcome {
    const cause = rootCause(error);
    const loc = error instanceof StepError ? error.loc : undefined;
    const message = interruption !== undefined
      ? `interrupted by ${interruption}`
      : cause instanceof Error
      ? cause.message
      : String(cause);
    const diagnostic = loc
      ? this.#diagnostic(loc, message)
      : `${this.#script.file}: error: ${message}`;
    this.#options.output.emit({
      event: "error",
      location: loc ? this.#location(loc) : undefined,
      message,
      diagnostic,
      stack: this.#options.debug && cause instanceof Error && interruption === undefined
        ? cause.stack
        : undefined,
    });
    if (interruption !== undefined) return "interrupted";
    return errorKindOf(cause) === "invalid" ? "invalid" : "backend_failed";
  }
}

/**
 * Runs a script that passed `checkScript`, on fresh VMs, reporting through
 * `options.output` and ending with a `summary` event. Errors never escape:
 * they become an `error` event and the outcome says what failed.
 *
 * @param script the checked script
 * @param options output, backend override, VM opener, abort signal, progress callback
 * @returns the summary (its outcome: passed, expectation_failed, invalid, backend_failed, interrupted)
 */
export async function executeScript(script: Script, options: ExecuteOptions): Promise<RunSummary> {
  const start = performance.now();
  const { signal, onProgress } = options;
  let last: Vm | undefined;
  const interpreter = new Interpreter(script, {
    ...options,
    openVm: interruptibleOpener(options.openVm, signal, (vm) => last = vm),
  });
  // Closing the current VM ends a run in progress on either backend; the step
  // fails and the script stops there.
  const interrupt = () => interpreter.closeCurrent();
  signal?.addEventListener("abort", interrupt, { once: true });
  const ticker = onProgress === undefined ? undefined : setInterval(() => {
    const progress = last && progressOf(last, start);
    if (progress) onProgress(progress);
  }, options.progressMs ?? 1000);
  let outcome: RunOutcome = "passed";
  try {
    throwIfInterrupted(signal);
    await interpreter.exec(script.body);
    // Stopped between steps that do not wait (no VM to close): still interrupted.
    throwIfInterrupted(signal);
  } catch (e) {
    outcome = interpreter.report(e, signal?.aborted ? abortReason(signal) : undefined);
  } finally {
    clearInterval(ticker);
    signal?.removeEventListener("abort", interrupt);
    interpreter.closeCurrent();
  }
  if (outcome === "passed" && interpreter.failed > 0) outcome = "expectation_failed";
  const summary: RunSummary = {
    passed: interpreter.passed,
    failed: interpreter.failed,
    outcome,
    backends: interpreter.backends,
    wallMs: performance.now() - start,
  };
  options.output.emit({
    event: "summary",
    passed: summary.passed,
    failed: summary.failed,
    backend: summary.backends.length > 0 ? summary.backends.join(", ") : "none",
    wallMs: summary.wallMs,
    outcome,
  });
  return summary;
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
