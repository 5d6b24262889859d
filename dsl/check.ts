/**
 * Static checks of a parsed script, run before anything touches a backend:
 * unknown names (memslots, devices, payloads, capabilities, quirks, flags,
 * stats, variables used before any `let`), layout errors (misaligned or
 * overlapping slots, slots over the system region), payload parameters,
 * type errors where types are known, and steps that need a VM outside one.
 *
 * Values that depend on variables (a slot size taken from a `for` list) are
 * not known here; the interpreter applies the same layout rules to them
 * when it creates the VM.
 *
 * @module
 */
import type { Decl, Expr, Loc, MemslotDecl, Name, Script, Step, Stmt, VmStmt } from "./ast.ts";
import { type Diagnostic, diagnosticAt } from "./diagnostics.ts";
import {
  BUILTIN_VARIABLES,
  ExprTyper,
  isBuiltinVariable,
  type SType,
  TYPE_NAMES,
} from "./check_expr.ts";
import { checkLayout, checkRegion, declaredLayout } from "./layout.ts";
import {
  BACKEND_CHOICES,
  BACKINGS,
  CAP_VALUES,
  HUGEPAGE_SIZES,
  knownOrSuggestion,
  MEMSLOT_FLAGS,
  MMU_MODES,
  QUIRKS,
  STAT_NAMES,
} from "./names.ts";
import { checkGuest } from "./check_guest.ts";
import { ERRNO_NUMBERS } from "../vmm/errors.ts";
import { SIZE_4K } from "../guest/page_tables.ts";
import type { Value } from "./values.ts";

/** What the checker knows about the VM steps act on. */
interface VmInfo {
  name: string;
  vcpus?: bigint;
  slots: Set<string>;
  devices: Set<string>;
  trackers: Set<string>;
  hasGuest: boolean;
}

/** Where a statement sits. */
interface Context {
  handler?: "memory_fault" | "sync";
  inExpectError?: boolean;
  inIf?: boolean;
}

/** Every step kind that acts on a VM. */
const NEEDS_VM: ReadonlySet<string> = new Set([
  "run",
  "on_memory_fault",
  "on_sync",
  "demand",
  "memslot",
  "track",
  "untrack",
  "cap",
  "quirk",
  "mark",
  "stats",
]);

