/**
 * The last guard of error reporting: an error raised by the JavaScript engine
 * itself (a stack overflow, a BigInt too large, a property of `undefined`)
 * is a bug of the VMM, never the script's fault, and its wording means
 * nothing to a user. Such errors are reworded as internal errors of the VMM;
 * errors the VMM raises on purpose keep their message.
 *
 * @module
 */

/** V8's wording of the errors it raises itself (the project's own errors never use these). */
const ENGINE_WORDING: readonly RegExp[] = [
  /^Maximum call stack size exceeded/,
  /^Maximum BigInt size exceeded/,
  /^Cannot convert .* to a BigInt/,
  /^Cannot mix BigInt and other types/,
  /^Division by zero$/,
  /cannot be converted to a BigInt because it is not an integer/,
  /^Cannot (read|set) propert(y|ies) of (undefined|null)/,
  /is not (a function|a constructor|iterable|defined)/,
  /^Invalid (array|typed array|string) length/,
  /^Array buffer allocation failed/,
  /^Cannot access '.*' before initialization/,
  /out of memory/i,
];

/** JavaScript's own error classes, by name: a message a user sees never names one. */
const ENGINE_CLASSES = /\b(TypeError|RangeError|ReferenceError|EvalError|URIError|InternalError)\b/;

/**
 * Whether a text a user would see carries the engine's wording or names one
 * of its error classes (what the fuzzer calls a JavaScript error leaking out).
 *
 * @param text a message or a formatted diagnostic
 * @returns true when it reads like an engine error
 */
export function hasEngineWording(text: string): boolean {
  return ENGINE_CLASSES.test(text) ||
    text.split("\n").map((line) => line.replace(/^.*?: error: /, "")).some((line) =>
      ENGINE_WORDING.some((re) => re.test(line))
    );
}

/**
 * Whether `error` was raised by the JavaScript engine rather than by the VMM.
 *
 * @param error anything thrown
 * @returns true for engine errors (and for the error classes only the engine uses)
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isEngineError } from "./internal_error.ts";
 * assert(isEngineError(new RangeError("Maximum call stack size exceeded")));
 * assert(!isEngineError(new RangeError("vCPU 4097 does not exist (the VM has 1)")));
 * ```
 */
export function isEngineError(error: unknown): boolean {
  if (error instanceof ReferenceError || error instanceof EvalError) return true;
  if (error instanceof URIError) return true;
  if (!(error instanceof Error)) return false;
  return ENGINE_WORDING.some((re) => re.test(error.message));
}

/**
 * The user-facing message of an error: its own, or for an engine error a
 * statement that the VMM failed (the engine's text stays in `stack` for `--debug`).
 *
 * @param error anything thrown
 * @param stage what the VMM was doing (`parsing the script`, `running this step`)
 * @returns one sentence without location
 */
export function userMessage(error: unknown, stage: string): string {
  if (isEngineError(error)) {
    return `internal error of the VMM while ${stage} (please report it; --debug shows the stack)`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** An engine error, reworded by {@linkcode userMessage}; the original is its `cause`. */
export class VmmInternalError extends Error {
  /**
   * Rewords an engine error.
   *
   * @param error the engine error
   * @param stage what the VMM was doing
   */
  constructor(error: unknown, stage: string) {
    super(userMessage(error, stage), { cause: error });
    this.name = "VmmInternalError";
    if (error instanceof Error && error.stack) this.stack = `${this.name}: ${error.stack}`;
  }
}
