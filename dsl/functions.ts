/**
 * The script's functions, one row each: how many arguments, the static type
 * of a call (reporting certain mistakes), and its evaluation. Adding a
 * function is one row of {@linkcode FUNCTIONS}.
 *
 * @module
 */
import type { Expr, Loc, Name } from "./ast.ts";
import { type SType, TYPE_NAMES } from "./check_expr.ts";
import { CAP_VALUES, knownOrSuggestion, STAT_NAMES } from "./names.ts";
import { formatHex, typeName, type Value, Word } from "./values.ts";

/** What functions that read the backend need from the interpreter. */
export interface FunctionHost {
  /** A stat of the current VM (all vCPUs, or one). */
  stat(name: Name, vcpu?: number): bigint;
  /** Whether the current VM's backend offers a capability. */
  hasCap(name: Name): boolean;
}

/** A call as the functions see it. */
export interface Call {
  /** The whole call. */
  loc: Loc;
  /** Its arguments. */
  args: readonly Expr[];
}

/** Static typing of a call's arguments: their types, and where a problem goes. */
export interface CallTyping {
  /** The arguments' static types. */
  types: readonly SType[];
  /** Reports a problem at a location. */
  report(loc: Loc, message: string): void;
}

/** A run-time error of a call (the evaluator makes it a located script error). */
export class CallError extends Error {
  /** Where in the script. */
  readonly loc: Loc;
  /**
   * @param loc where in the script
   * @param message what went wrong
   */
  constructor(loc: Loc, message: string) {
    super(message);
    this.loc = loc;
    this.name = "CallError";
  }
}

/** One function. */
export interface FunctionDef {
  /** Fewest and most arguments. */
  arity: readonly [number, number];
  /** How it is written in messages (`range(N)`, …). */
  usage: string;
  /** What it gives, for the docs' function table (markdown). */
  doc: string;
  /** It reads the backend: never a constant, needs a {@linkcode FunctionHost}. */
  dynamic?: true;
  /** Its static type, reporting what is certainly wrong with the arguments. */
  type(call: Call, t: CallTyping): SType;
  /** Its value. */
  evaluate(args: readonly Value[], call: Call, host: FunctionHost | undefined): Value;
}

function needs(call: Call, t: CallTyping, fn: string, allowed: readonly SType[], what: string) {
  call.args.forEach((arg, i) => {
    const ty = t.types[i];
    if (ty !== "unknown" && !allowed.includes(ty)) {
      t.report(arg.loc, `'${fn}' needs ${what} but '${arg.source}' is ${TYPE_NAMES[ty]}`);
    }
  });
}

function int(value: Value, arg: Expr, fn: string): bigint {
  if (typeof value === "bigint") return value;
  throw new CallError(
    arg.loc,
    `${fn}() needs integers but '${arg.source}' is a ${typeName(value)}`,
  );
}

function number(value: Value, arg: Expr, fn: string): bigint | number {
  if (typeof value === "bigint" || typeof value === "number") return value;
  throw new CallError(arg.loc, `${fn}() needs numbers but '${arg.source}' is a ${typeName(value)}`);
}

/** The name a `stat(…)`/`has_cap(…)` argument gives: a bare word or a string. */
function nameOf(value: Value, arg: Expr, fn: string): Name {
  if (value instanceof Word) return { text: value.text, loc: arg.loc };
  if (typeof value === "string") return { text: value, loc: arg.loc };
  throw new CallError(arg.loc, `${fn}() needs a name but '${arg.source}' is a ${typeName(value)}`);
}

/** Statically known names are checked against the registry. */
function knownName(call: Call, t: CallTyping, known: Iterable<string>, what: string): void {
  const arg = call.args[0];
  if (arg?.kind !== "word" && arg?.kind !== "string") {
    needs({ ...call, args: call.args.slice(0, 1) }, t, "", ["word", "string"], "a name");
    return;
  }
  const names = [...known];
  if (!names.includes(arg.value)) {
    t.report(arg.loc, `unknown ${what} '${arg.value}' (${knownOrSuggestion(arg.value, names)})`);
  }
}

