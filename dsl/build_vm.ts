/**
 * Builds the VM of a `vm NAME { … }` block: evaluates the declarations,
 * re-checks a layout that depended on variables, opens the VM on the chosen
 * backend, then applies capabilities, quirks, memslots, devices and the
 * guest in that order. A VM that fails half-way is closed before the error
 * propagates.
 *
 * @module
 */
import type { Decl, Expr, MemslotDecl, VmStmt } from "./ast.ts";
import { evaluate, ScriptRuntimeError, type Variables } from "./evaluate.ts";
import { readGuestFile } from "./guest_file.ts";
import { checkLayout, declaredLayout } from "./layout.ts";
import { deviceShmSlot, payloadParam, payloadProblems } from "./payloads.ts";
import { at, StepError, u64 } from "./runtime.ts";
import { typeName } from "./values.ts";
import type { BackendChoice } from "../vmm/create.ts";
import { BackendUnavailableError, UnsupportedError } from "../vmm/errors.ts";
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
  /** Directories besides the script's own a guest file may be read from. */
  allowPaths?: readonly string[];
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
  const systemDecl = find("system");
  const vcpusDecl = find("vcpus");
  const config: VmConfig = {
    name: stmt.name.text,
    vcpus: vcpusDecl ? Number(int(vcpusDecl.count, "vcpus")) : 1,
    mmu: find("mmu")?.value.text as MmuMode | undefined,
    system: systemDecl
      ? { gpa: int(systemDecl.gpa, "gpa"), size: int(systemDecl.size, "size") }
      : undefined,
  };
  // Layouts that depend on variables could not be checked statically: check them now.
  const { system, regions } = declaredLayout(stmt, int);
  const problem = checkLayout(system, regions)[0];
  if (problem) throw new ScriptRuntimeError(problem.loc, problem.message);

  const choice = env.backend ??
    (backendDecl?.value.text as BackendChoice | undefined) ?? "auto";
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
  const decls = stmt.decls;
  const vars = env.vars;
  const int = u64Of(vars);
  for (const d of decls) {
    if (d.kind === "cap") {
      await at(d.loc, () => vm.enableCap(d.name.text as CapName, d.value.text));
    }
  }
  for (const d of decls) {
    if (d.kind === "quirk") {
      await at(d.loc, () => vm.setQuirk(d.name.text as QuirkName, d.value.text === "on"));
    }
  }
  for (const d of decls) {
    if (d.kind === "memslot") {
      await at(d.loc, () => vm.addMemslot(slotSpec(d.slot, vars)));
    }
  }
  for (const d of decls) {
    if (d.kind !== "device") continue;
    await at(d.loc, () => {
      if (d.noncoherent && d.via?.text === "kvm_device") {
        throw new UnsupportedError(
          `device ${d.name.text}: 'noncoherent via kvm_device' needs a VM-wide device registration, ` +
            "which the Vm interface (vmm/types.ts) does not offer yet; use 'via memslot_flag'",
        );
      }
      vm.addMemslot({
        name: deviceShmSlot(d.name.text),
        gpa: int(d.shmGpa!, "gpa"),
        size: int(d.shmSize!, "size"),
        flags: d.noncoherent ? ["noncoherent_dma"] : [],
      });
    });
  }
  const guest = decls.find((d) => d.kind === "guest");
  if (guest?.kind === "guest") {
    await at(guest.loc, async () => vm.loadGuest(await guestSpec(guest, vm, stmt, env)));
  }
}

async function guestSpec(
  decl: Decl & { kind: "guest" },
  vm: Vm,
  stmt: VmStmt,
  env: BuildEnv,
): Promise<GuestSpec> {
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
    const load = params["load"] as bigint;
    const { system } = declaredLayout(stmt, u64Of(env.vars));
    const bytes = await readGuestFile({
      path: decl.file.path,
      loc: decl.file.loc,
      scriptFile: env.file,
      allowPaths: env.allowPaths,
      load,
      regions: [system, ...vm.memslots()],
    });
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
