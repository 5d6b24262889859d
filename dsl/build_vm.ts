/**
 * Evaluates a `vm NAME { … }` block into a VM description and hands it to
 * `vmm/builder.ts`, the one place that knows the boot order (capabilities,
 * quirks, memslots, devices, then the guest, whatever order the block was
 * written in). Each declaration's module (`statements/`) says what it adds
 * to the description (`describe`); layouts that depended on variables are
 * re-checked first; each failure is attributed to the declaration it came
 * from.
 *
 * @module
 */
import type { Decl, Expr, Loc, MemslotDecl, VmStmt } from "./ast.ts";
import { evaluate, ScriptRuntimeError, type Variables } from "./evaluate.ts";
import { readGuestFile } from "./guest_file.ts";
import { checkLayout, declaredLayout } from "./layout.ts";
import { payloadParam } from "./payloads.ts";
import { StepError, u64, wordValue } from "./runtime.ts";
import { declDef } from "./statements/mod.ts";
import { typeName, type Value } from "./values.ts";
import { PayloadParamError } from "../guest/payloads/mod.ts";
import {
  type BuildStep,
  buildVm as buildVmOf,
  type DeviceMemory,
  type VmDescription,
} from "../vmm/builder.ts";
import type { BackendChoice } from "../vmm/create.ts";
import { BackendUnavailableError } from "../vmm/errors.ts";
import { BACKINGS, MEMSLOT_FLAGS } from "./names.ts";
import type {
  Backing,
  CapName,
  CapValue,
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

/** The parts of a description that the builder applies one by one, in boot order. */
type ListedStep = "cap" | "quirk" | "memslot" | "device";

/**
 * A vm block's description while its declarations fill it in: each
 * declaration's module adds its part with the declaration's location, so a
 * failure of the builder's step points back at it.
 */
export class VmDraft {
  /** The settings read before the VM opens. */
  readonly settings: {
    backend?: BackendChoice;
    vcpus: number;
    hostCpus?: number;
    mmu?: MmuMode;
    system?: { gpa: bigint; size: bigint };
  } = { vcpus: 1 };
  /** Where each setting came from (for errors opening the VM). */
  readonly settingLocs: Partial<Record<"backend" | "mmu", Loc>> = {};
  readonly #caps: [CapName, CapValue][] = [];
  readonly #quirks: [QuirkName, boolean][] = [];
  readonly #memslots: MemslotSpec[] = [];
  readonly #devices: DeviceMemory[] = [];
  #guest?: { loc: Loc; payloadLoc?: Loc; spec: () => GuestSpec };
  /** A `guest file`'s bytes, read (bounded, confined) before the VM is built. */
  guestFileBytes?: Uint8Array;
  readonly #locs: Record<ListedStep, Loc[]> = { cap: [], quirk: [], memslot: [], device: [] };

  /**
   * @param env the interpreter's variables and options
   * @param int evaluates an address, size or count as a u64
   */
  constructor(
    readonly env: BuildEnv,
    readonly int: (e: Expr, what: string) => bigint,
  ) {}

  /** The value of an expression in the script's variables. */
  eval(expr: Expr): Value {
    return evaluate(expr, this.env.vars);
  }

  /** A value that must be one of `allowed` (a setting, a backing, a quirk's on/off). */
  word(expr: Expr, allowed: readonly string[], what: string): string {
    return wordValue(this.eval(expr), expr, allowed, what);
  }

  /** Adds a capability: a word or its raw `args[0]`. */
  cap(loc: Loc, name: CapName, value: CapValue): void {
    this.#caps.push([name, value]);
    this.#locs.cap.push(loc);
  }

  /** Adds a quirk. */
  quirk(loc: Loc, name: QuirkName, on: boolean): void {
    this.#quirks.push([name, on]);
    this.#locs.quirk.push(loc);
  }

  /** Adds a user memslot. */
  memslot(loc: Loc, spec: MemslotSpec): void {
    this.#memslots.push(spec);
    this.#locs.memslot.push(loc);
  }

  /** Adds a device's shared memory. */
  device(loc: Loc, device: DeviceMemory): void {
    this.#devices.push(device);
    this.#locs.device.push(loc);
  }

  /** Sets the guest, evaluated when the builder reaches it (after the memslots). */
  guest(loc: Loc, spec: () => GuestSpec, payloadLoc?: Loc): void {
    this.#guest = { loc, payloadLoc, spec };
  }

  /** The description for `vmm/builder.ts`. */
  description(name: string): VmDescription {
    const s = this.settings;
    return {
      name,
      backend: this.env.backend ?? s.backend ?? "auto",
      vcpus: s.vcpus,
      hostCpus: s.hostCpus,
      mmu: s.mmu,
      system: s.system,
      caps: this.#caps,
      quirks: this.#quirks,
      memslots: this.#memslots,
      devices: this.#devices,
      guest: this.#guest?.spec,
    };
  }

  /** Where a builder step came from. */
  locOf(step: BuildStep): Loc {
    return step.kind === "guest" ? this.#guest!.loc : this.#locs[step.kind][step.index];
  }

  /** Where a payload's parameter errors point: the payload's name. */
  payloadLoc(): Loc | undefined {
    return this.#guest?.payloadLoc;
  }
}

/** Reads a `guest file` before the build: bounded by the room the layout gives it at `load`. */
async function readFileOf(stmt: VmStmt, draft: VmDraft, int: (e: Expr, what: string) => bigint) {
  const guest = stmt.decls.find((d) => d.kind === "guest");
  if (guest?.kind !== "guest" || !guest.file) return;
  const load = guest.params.find((p) => p.key.text === "load");
  const { system } = declaredLayout(stmt, int);
  const memslots = draft.description("").memslots ?? [];
  draft.guestFileBytes = await readGuestFile({
    path: guest.file.path,
    loc: guest.file.loc,
    scriptFile: draft.env.file,
    allowPaths: draft.env.allowPaths,
    load: load ? int(load.value, "load") : 0n,
    regions: [system, ...memslots],
  });
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
    flags: slot.flagList
      ? flagList(evaluate(slot.flagList, vars), slot.flagList)
      : slot.flags.map((f) => f.text as MemslotFlag),
    backing: slot.backing
      ? wordValue(evaluate(slot.backing, vars), slot.backing, BACKINGS, "backing") as Backing
      : undefined,
    hugepage: slot.hugepage ? int(slot.hugepage, "hugepage") : undefined,
  };
}

