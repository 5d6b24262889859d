/**
 * Run-time values of the script language and how they print and compare.
 * Integers are exact `bigint`s (64-bit addresses never lose bits); floats
 * (from `time` and division by a float) are `number`s; enum words keep
 * their identity as {@linkcode Word} so they print bare and compare equal to
 * strings of the same text.
 *
 * @module
 */

/** An enum word (`done`, `on`, `WB`): prints as is, equals a string or word of the same text. */
export class Word {
  /** The word's text. */
  readonly text: string;
  /**
   * Creates the instance.
   *
   * @param text the word as written
   */
  constructor(text: string) {
    this.text = text;
  }
}

/** A record such as `$exit`, `$d` (dirty log) or `$t` (memtype); fields by name. */
export class RecordValue {
  /** What the record describes (`exit`, `dirty_log`, `memtype`), for messages. */
  readonly kind: string;
  /** The fields, in display order. */
  readonly fields: ReadonlyMap<string, Value>;
  /**
   * Creates the instance.
   *
   * @param kind what the record describes
   * @param fields the fields, in display order
   */
  constructor(kind: string, fields: ReadonlyMap<string, Value>) {
    this.kind = kind;
    this.fields = fields;
  }
}

/**
 * The integer limit: literals and results are exact below 2^4096 in
 * magnitude (64-bit work never comes near; the bound keeps a runaway
 * `<<` or `*` from exhausting memory).
 */
export const MAX_INT_BITS = 4096;

const INT_LIMIT = 1n << BigInt(MAX_INT_BITS);

/** Whether an integer is beyond {@linkcode MAX_INT_BITS}. */
export function exceedsIntLimit(value: bigint): boolean {
  return value >= INT_LIMIT || value <= -INT_LIMIT;
}

/** Any value a variable can hold. */
export type Value = bigint | number | string | boolean | Word | RecordValue | Value[];

/** The name of a value's type, for error messages. */
export function typeName(value: Value): string {
  if (typeof value === "bigint") return "integer";
  if (typeof value === "number") return "float";
  if (typeof value === "string") return "string";
  if (typeof value === "boolean") return "boolean";
  if (value instanceof Word) return "word";
  if (value instanceof RecordValue) return `${value.kind} record`;
  return "list";
}

/** Formats a float with up to 6 significant digits (`0.5`, `1234.57`, `1.5e-7`). */
function formatFloat(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return String(Number(x.toPrecision(6)));
}

/**
 * `hex(x)`: `0x…` in lower case. A negative integer in the signed 64-bit
 * range prints as its two's complement (`hex(~0)` is `0xffffffffffffffff`),
 * as a KVM developer reads masks.
 */
export function formatHex(x: bigint): string {
  if (x < 0n && x >= -(1n << 63n)) return `0x${BigInt.asUintN(64, x).toString(16)}`;
  return x < 0n ? `-0x${(-x).toString(16)}` : `0x${x.toString(16)}`;
}

/**
 * How `print` writes a value: integers in decimal, floats with up to 6
 * significant digits, strings and words as they are.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { formatValue, Word } from "./values.ts";
 * assertEquals(formatValue(18446744073709551616n), "18446744073709551616");
 * assertEquals(formatValue(2 / 3), "0.666667");
 * assertEquals(formatValue([1n, new Word("done")]), "[1, done]");
 * ```
 */
export function formatValue(value: Value): string {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return formatFloat(value);
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return String(value);
  if (value instanceof Word) return value.text;
  if (value instanceof RecordValue) {
    const parts = [...value.fields].map(([k, v]) => `${k}: ${formatNested(v)}`);
    return `{${parts.join(", ")}}`;
  }
  return `[${value.map(formatNested).join(", ")}]`;
}

/** Inside lists and records strings are quoted, so `["a b"]` stays readable. */
export function formatNested(value: Value): string {
  return typeof value === "string" ? JSON.stringify(value) : formatValue(value);
}

/** The text of a string or word, else undefined. */
function textOf(value: Value): string | undefined {
  if (typeof value === "string") return value;
  if (value instanceof Word) return value.text;
  return undefined;
}

/**
 * `==`: integers and floats compare numerically, words equal strings of the
 * same text, lists and records compare element-wise.
 */
export function valuesEqual(a: Value, b: Value): boolean {
  const ta = textOf(a);
  const tb = textOf(b);
  if (ta !== undefined || tb !== undefined) return ta === tb;
  if (typeof a === "bigint" || typeof a === "number") {
    // Loose equality compares a bigint and a number by mathematical value.
    // deno-lint-ignore eqeqeq
    return (typeof b === "bigint" || typeof b === "number") && a == b;
  }
  if (typeof a === "boolean" || typeof b === "boolean") return a === b;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => valuesEqual(x, b[i]));
  }
  if (a instanceof RecordValue && b instanceof RecordValue) {
    if (a.fields.size !== b.fields.size) return false;
    for (const [k, v] of a.fields) {
      const w = b.fields.get(k);
      if (w === undefined || !valuesEqual(v, w)) return false;
    }
    return true;
  }
  return false;
}

/** A value as JSON can carry it: integers as numbers when exact, else decimal strings. */
export function toJsonValue(value: Value): unknown {
  if (typeof value === "bigint") {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (value instanceof Word) return value.text;
  if (value instanceof RecordValue) {
    return Object.fromEntries([...value.fields].map(([k, v]) => [k, toJsonValue(v)]));
  }
  if (Array.isArray(value)) return value.map(toJsonValue);
  return value;
}