/** The most items `range()` makes (a list is held in memory). */
export const MAX_RANGE = 1 << 20;

function extreme(fn: "min" | "max", args: readonly Value[], call: Call): Value {
  const [items, exprs] = args.length === 1 && Array.isArray(args[0])
    ? [args[0], args[0].map(() => call.args[0])]
    : [args, call.args];
  if (items.length === 0) throw new CallError(call.loc, `${fn}() of an empty list`);
  let best = number(items[0], exprs[0], fn);
  for (let i = 1; i < items.length; i++) {
    const v = number(items[i], exprs[i], fn);
    if (fn === "min" ? v < best : v > best) best = v;
  }
  return best;
}

function extremeType(fn: string) {
  return (call: Call, t: CallTyping): SType => {
    if (call.args.length === 1 && (t.types[0] === "list" || t.types[0] === "unknown")) {
      return "unknown";
    }
    needs(call, t, fn, ["int", "float"], "numbers (or one list)");
    if (t.types.includes("unknown")) return "unknown";
    return t.types.every((ty) => ty === "int") ? "int" : "unknown";
  };
}

/** Every function by name. */
export const FUNCTIONS: Readonly<Record<string, FunctionDef>> = {
  hex: {
    arity: [1, 1],
    usage: "hex(X)",
    doc:
      "`0x…` in lower case (a negative value in the signed 64-bit range as its two's complement)",
    type(call, t) {
      needs(call, t, "hex", ["int"], "integers");
      return "string";
    },
    evaluate: ([x], call) => formatHex(int(x, call.args[0], "hex")),
  },
  range: {
    arity: [1, 3],
    usage: "range(N) or range(A, B[, STEP])",
    doc:
      "the list A, A+STEP, … before B (A = 0 and STEP = 1 by default, as in Python; STEP may be negative, not 0; at most 2^20 items)",
    type(call, t) {
      needs(call, t, "range", ["int"], "integers");
      const step = call.args[2];
      if (step?.kind === "int" && step.value === 0n) {
        t.report(step.loc, "range() step must not be 0");
      }
      return "list";
    },
    evaluate(args, call) {
      const n = args.map((a, i) => int(a, call.args[i], "range"));
      const [start, end, step] = n.length === 1 ? [0n, n[0], 1n] : [n[0], n[1], n[2] ?? 1n];
      if (step === 0n) throw new CallError(call.args[2].loc, "range() step must not be 0");
      const count = step > 0n
        ? (end > start ? (end - start + step - 1n) / step : 0n)
        : (start > end ? (start - end - step - 1n) / -step : 0n);
      if (count > BigInt(MAX_RANGE)) {
        throw new CallError(call.loc, `range() of ${count} items: at most ${MAX_RANGE}`);
      }
      return Array.from({ length: Number(count) }, (_, i) => start + BigInt(i) * step);
    },
  },
  len: {
    arity: [1, 1],
    usage: "len(L)",
    doc: "items of a list, characters of a string",
    type(call, t) {
      needs(call, t, "len", ["list", "string"], "a list or a string");
      return "int";
    },
    evaluate([x], call) {
      if (Array.isArray(x) || typeof x === "string") return BigInt(x.length);
      throw new CallError(
        call.args[0].loc,
        `len() needs a list or a string but '${call.args[0].source}' is a ${typeName(x)}`,
      );
    },
  },
  min: {
    arity: [1, Infinity],
    usage: "min(A, B, …) or min(L)",
    doc: "the least number; one list argument: the least of its items (an empty list is an error)",
    type: extremeType("min"),
    evaluate: (args, call) => extreme("min", args, call),
  },
  max: {
    arity: [1, Infinity],
    usage: "max(A, B, …) or max(L)",
    doc:
      "the greatest number; one list argument: the greatest of its items (an empty list is an error)",
    type: extremeType("max"),
    evaluate: (args, call) => extreme("max", args, call),
  },
  round: {
    arity: [1, 2],
    usage: "round(X[, DIGITS])",
    doc:
      "the nearest integer (halves round up); with DIGITS (0–100), a float with at most that many decimals",
    type(call, t) {
      needs({ ...call, args: call.args.slice(0, 1) }, t, "round", ["int", "float"], "a number");
      needs(
        { ...call, args: call.args.slice(1) },
        {
          ...t,
          types: t.types.slice(1),
        },
        "round",
        ["int"],
        "an integer number of digits",
      );
      if (call.args.length === 2) return t.types[0] === "unknown" ? "unknown" : t.types[0];
      return "int";
    },
    evaluate(args, call) {
      const x = number(args[0], call.args[0], "round");
      if (args.length === 1) {
        if (typeof x === "bigint") return x;
        if (!Number.isFinite(x)) throw new CallError(call.args[0].loc, `round() of ${x}`);
        return BigInt(Math.round(x));
      }
      const digits = int(args[1], call.args[1], "round");
      if (typeof x === "bigint") return x;
      if (digits < 0n || digits > 100n) {
        throw new CallError(call.args[1].loc, `round() digits must be 0 .. 100, not ${digits}`);
      }
      return Number(x.toFixed(Number(digits)));
    },
  },
  stat: {
    arity: [1, 2],
    usage: "stat(NAME[, VCPU])",
    doc:
      "a stat of the current VM, absolute (the sum over vCPUs, or vCPU VCPU), as `let $x = stat NAME [vcpu N]`; needs a vm",
    dynamic: true,
    type(call, t) {
      knownName(call, t, STAT_NAMES, "stat");
      if (call.args.length === 2) {
        needs(
          { ...call, args: call.args.slice(1) },
          {
            ...t,
            types: t.types.slice(1),
          },
          "stat",
          ["int"],
          "a vCPU index",
        );
      }
      return "int";
    },
    evaluate(args, call, host) {
      const name = nameOf(args[0], call.args[0], "stat");
      const vcpu = args.length === 2 ? int(args[1], call.args[1], "stat") : undefined;
      if (vcpu !== undefined && (vcpu < 0n || vcpu > 4096n)) {
        throw new CallError(call.args[1].loc, `stat() vCPU ${vcpu} does not exist`);
      }
      return backend(host, call).stat(name, vcpu === undefined ? undefined : Number(vcpu));
    },
  },
  has_cap: {
    arity: [1, 1],
    usage: "has_cap(NAME)",
    doc:
      "whether the current VM's backend offers the capability (needs a vm): kvm probes its mainline mechanism with `KVM_CHECK_EXTENSION` and never enables it (false for a proposal mainline never merged and for behaviour the host fixes); the emulator offers every capability it models",
    dynamic: true,
    type(call, t) {
      knownName(call, t, Object.keys(CAP_VALUES), "capability");
      return "bool";
    },
    evaluate: (args, call, host) =>
      backend(host, call).hasCap(nameOf(args[0], call.args[0], "has_cap")),
  },
};

function backend(host: FunctionHost | undefined, call: Call): FunctionHost {
  if (!host) throw new CallError(call.loc, "this function needs a vm: there is none here");
  return host;
}

/** The function named `fn`, or a located error naming the known ones. */
export function functionOf(fn: Name): FunctionDef | string {
  if (Object.hasOwn(FUNCTIONS, fn.text)) return FUNCTIONS[fn.text];
  return `unknown function '${fn.text}' (${knownOrSuggestion(fn.text, Object.keys(FUNCTIONS))})`;
}

/** The arity error of a call, if any. */
export function arityError(def: FunctionDef, fn: Name, count: number): string | undefined {
  const [min, max] = def.arity;
  if (count >= min && count <= max) return undefined;
  return `${fn.text}() takes ${
    min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`
  } argument${(max === Infinity ? min : max) === 1 ? "" : "s"}, not ${count} (${def.usage})`;
}