/** `flags EXPR` of a memslot: a list of flag words, the whole set. */
function flagList(value: Value, expr: Expr): MemslotFlag[] {
  if (!Array.isArray(value)) {
    throw new ScriptRuntimeError(
      expr.loc,
      `'flags' needs a list of flags, not a ${typeName(value)}`,
    );
  }
  return value.map((v) => wordValue(v, expr, MEMSLOT_FLAGS, "memslot flag") as MemslotFlag);
}

/**
 * Evaluates a vm block into a {@linkcode VmDescription} (each declaration
 * through its module's `describe`) and builds it with `vmm/builder.ts`
 * (which owns the boot order), attributing each failure to the declaration
 * it came from.
 *
 * @param stmt the block
 * @param env variables, backend choice, VM opener
 * @returns the configured VM
 */
export async function buildVm(stmt: VmStmt, env: BuildEnv): Promise<Vm> {
  const int = u64Of(env.vars);
  const draft = new VmDraft(env, int);
  for (const d of stmt.decls) declDef(d).describe(d, draft);
  // Layouts that depend on variables could not be checked statically: check them now.
  const { system, regions } = declaredLayout(stmt, int);
  const problem = checkLayout(system, regions)[0];
  if (problem) throw new ScriptRuntimeError(problem.loc, problem.message);
  await readFileOf(stmt, draft, int);

  return buildVmOf(draft.description(stmt.name.text), {
    openVm: (config, choice) => {
      try {
        return env.openVm(config, choice);
      } catch (e) {
        // Point at what most likely caused it: the backend asked for, else
        // the mmu the host was checked against, else the vm block.
        const loc = e instanceof BackendUnavailableError
          ? (draft.settingLocs.backend ?? stmt.loc)
          : (draft.settingLocs.mmu ?? stmt.loc);
        throw new StepError(e, loc);
      }
    },
    onOpen: env.onOpen,
    step: (step, run) => {
      try {
        return run();
      } catch (e) {
        // Parameters that do not fit the payload point at the payload's name.
        const payloadLoc = draft.payloadLoc();
        if (e instanceof PayloadParamError && step.kind === "guest" && payloadLoc) {
          throw new StepError(e, payloadLoc);
        }
        throw attributed(e, draft.locOf(step));
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
export function guestSpec(decl: Decl & { kind: "guest" }, draft: VmDraft): GuestSpec {
  const env = draft.env;
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
    const bytes = draft.guestFileBytes!;
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
