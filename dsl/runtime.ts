/**
 * Run-time helpers shared by the interpreter's parts: attributing errors to
 * the step that raised them, 64-bit argument checks, and the records
 * (`$exit`, dirty logs) built from backend results.
 *
 * @module
 */
import type { Expr, Loc } from "./ast.ts";
import { ScriptRuntimeError } from "./evaluate.ts";
import { RecordValue, typeName, type Value, Word } from "./values.ts";
import type { VcpuExit } from "../vmm/types.ts";

/** An error, with the script location it happened at. */
export class StepError extends Error {
  readonly loc: Loc;
  constructor(error: unknown, loc: Loc) {
    super(error instanceof Error ? error.message : String(error), { cause: error });
    this.loc = loc;
  }
}

/** Runs `fn`, attributing any error to `loc` unless an inner step already did. */
export async function at<T>(loc: Loc, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof StepError) throw e;
    if (e instanceof ScriptRuntimeError) throw new StepError(e, e.loc);
    throw new StepError(e, loc);
  }
}

/** The error a step raised, without the location wrapper. */
export function rootCause(e: unknown): unknown {
  return e instanceof StepError ? e.cause : e;
}

/** 2^64: the first value a u64 cannot hold. */
export const U64_LIMIT = 1n << 64n;

/** A non-negative integer that fits in 64 bits (addresses, sizes, offsets). */
export function u64(value: Value, expr: Expr, what: string): bigint {
  if (typeof value !== "bigint") {
    throw new ScriptRuntimeError(expr.loc, `${what} must be an integer, not a ${typeName(value)}`);
  }
  if (value < 0n || value >= U64_LIMIT) {
    throw new ScriptRuntimeError(expr.loc, `${what} ${value} is outside 0 .. 2^64-1`);
  }
  return value;
}

/**
 * A value that must be one of `allowed` (a declaration's or step's enum
 * value computed at run time): its text, or a located error.
 */
export function wordValue(
  value: Value,
  expr: Expr,
  allowed: readonly string[],
  what: string,
): string {
  const text = value instanceof Word ? value.text : typeof value === "string" ? value : undefined;
  if (text === undefined) {
    throw new ScriptRuntimeError(
      expr.loc,
      `${what} must be a word (${allowed.join(", ")}), not a ${typeName(value)}`,
    );
  }
  if (!allowed.includes(text)) {
    throw new ScriptRuntimeError(
      expr.loc,
      `unknown ${what} '${text}' (expected ${allowed.join(", ")})`,
    );
  }
  return text;
}

/**
 * A capability's value at run time: a word, or the raw `args[0]` (the
 * backend applies the capability's rules to either: an unknown word or a
 * refused integer is its EINVAL, which `expect error` may be testing).
 */
export function capValue(value: Value, expr: Expr): string | bigint {
  if (value instanceof Word) return value.text;
  if (typeof value === "string") return value;
  if (typeof value === "bigint") return u64(value, expr, "a capability's args[0]");
  throw new ScriptRuntimeError(
    expr.loc,
    `a capability value must be a word or an integer, not a ${typeName(value)}`,
  );
}

/** `$exit` / `$fault`: every field present, 0 / "" / [] where the exit has none. */
export function exitRecord(exit: VcpuExit): RecordValue {
  const get = <K extends string>(key: K): unknown =>
    (exit as unknown as Record<string, unknown>)[key];
  const int = (
    v: unknown,
  ): bigint => (typeof v === "bigint" ? v : typeof v === "number" ? BigInt(v) : 0n);
  const flags = get("flags");
  return new RecordValue(
    "exit",
    new Map<string, Value>([
      ["reason", new Word(exit.reason)],
      ["vcpu", BigInt(exit.vcpu)],
      ["port", int(get("port"))],
      ["gpa", int(get("gpa"))],
      ["len", int(get("len") ?? get("size"))],
      ["flags", Array.isArray(flags) ? flags.map((f: string) => new Word(f)) : []],
      ["label", (get("label") as string | undefined) ?? ""],
      ["value", int(get("value") ?? get("data"))],
      ["message", (get("message") as string | undefined) ?? ""],
      ["rip", int(get("rip"))],
    ]),
  );
}

/** `$d` of `dirty_log`: set bits, first and last page index in the slot (-1 when none). */
export function dirtyRecord(bitmap: Uint8Array): RecordValue {
  let pages = 0n;
  let first = -1n;
  let last = -1n;
  for (let i = 0; i < bitmap.length; i++) {
    const byte = bitmap[i];
    if (byte === 0) continue;
    for (let bit = 0; bit < 8; bit++) {
      if (byte & (1 << bit)) {
        const page = BigInt(i * 8 + bit);
        pages++;
        if (first < 0n) first = page;
        last = page;
      }
    }
  }
  return new RecordValue(
    "dirty_log",
    new Map<string, Value>([["pages", pages], ["first", first], ["last", last]]),
  );
}