class Checker {
  readonly diagnostics: Diagnostic[] = [];
  readonly #script: Script;
  #vm: VmInfo | null = null;
  /**
   * Inside `expect error`: naming a missing or duplicate slot, or a misaligned
   * address or size, is the point of the test (the kernel answers with an errno).
   */
  #lenient = false;
  readonly #vars = new Map<string, SType>();
  readonly #types = new ExprTyper(
    (loc, message) => this.error(loc, message),
    this.#vars,
    (name, loc) => this.builtin(name, loc),
  );

  constructor(script: Script) {
    this.#script = script;
  }

  error(loc: Loc, message: string): void {
    this.diagnostics.push(diagnosticAt(this.#script.file, loc, message));
  }

  /** `$backend` works anywhere (before any vm it is the backend auto would pick); `$mmu` and `$vcpus` need a vm. */
  builtin(name: string, loc: Loc): SType | undefined {
    if (!isBuiltinVariable(name)) return undefined;
    if (name !== "backend" && !this.#vm) {
      this.error(loc, `$${name} needs a vm: declare one with 'vm NAME { … }' before it`);
    }
    return BUILTIN_VARIABLES[name];
  }

  /** A variable a step assigns: the built-ins cannot be. */
  assignable(variable: Name): void {
    if (isBuiltinVariable(variable.text)) {
      this.error(variable.loc, `$${variable.text} is read-only`);
    }
  }

  /** The value of an expression made of literals only, else undefined. */
  constant(expr: Expr): Value | undefined {
    return this.#types.constant(expr);
  }

  /** Types `expr`, requires an integer, and returns its value when constant. */
  expectInt(expr: Expr, what: string): bigint | undefined {
    return this.#types.expectInt(expr, what);
  }

  /** The static type of `expr`, reporting what is certainly wrong. */
  expr(expr: Expr): SType {
    return this.#types.expr(expr);
  }

  statements(stmts: readonly Stmt[], ctx: Context): void {
    for (const stmt of stmts) {
      if (stmt.kind === "vm") this.vmStmt(stmt, ctx);
      else this.step(stmt, ctx);
    }
  }

  vmStmt(stmt: VmStmt, ctx: Context): void {
    if (ctx.handler || ctx.inExpectError || ctx.inIf) {
      this.error(
        stmt.loc,
        `a vm block cannot appear inside ${
          ctx.handler ? "a handler" : ctx.inExpectError ? "an 'expect error' block" : "an 'if'"
        }`,
      );
    }
    const vm: VmInfo = {
      name: stmt.name.text,
      slots: new Set(),
      devices: new Set(),
      trackers: new Set(),
      hasGuest: false,
    };
    const seen = new Map<string, Loc>();
    let guest: (Decl & { kind: "guest" }) | undefined;
    for (const decl of stmt.decls) {
      if (["backend", "mmu", "vcpus", "system", "guest"].includes(decl.kind)) {
        if (seen.has(decl.kind)) {
          this.error(decl.loc, `'${decl.kind}' declared twice in vm '${vm.name}'`);
        }
        seen.set(decl.kind, decl.loc);
      }
      switch (decl.kind) {
        case "backend":
          this.oneOf(decl.value, BACKEND_CHOICES, "backend");
          break;
        case "mmu":
          this.oneOf(decl.value, MMU_MODES, "mmu");
          break;
        case "vcpus": {
          const n = this.expectInt(decl.count, "vcpus");
          if (n !== undefined && (n < 1n || n > 255n)) {
            this.error(decl.count.loc, `vcpus must be between 1 and 255, not ${n}`);
            // Reported: later checks (a payload's share per vCPU) go on as if it were unknown.
            break;
          }
          vm.vcpus = n;
          break;
        }
        case "system":
          break;
        case "cap":
          this.cap(decl.name, decl.value);
          break;
        case "quirk":
          this.quirk(decl.name, decl.value);
          break;
        case "memslot": {
          const slot = decl.slot;
          this.declareSlot(vm, slot.name);
          this.slotAttributes(slot);
          break;
        }
        case "device": {
          if (decl.deviceKind.text !== "virtio_gpu") {
            this.error(
              decl.deviceKind.loc,
              `unknown device kind '${decl.deviceKind.text}' (known: virtio_gpu)`,
            );
          }
          if (vm.devices.has(decl.name.text) || vm.slots.has(decl.name.text)) {
            this.error(
              decl.name.loc,
              `name '${decl.name.text}' is already used in vm '${vm.name}'`,
            );
          }
          vm.devices.add(decl.name.text);
          if (decl.mmio) this.expectInt(decl.mmio, "mmio");
          else this.error(decl.name.loc, `device '${decl.name.text}' needs 'mmio ADDRESS'`);
          if (decl.via) this.oneOf(decl.via, ["memslot_flag", "kvm_device"], "via");
          if (!decl.shmGpa || !decl.shmSize) {
            this.error(decl.name.loc, `device '${decl.name.text}' needs 'shm gpa A size S'`);
          }
          break;
        }
        case "guest":
          guest = decl;
          vm.hasGuest = true;
          break;
      }
    }
    // Addresses and sizes are typed here, once; the layout rules need their values.
    const layout = declaredLayout(stmt, (e, what) => this.expectInt(e, what));
    const problems = layout.complete
      ? checkLayout(layout.system, layout.regions)
      : layout.regions.flatMap(checkRegion);
    for (const p of problems) this.error(p.loc, p.message);
    if (guest) {
      checkGuest(guest, {
        report: (loc, message) => this.error(loc, message),
        types: this.#types,
        vcpus: vm.vcpus === undefined
          ? (stmt.decls.some((d) => d.kind === "vcpus") ? undefined : 1)
          : Number(vm.vcpus),
        regions: layout.complete ? layout.regions : undefined,
      });
    }
    this.#vm = vm;
  }

  oneOf(name: Name, allowed: readonly string[], what: string): boolean {
    if (allowed.includes(name.text)) return true;
    this.error(name.loc, `unknown ${what} '${name.text}' (expected ${allowed.join(", ")})`);
    return false;
  }

  /** The flags, backing and host page size of a memslot, declared or added as a step. */
  slotAttributes(slot: MemslotDecl): void {
    for (const flag of slot.flags) this.oneOf(flag, MEMSLOT_FLAGS, "memslot flag");
    if (slot.backing) this.oneOf(slot.backing, BACKINGS, "backing");
    if (slot.hugepage) {
      const p = this.expectInt(slot.hugepage, "hugepage");
      // Inside `expect error` a bad size is what the backend is asked to reject (EINVAL).
      if (p !== undefined && !HUGEPAGE_SIZES.includes(p) && !this.#lenient) {
        this.error(slot.hugepage.loc, `hugepage must be 4K, 2M or 1G, not ${slot.hugepage.source}`);
      }
    }
  }

  declareSlot(vm: VmInfo, name: Name): void {
    if (!this.#lenient && (vm.slots.has(name.text) || vm.devices.has(name.text))) {
      this.error(name.loc, `memslot '${name.text}' is declared twice in vm '${vm.name}'`);
    }
    vm.slots.add(name.text);
  }

  cap(name: Name, value: Name): void {
    const values = (CAP_VALUES as Record<string, readonly string[]>)[name.text];
    if (!values) {
      this.error(
        name.loc,
        `unknown capability '${name.text}' (${
          knownOrSuggestion(name.text, Object.keys(CAP_VALUES))
        })`,
      );
      return;
    }
    if (!values.includes(value.text)) {
      this.error(
        value.loc,
        `capability '${name.text}' takes ${values.join(", ")}, not '${value.text}'`,
      );
    }
  }

  quirk(name: Name, value: Name): void {
    this.oneOf(name, QUIRKS, "quirk");
    this.oneOf(value, ["on", "off"], "quirk setting");
  }

  needVm(step: Step, what: string): VmInfo | null {
    if (!this.#vm) {
      this.error(step.loc, `'${what}' needs a vm: declare one with 'vm NAME { … }' before it`);
    }
    return this.#vm;
  }

  knownSlot(vm: VmInfo | null, name: Name): void {
    if (vm && !this.#lenient && !vm.slots.has(name.text)) {
      const known = [...vm.slots];
      this.error(
        name.loc,
        `unknown memslot '${name.text}' (vm '${vm.name}' has ${
          known.length ? known.join(", ") : "none"
        })`,
      );
    }
  }

  step(step: Step, ctx: Context): void {
    const keyword = this.#script.source.slice(step.loc.offset, step.loc.offset + step.loc.length);
    const vm = NEEDS_VM.has(step.kind) ? this.needVm(step, keyword) : this.#vm;
    switch (step.kind) {
      case "run":
        if (ctx.handler) this.error(step.loc, "'run' cannot be used inside a handler");
        if (step.run.vcpu) {
          const n = this.expectInt(step.run.vcpu, "vcpu");
          const count = vm?.vcpus ?? 1n;
          // Without a vm, needVm has said what is wrong.
          if (vm && n !== undefined && (n < 0n || n >= count)) {
            this.error(
              step.run.vcpu.loc,
              `vcpu ${n} does not exist (vm '${vm?.name}' has ${count})`,
            );
          }
        }
        if (vm && !vm.hasGuest) {
          this.error(step.loc, `'run' needs a guest: vm '${vm.name}' declares none`);
        }
        this.#vars.set("exit", "exit");
        break;
      case "on_memory_fault":
      case "on_sync": {
        if (ctx.handler) this.error(step.loc, "a handler cannot be declared inside a handler");
        const variable = step.kind === "on_memory_fault" ? "fault" : "exit";
        const before = this.#vars.get(variable);
        this.#vars.set(variable, "exit");
        this.statements(step.body, {
          ...ctx,
          handler: step.kind === "on_sync" ? "sync" : "memory_fault",
        });
        if (step.kind === "on_memory_fault") {
          if (before === undefined) this.#vars.delete(variable);
          else this.#vars.set(variable, before);
        }
        break;
      }
      case "demand":
        this.oneOf(step.mode, ["uffd"], "demand mode");
        this.knownSlot(vm, step.slot);
        if (step.handlers) this.expectInt(step.handlers, "handlers");
        break;
      case "memslot":
        this.memslotStep(step, vm);
        break;
      case "track":
        this.expectInt(step.gpa, "track gpa");
        if (step.size) this.expectInt(step.size, "track size");
        vm?.trackers.add(step.name.text);
        break;
      case "untrack":
        if (vm && !this.#lenient && !vm.trackers.has(step.name.text)) {
          this.error(
            step.name.loc,
            `unknown tracker '${step.name.text}' (register it with 'track' first)`,
          );
        }
        break;
      case "cap":
        this.cap(step.name, step.value);
        break;
      case "quirk":
        this.quirk(step.name, step.value);
        break;
      case "expect": {
        // What `truthy` accepts at run time; anything else fails there, so say it now.
        const t = this.expr(step.expr);
        if (t !== "bool" && t !== "int" && t !== "unknown") {
          const hint = step.expr.kind === "word" && step.expr.value === "error"
            ? " (to expect an errno: expect error ERRNO { … })"
            : "";
          this.error(
            step.expr.loc,
            `'expect' needs a boolean but '${step.expr.source}' is ${TYPE_NAMES[t]}${hint}`,
          );
        }
        break;
      }
      case "expect_error":
        if (!Object.hasOwn(ERRNO_NUMBERS, step.errno.text)) {
          this.error(
            step.errno.loc,
            `unknown errno '${step.errno.text}' (${
              knownOrSuggestion(step.errno.text, Object.keys(ERRNO_NUMBERS))
            })`,
          );
        }
        if (step.body.length === 0) {
          this.error(step.loc, "'expect error' needs a step in its block");
        }
        {
          const lenient = this.#lenient;
          this.#lenient = true;
          this.statements(step.body, { ...ctx, inExpectError: true });
          this.#lenient = lenient;
        }
        break;
      case "let":
        this.assignable(step.variable);
        this.#vars.set(step.variable.text, this.letValue(step, vm));
        break;
      case "mark":
        break;
      case "stats":
        for (const n of step.names) this.statName(n);
        break;
      case "print":
        for (const e of step.exprs) this.expr(e);
        break;
      case "for": {
        const t = this.expr(step.list);
        if (t !== "list" && t !== "unknown") {
          this.error(step.list.loc, `'for' needs a list, not ${TYPE_NAMES[t]}`);
        }
        const items = step.list.kind === "list" ? step.list.items.map((i) => this.expr(i)) : [];
        const itemType = items.length > 0 && items.every((i) => i === items[0])
          ? items[0]
          : "unknown";
        this.assignable(step.variable);
        this.#vars.set(step.variable.text, itemType);
        this.loopBody(step.body, ctx);
        break;
      }
      case "repeat":
        this.expectInt(step.count, "repeat count");
        this.loopBody(step.body, ctx);
        break;
      case "time":
        this.statements(step.body, ctx);
        this.assignable(step.variable);
        this.#vars.set(step.variable.text, "float");
        break;
      case "if":
        this.ifStep(step, ctx);
        break;
    }
  }

  /**
   * Each branch is checked from the variables known before the `if`; after
   * it, a variable assigned in any branch is known (with its type when every
   * branch that assigns it agrees, else `unknown`).
   */
  ifStep(step: Step & { kind: "if" }, ctx: Context): void {
    const before = new Map(this.#vars);
    const restore = () => {
      this.#vars.clear();
      for (const [k, v] of before) this.#vars.set(k, v);
    };
    const after: Map<string, SType>[] = [];
    for (const branch of step.branches) {
      // Conditions assign nothing, so each is typed in the variables known before the `if`.
      restore();
      const t = this.expr(branch.condition);
      if (t !== "bool" && t !== "unknown") {
        this.error(
          branch.condition.loc,
          `'if' needs a boolean but '${branch.condition.source}' is ${TYPE_NAMES[t]}`,
        );
      }
      this.statements(branch.body, { ...ctx, inIf: true });
      after.push(new Map(this.#vars));
    }
    restore();
    if (step.otherwise) this.statements(step.otherwise, { ...ctx, inIf: true });
    after.push(new Map(this.#vars));
    this.#vars.clear();
    for (const state of after) {
      for (const [k, v] of state) {
        const seen = this.#vars.get(k);
        this.#vars.set(k, seen === undefined || seen === v ? v : "unknown");
      }
    }
  }

  /** A `vm` inside a loop body lives for one iteration: after the loop there is none. */
  loopBody(body: readonly Stmt[], ctx: Context): void {
    this.statements(body, ctx);
    if (body.some((s) => s.kind === "vm")) this.#vm = null;
  }

  memslotStep(step: Step & { kind: "memslot" }, vm: VmInfo | null): void {
    const op = step.op;
    if (op.kind === "add") {
      if (vm) this.declareSlot(vm, step.slot);
      this.slotAttributes(op.slot);
      const gpa = this.expectInt(op.slot.gpa, "memslot gpa");
      const size = this.expectInt(op.slot.size, "memslot size");
      // Inside `expect error` a misaligned or empty slot is what the kernel is asked to reject.
      if (gpa !== undefined && size !== undefined && !this.#lenient) {
        const region = {
          label: `memslot '${step.slot.text}'`,
          gpa,
          size,
          loc: step.slot.loc,
          gpaLoc: op.slot.gpa.loc,
          sizeLoc: op.slot.size.loc,
        };
        for (const p of checkRegion(region)) this.error(p.loc, p.message);
      }
      return;
    }
    this.knownSlot(vm, step.slot);
    switch (op.kind) {
      case "move": {
        const gpa = this.expectInt(op.gpa, "gpa");
        if (gpa !== undefined && gpa % SIZE_4K !== 0n && !this.#lenient) {
          this.error(
            op.gpa.loc,
            `memslot '${step.slot.text}': gpa ${op.gpa.source} is not page aligned (4 KiB)`,
          );
        }
        break;
      }
      case "flags":
        for (const f of [...op.add, ...op.remove]) this.oneOf(f, MEMSLOT_FLAGS, "memslot flag");
        if (op.add.length + op.remove.length === 0) {
          this.error(step.loc, "'memslot … flags' needs at least one +FLAG or -FLAG");
        }
        break;
      case "populate":
        if (op.offset) this.expectInt(op.offset, "offset");
        if (op.size) this.expectInt(op.size, "size");
        break;
      case "write":
        this.expectInt(op.offset, "offset");
        this.expectInt(op.value, "value");
        break;
    }
  }

  statName(name: Name): void {
    if (!STAT_NAMES.has(name.text)) {
      this.error(
        name.loc,
        `unknown stat '${name.text}' (${knownOrSuggestion(name.text, STAT_NAMES)})`,
      );
    }
  }

  letValue(step: Step & { kind: "let" }, vm: VmInfo | null): SType {
    const value = step.value;
    if (value.kind === "expr") return this.expr(value.expr);
    if (!vm) this.needVm(step, `let … = ${value.kind === "slot_read" ? "memslot" : value.kind}`);
    switch (value.kind) {
      case "stat":
        this.statName(value.name);
        if (value.vcpu) this.expectInt(value.vcpu, "vcpu");
        return "int";
      case "memtype":
        this.expectInt(value.gpa, "gpa");
        return "memtype";
      case "slot_read":
        this.knownSlot(vm, value.slot);
        this.expectInt(value.offset, "offset");
        return "int";
      case "dirty_log":
        this.knownSlot(vm, value.slot);
        return "dirty_log";
    }
  }

  run(): Diagnostic[] {
    this.statements(this.#script.body, {});
    return this.diagnostics.sort((a, b) => a.offset - b.offset);
  }
}

/**
 * Checks a parsed script without running anything.
 *
 * @param script the script, from `parseScript`
 * @returns every problem found, in source order (empty when the script is valid)
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { checkScript } from "./check.ts";
 * import { parseScript } from "./parse.ts";
 * const script = parseScript("vm a { memslot ram gpa 0x100000 size 4K }\nmemslot rom delete");
 * assertEquals(checkScript(script).map((d) => d.message), ["unknown memslot 'rom' (vm 'a' has ram)"]);
 * ```
 */
export function checkScript(script: Script): Diagnostic[] {
  return new Checker(script).run();
}
