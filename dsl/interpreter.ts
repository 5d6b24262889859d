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
import type { Expr, Loc, Name, Script, Step, Stmt } from "./ast.ts";
import type { VmOpener } from "./build_vm.ts";
import { diagnosticAt, formatDiagnostic } from "./diagnostics.ts";
import { userMessage } from "./internal_error.ts";
import { evaluate, ScriptRuntimeError } from "./evaluate.ts";
import type { Output, RunOutcome } from "./output.ts";
import { at, rootCause, StepError, u64 } from "./runtime.ts";
import { type Value, Word } from "./values.ts";
import { isBuiltinVariable } from "./check_expr.ts";
import { stepDef, VM } from "./statements/mod.ts";
import { type BackendChoice, selectBackend } from "../vmm/create.ts";
import { errorKindOf } from "../vmm/errors.ts";
import {
  abortReason,
  interruptibleOpener,
  progressOf,
  type RunProgress,
  throwIfInterrupted,
} from "./run_edges.ts";
import type { BackendKind, CapName, Vm } from "../vmm/types.ts";
import type { FunctionHost } from "./functions.ts";

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
  /** Directories besides the script's own that `guest file` may read from (`--allow-path`). */
  allowPaths?: readonly string[];
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
  /**
   * The values of the script's parameters (`params.ts`'s `resolveParameters`);
   * a `param` missing here takes its default.
   */
  parameters?: ReadonlyMap<string, Value>;
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
  /** What `stat()` and `has_cap()` read: the current VM. */
  readonly host: FunctionHost;

  constructor(builtin: (name: string) => Value, host: FunctionHost) {
    super();
    this.#builtin = builtin;
    this.host = host;
  }

  override get(name: string): Value | undefined {
    return isBuiltinVariable(name) ? this.#builtin(name) : super.get(name);
  }

  override has(name: string): boolean {
    return isBuiltinVariable(name) || super.has(name);
  }
}

/** The handlers in effect for the current VM's runs. */
export interface Handlers {
  /** The body of `on memory_fault`. */
  memoryFault?: Stmt[];
  /** The bodies of `on sync "L"`, by label. */
  sync: Map<string, Stmt[]>;
}

/** The current VM and what the script attached to it. */
export interface Current {
  /** The VM. */
  vm: Vm;
  /** The handlers its runs use. */
  handlers: Handlers;
  /** Stat values at the last `mark`. */
  mark?: { label: string; baseline: Map<string, bigint> };
}

/**
 * The interpreter: the state the statement modules' executions read and
 * update (variables, the current VM, the tally of expectations).
 */
export class Interpreter {
  /** The script being run. */
  readonly script: Script;
  /** How it is run. */
  readonly options: ExecuteOptions;
  /** The script's variables. */
  readonly vars: Variables = new Variables((name) => this.#builtin(name), {
    stat: (name, vcpu) => this.stat(this.#vmFor(name), name, vcpu),
    hasCap: (name) => this.#vmFor(name).hasCap(name.text as CapName),
  });
  /** The current VM, if any. */
  current: Current | null = null;
  /** The backend `auto` / `--backend` picks, probed once, the first time `$backend` needs it. */
  #defaultBackend: BackendKind | undefined;
  /** Handlers run one at a time even when vCPUs exit in parallel (they share `$fault`). */
  handlerChain: Promise<void> = Promise.resolve();
  /** Expectations that held. */
  passed = 0;
  /** Expectations that failed. */
  failed = 0;
  /** The backends VMs ran on, in order of first use. */
  readonly backends: BackendKind[] = [];

  constructor(script: Script, options: ExecuteOptions) {
    this.script = script;
    this.options = options;
  }

  /** `$backend`, `$mmu`, `$vcpus`: facts of the current VM. */
  #builtin(name: string): Value {
    const vm = this.current?.vm;
    if (name === "backend") {
      if (vm) return new Word(vm.backend);
      this.#defaultBackend ??= selectBackend(this.options.backend ?? "auto").kind;
      return new Word(this.#defaultBackend);
    }
    if (!vm) throw new Error(`$${name} needs a vm: there is none here`);
    return name === "mmu" ? new Word(vm.mmu) : BigInt(vm.vcpuCount);
  }

  /** The current VM for a function that reads it (`stat()`, `has_cap()`). */
  #vmFor(name: Name): Vm {
    if (!this.current) {
      throw new ScriptRuntimeError(
        name.loc,
        `reading '${name.text}' needs a vm: there is none here`,
      );
    }
    return this.current.vm;
  }

  /** The value of `expr`. */
  eval(expr: Expr): Value {
    return evaluate(expr, this.vars);
  }

  /** The value of `expr` as an address, size or count (0 .. 2^64-1). */
  int(expr: Expr, what: string): bigint {
    return u64(this.eval(expr), expr, what);
  }

  /** The current VM, for a step that needs one. */
  vm(step: Step): Current {
    if (!this.current) {
      throw new ScriptRuntimeError(
        step.loc,
        "there is no vm here (the last one was closed at the end of its loop body)",
      );
    }
    return this.current;
  }

  /** Closes the current VM; never throws (a failing close must not hide the error that led here). */
  closeCurrent(): void {
    const current = this.current;
    this.current = null;
    if (!current) return;
    try {
      current.vm.close();
    } catch {
      // The VM is gone either way; there is nothing more to release.
    }
  }

  /** Runs statements in order, each error attributed to its statement. */
  async exec(stmts: readonly Stmt[]): Promise<void> {
    for (const stmt of stmts) {
      if (stmt.kind === "vm") await at(stmt.loc, () => VM.exec(stmt, this));
      else await at(stmt.loc, () => stepDef(stmt).exec(stmt, this));
    }
  }

  /** A loop body: a vm created in it is closed at the end of each iteration. */
  async loopBody(body: readonly Stmt[]): Promise<void> {
    const ownsVm = body.some((s) => s.kind === "vm");
    try {
      await this.exec(body);
    } finally {
      if (ownsVm) this.closeCurrent();
    }
  }

  /** A stat, its errors (a stat this backend cannot provide) pointed at the name. */
  stat(vm: Vm, name: Name, vcpu?: number): bigint {
    try {
      return vm.stat(name.text, vcpu);
    } catch (e) {
      throw new StepError(e, name.loc);
    }
  }

  /** Where `loc` is, for an output event. */
  location(loc: Loc): { file: string; line: number; column: number } {
    return { file: this.script.file, line: loc.line, column: loc.column };
  }

  /** `message` as a located, rendered diagnostic (`FILE:LINE:COL: error: …` with the caret). */
  diagnostic(loc: Loc, message: string): string {
    return formatDiagnostic(diagnosticAt(this.script.file, loc, message), this.script.source);
  }

  /**
   * Reports an error that stopped the script (`interruption`: the reason it
   * was stopped from outside, which replaces the error it caused); returns the
   * outcome.
   */
  report(error: unknown, interruption?: string): RunOutcome {
    const cause = rootCause(error);
    const loc = error instanceof StepError ? error.loc : undefined;
    // The last guard: an engine error is worded as the VMM's failure, at the step when known.
    const message = interruption !== undefined
      ? `interrupted by ${interruption}`
      : userMessage(cause, "running this step");
    const diagnostic = loc
      ? this.diagnostic(loc, message)
      : `${this.script.file}: error: ${message}`;
    this.options.output.emit({
      event: "error",
      location: loc ? this.location(loc) : undefined,
      message,
      diagnostic,
      stack: this.options.debug && cause instanceof Error && interruption === undefined
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
