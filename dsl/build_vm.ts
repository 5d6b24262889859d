/**
 * Builds the VM of a `vm NAME { … }` block: evaluates the settings,
 * re-checks a layout that depended on variables, opens the VM on the chosen
 * backend, then applies capabilities, quirks, memslots, devices and the
 * guest in that order (each declaration's effect is its module's `exec`,
 * `statements/`; the order is the registry's). A VM that fails half-way is closed before the error
 * propagates.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import type { Decl, Expr, MemslotDecl, VmStmt } from "./ast.ts";
import { evaluate, ScriptRuntimeError, type Variables } from "./evaluate.ts";
import { checkLayout, declaredLayout } from "./layout.ts";
import { payloadParam, payloadProblems } from "./payloads.ts";
import { at, StepError, u64 } from "./runtime.ts";
import { declDef, inRegistryOrder } from "./statements/mod.ts";
import { typeName } from "./values.ts";
import type { BackendChoice } from "../vmm/create.ts";
import { BackendUnavailableError } from "../vmm/errors.ts";
import type { GuestSpec, MemslotFlag, MemslotSpec, Vm, VmConfig } from "../vmm/types.ts";

/** Opens a VM (normally `openVm` of `vmm/create.ts`). */
export type VmOpener = (config: VmConfig, backend: BackendChoice) => Vm;

/** What {@linkcode buildVm} needs from the interpreter. */
export interface BuildEnv {
  /** The script's file (guest files are relative to it). */
  file: string;
  /** The script's variables. */
  vars: Variables;
  /** Overrides the block's `backend`. */
  backend?: BackendChoice;
  openVm: VmOpener;
  /** Called as soon as the VM exists (before it is configured). */
  onOpen: (vm: Vm) => void;
}

/** What the settings of a vm block (`backend`, `mmu`, `vcpus`, `system`) set before the VM opens. */
export interface VmSetup {
  /** The VM's configuration. */
  config: VmConfig;
  /** The block's `backend` (the CLI's `--backend` overrides it). */
  backend?: BackendChoice;
}

/** Evaluates address, size and count expressions against `vars`, as u64s. */
export function u64Of(vars: Variables): (e: Expr, what: string) => bigint {
  return (e, what) => u64(evaluate(e, vars), e, what);
}

/** A memslot declaration as the backend takes it. */
export function slotSpec(slot: MemslotDecl, vars: Variables): MemslotSpec {
  const int = u64Of(vars);
  return {
    name: slot.name.text,
    gpa: int(slot.gpa, "gpa"),
    size: int(slot.size, "size"),
    flags: slot.flags.map((f) => f.text as MemslotFlag),
    backing: slot.backing?.text as MemslotSpec["backing"],
    hugepage: slot.hugepage ? int(slot.hugepage, "hugepage") : undefined,
  };
}

/**
 * Builds and configures the VM of a vm block.
 *
 * @param stmt the block
 * @param env variables, backend choice, VM opener
 * @returns the configured VM
 */
export async function buildVm(stmt: VmStmt, env: BuildEnv): Promise<Vm> {
  const int = u64Of(env.vars);
  const decls = stmt.decls;
  const find = <K extends Decl["kind"]>(kind: K) =>
    decls.find((d) => d.kind === kind) as (Decl & { kind: K }) | undefined;
  const backendDecl = find("backend");
  const setup: VmSetup = {
    config: { name: stmt.name.text, vcpus: 1, mmu: undefined, system: undefined },
  };
  for (const d of inRegistryOrder(decls)) {
    const exec = declDef(d).exec;
    if ("setting" in exec) exec.setting(d, setup, int);
  }
  const config = setup.config;
  // Layouts that depend on variables could not be checked statically: check them now.
  const { system, regions } = declaredLayout(stmt, int);
  const problem = checkLayout(system, regions)[0];
  if (problem) throw new ScriptRuntimeError(problem.loc, problem.message);

  const choice = env.backend ?? setup.backend ?? "auto";
  let vm: Vm;
  try {
    vm = env.openVm(config, choice);
  } catch (e) {
    // Point at what most likely caused it: the backend asked for, else the
    // mmu the host was checked against, else the vm block.
    const mmuDecl = find("mmu");
    const loc = e instanceof BackendUnavailableError
      ? (backendDecl?.loc ?? stmt.loc)
      : (mmuDecl?.loc ?? stmt.loc);
    throw new StepError(e, loc);
  }
  env.onOpen(vm);
  try {
    await configure(vm, stmt, env);
  } catch (e) {
    // The VM never became current: close it here, then report the failure.
    vm.close();
    throw e;
  }
  return vm;
}

/** Applies the declarations in the order KVM needs, whatever order the block was written in. */
async function configure(vm: Vm, stmt: VmStmt, env: BuildEnv): Promise<void> {
  for (const d of inRegistryOrder(stmt.decls)) {
    const exec = declDef(d).exec;
    if ("apply" in exec) await at(d.loc, () => exec.apply(d, vm, env));
  }
}

/** What a `guest` declaration loads: a flat binary or a built-in payload with its parameters. */
export function guestSpec(decl: Decl & { kind: "guest" }, vm: Vm, env: BuildEnv): GuestSpec {
  const params: Record<string, bigint | string> = {};
  for (const p of decl.params) {
    const v = evaluate(p.value, env.vars);
    const param = payloadParam(v);
    if (param === undefined) {
      throw new ScriptRuntimeError(
        p.value.loc,
        `parameter '${p.key.text}' must be an integer or a word, not a ${typeName(v)}`,
      );
    }
    params[p.key.text] = param;
  }
  if (decl.file) {
    const path = resolve(dirname(env.file), decl.file.path);
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(path);
    } catch (e) {
      throw new ScriptRuntimeError(
        decl.file.loc,
        `cannot read guest file '${path}': ${(e as Error).message}`,
      );
    }
    const load = params["load"] as bigint;
    return {
      kind: "file",
      bytes,
      load,
      entry: (params["entry"] as bigint | undefined) ?? load,
      mode: (params["mode"] as "long" | "real" | undefined) ?? "long",
    };
  }
  const problems = payloadProblems(decl.payload.text, params, vm.memslots(), vm.vcpuCount);
  if (problems.length > 0) throw new ScriptRuntimeError(decl.payload.loc, problems.join("; "));
  return { kind: "payload", name: decl.payload.text, params };
}
