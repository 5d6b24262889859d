/**
 * Evaluates a `vm NAME { … }` block into a VM description and hands it to
 * `vmm/builder.ts`, the one place that knows the boot order (capabilities,
 * quirks, memslots, devices, then the guest, whatever order the block was
 * written in). Layouts that depended on variables are re-checked first;
 * each failure is attributed to the declaration it came from.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import type { Decl, Expr, Loc, MemslotDecl, VmStmt } from "./ast.ts";
import { evaluate, ScriptRuntimeError, type Variables } from "./evaluate.ts";
import { checkLayout, declaredLayout } from "./layout.ts";
import { payloadParam } from "./payloads.ts";
import { StepError, u64 } from "./runtime.ts";
import { typeName } from "./values.ts";
import { PayloadParamError } from "../guest/payloads/mod.ts";
import {
  type BuildStep,
  buildVm as buildVmOf,
  type DeviceMemory,
  type VmDescription,
} from "../vmm/builder.ts";
import type { BackendChoice } from "../vmm/create.ts";
import { BackendUnavailableError } from "../vmm/errors.ts";
import type {
  CapName,
  GuestSpec,
  MemslotFlag,
  MemslotSpec,
  MmuMode,
  QuirkName,
  Vm,
  VmConfig,
} from "../vmm/types.ts";

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

/** Evaluates address, size and count expressions against `vars`, as u64s. */
function u64Of(vars: Variables): (e: Expr, what: string) => bigint {
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
 * Evaluates a vm block into a {@linkcode VmDescription} and builds it with
 * `vmm/builder.ts` (which owns the boot order), attributing each failure to
 * the declaration it came from.
 *
 * @param stmt the block
 * @param env variables, backend choice, VM opener
 * @returns the configured VM
 */
export function buildVm(stmt: VmStmt, env: BuildEnv): Vm {
  const int = u64Of(env.vars);
  const decls = stmt.decls;
  const find = <K extends Decl["kind"]>(kind: K) =>
    decls.find((d) => d.kind === kind) as (Decl & { kind: K }) | undefined;
  const all = <K extends Decl["kind"]>(kind: K) =>
    decls.filter((d) => d.kind === kind) as (Decl & { kind: K })[];
  const backendDecl = find("backend");
  const systemDecl = find("system");
  const vcpusDecl = find("vcpus");
  const mmuDecl = find("mmu");
  const vcpus = vcpusDecl ? Number(int(vcpusDecl.count, "vcpus")) : 1;
  const systemRegion = systemDecl
    ? { gpa: int(systemDecl.gpa, "gpa"), size: int(systemDecl.size, "size") }
    : undefined;
  // Layouts that depend on variables could not be checked statically: check them now.
  const { system, regions } = declaredLayout(stmt, int);
  const problem = checkLayout(system, regions)[0];
  if (problem) throw new ScriptRuntimeError(problem.loc, problem.message);

  const caps = all("cap");
  const quirks = all("quirk");
  const memslots = all("memslot");
  const devices = all("device");
  const guest = find("guest");
  const description: VmDescription = {
    name: stmt.name.text,
    backend: env.backend ?? (backendDecl?.value.text as BackendChoice | undefined) ?? "auto",
    vcpus,
    mmu: mmuDecl?.value.text as MmuMode | undefined,
    system: systemRegion,
    caps: caps.map((d) => [d.name.text as CapName, d.value.text]),
    quirks: quirks.map((d) => [d.name.text as QuirkName, d.value.text === "on"]),
    memslots: memslots.map((d) => slotSpec(d.slot, env.vars)),
    devices: devices.map((d) => ({
      name: d.name.text,
      gpa: int(d.shmGpa!, "gpa"),
      size: int(d.shmSize!, "size"),
      noncoherent: d.noncoherent !== undefined,
      via: d.via?.text as DeviceMemory["via"],
    })),
    // Evaluated when the builder reaches the guest, after the memslots.
    guest: guest ? () => guestSpec(guest, env) : undefined,
  };
  const locOf = (step: BuildStep): Loc =>
    step.kind === "guest" ? guest!.loc : ({
      cap: caps,
      quirk: quirks,
      memslot: memslots,
      device: devices,
    }[step.kind][step.index] as Decl).loc;
  return buildVmOf(description, {
    openVm: (config, choice) => {
      try {
        return env.openVm(config, choice);
      } catch (e) {
        // Point at what most likely caused it: the backend asked for, else
        // the mmu the host was checked against, else the vm block.
        const loc = e instanceof BackendUnavailableError
          ? (backendDecl?.loc ?? stmt.loc)
          : (mmuDecl?.loc ?? stmt.loc);
        throw new StepError(e, loc);
      }
    },
    onOpen: env.onOpen,
    step: (step, run) => {
      try {
        return run();
      } catch (e) {
        // Parameters that do not fit the payload point at the payload's name.
        if (e instanceof PayloadParamError && step.kind === "guest") {
          throw new StepError(e, guest!.payload.loc);
        }
        throw attributed(e, locOf(step));
      }
    },
  });
}

/** The error of a failed step, located: as `at` of `runtime.ts` does for async steps. */
function attributed(e: unknown, loc: Loc): StepError {
  if (e instanceof StepError) return e;
  if (e instanceof ScriptRuntimeError) return new StepError(e, e.loc);
  return new StepError(e, loc);
}

/** The guest of a `guest` declaration (its payload parameters are checked by the builder). */
function guestSpec(decl: Decl & { kind: "guest" }, env: BuildEnv): GuestSpec {
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
  return { kind: "payload", name: decl.payload.text, params };
}
