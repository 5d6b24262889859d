/**
 * Payload parameter schemas and their resolution against the VM's memslots.
 *
 * A payload declares each parameter once, in its own module
 * (`guest/payloads/<name>.ts`, `params`): its name, type (which ones name a
 * memslot or a device), default, allowed words and range. The same schema
 * serves the DSL's static checker (`dsl/check_guest.ts`, for what is known
 * before the run) and the boot-image builder at run time
 * ({@linkcode resolveParams}, called once per `loadGuest`); checks that
 * relate several parameters or the memslots stay in the payload's `check`.
 *
 * @module
 */

/** The kinds of payload parameters. */
export type ParamType = "slot" | "size" | "int" | "enum" | "device";

/** One parameter of a payload. */
export interface ParamSpec {
  /** `slot`/`device`: a word naming a memslot/device; `size`/`int`: an integer; `enum`: one of `values`. */
  readonly type: ParamType;
  /** Whether the script must give it. */
  readonly required?: boolean;
  /** The value when absent (absent too: the payload derives it, as its doc says). */
  readonly default?: bigint | string;
  /** The allowed words of an `enum`. */
  readonly values?: readonly string[];
  /** `size`/`int`: the smallest value allowed (message: "must be at least N"). */
  readonly min?: bigint;
  /** `size`/`int`: the value must fit this many bits (message: "does not fit N bits"). */
  readonly bits?: number;
  /** `size`/`int`: the value must be a non-zero multiple of this (a stride). */
  readonly multipleOf?: bigint;
  /** One line for help and error messages. */
  readonly doc: string;
}

/** A payload's parameters by name. */
export type ParamSchema = Readonly<Record<string, ParamSpec>>;

/** A memslot as payload parameters see it. */
export interface SlotRef {
  /** The memslot's name (a device's shm memslot: {@linkcode deviceShmSlot}). */
  readonly name: string;
  /** Its guest-physical base. */
  readonly gpa: bigint;
  /** Its size in bytes. */
  readonly size: bigint;
}

/**
 * The VMM's name for a device's shared-memory memslot: `<device>.shm` (DSL
 * slot names cannot contain a dot, so it never collides with a script's slot).
 *
 * @param device the device name
 * @returns the memslot name
 */
export function deviceShmSlot(device: string): string {
  return `${device}.shm`;
}

/**
 * Where a `device` parameter finds the device's shared-memory memslot:
 * {@linkcode deviceShmSlot}, `<device>_shm`, or `<device>`.
 *
 * @param device the device name
 * @returns the candidate memslot names, most specific first
 */
export function deviceSlotNames(device: string): string[] {
  return [deviceShmSlot(device), `${device}_shm`, device];
}

/** Parameters after defaults and slot lookup; getters throw on misuse (a bug, not user error). */
export class ResolvedParams {
  #values: ReadonlyMap<string, bigint | string | SlotRef>;

  /**
   * Wraps resolved values.
   *
   * @param values by parameter name
   */
  constructor(values: ReadonlyMap<string, bigint | string | SlotRef>) {
    this.#values = values;
  }

  /**
   * Whether a parameter has a value (given or defaulted).
   *
   * @param key the parameter
   * @returns true when present
   */
  has(key: string): boolean {
    return this.#values.has(key);
  }

  /**
   * A `slot` or `device` parameter.
   *
   * @param key the parameter
   * @returns the memslot
   */
  slot(key: string): SlotRef {
    const v = this.#values.get(key);
    if (typeof v !== "object") throw new TypeError(`Cannot read parameter "${key}" as a slot`);
    return v;
  }

  /**
   * A `size` or `int` parameter.
   *
   * @param key the parameter
   * @param fallback the value when absent (else absent is an error)
   * @returns the integer
   */
  int(key: string, fallback?: bigint): bigint {
    const v = this.#values.get(key) ?? fallback;
    if (typeof v !== "bigint") throw new TypeError(`Cannot read parameter "${key}" as an integer`);
    return v;
  }

  /**
   * An `enum` parameter.
   *
   * @param key the parameter
   * @returns the word
   */
  word(key: string): string {
    const v = this.#values.get(key);
    if (typeof v !== "string") throw new TypeError(`Cannot read parameter "${key}" as a word`);
    return v;
  }
}

/** The result of {@linkcode resolveParams}. */
export interface Resolution {
  /** The resolved parameters, when there are no errors and every value was known. */
  params?: ResolvedParams;
  /** Error messages, each naming the payload and the parameter. */
  errors: string[];
}

/**
 * Parameters as the DSL gives them: integers, words (slot names, enums) and
 * strings; `null` for a parameter that is given but whose value is not known
 * yet (the static checker's view of `$var`).
 */
export type GivenParams = Readonly<Record<string, bigint | string | null>>;

/**
 * Checks given parameters against a schema, applies defaults and looks up
 * slot and device names. What is not known (a `null` value, or `null`
 * slots) is skipped: the result then has the errors found in the rest and
 * no parameters.
 *
 * @param payload the payload name (for messages)
 * @param schema the payload's schema
 * @param given the parameters as the DSL gives them
 * @param slots the VM's memslots (for a device, its shm memslot: see
 *   {@linkcode deviceSlotNames}), or null when not known
 * @returns the resolved parameters or the errors
 */
export function resolveParams(
  payload: string,
  schema: ParamSchema,
  given: GivenParams,
  slots: readonly SlotRef[] | null,
): Resolution {
  const errors: string[] = [];
  let complete = true;
  const values = new Map<string, bigint | string | SlotRef>();
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(schema, key)) {
      const known = Object.keys(schema);
      errors.push(
        `${payload}: unknown parameter "${key}"` +
          (known.length ? ` (known: ${known.join(", ")})` : " (it takes none)"),
      );
    }
  }
  for (const [key, spec] of Object.entries(schema)) {
    const raw = Object.hasOwn(given, key) ? given[key] : spec.default;
    if (raw === undefined) {
      if (spec.required) errors.push(`${payload}: parameter "${key}" is required (${spec.doc})`);
      continue;
    }
    const needsSlots = spec.type === "slot" || spec.type === "device";
    if (raw === null || (needsSlots && slots === null && typeof raw === "string")) {
      complete = false;
      continue;
    }
    switch (spec.type) {
      case "slot": {
        if (typeof raw !== "string") {
          errors.push(`${payload}: parameter "${key}" must name a memslot, not ${raw}`);
          break;
        }
        const slot = slots!.find((s) => s.name === raw);
        if (!slot) errors.push(`${payload}: parameter "${key}" names no memslot "${raw}"`);
        else values.set(key, slot);
        break;
      }
      case "device": {
        if (typeof raw !== "string") {
          errors.push(`${payload}: parameter "${key}" must name a device, not ${raw}`);
          break;
        }
        const names = deviceSlotNames(raw);
        const slot = names.map((n) => slots!.find((s) => s.name === n)).find((s) => s);
        if (!slot) {
          errors.push(`${payload}: parameter "${key}" names no device "${raw}" with a shm memslot`);
        } else values.set(key, slot);
        break;
      }
      case "size":
      case "int":
        if (typeof raw !== "bigint") {
          errors.push(`${payload}: parameter "${key}" must be an integer, not "${raw}"`);
        } else if (raw < 0n) {
          errors.push(`${payload}: parameter "${key}" must not be negative (${raw})`);
        } else {
          // Guest code takes parameters as 64-bit immediates, whatever range a payload declares.
          const wrong = rangeProblem(spec, raw) ??
            (raw >= 1n << 64n ? `(${raw}) does not fit in 64 bits` : undefined);
          if (wrong) errors.push(`${payload}: parameter "${key}" ${wrong}`);
          else values.set(key, raw);
        }
        break;
      case "enum":
        if (typeof raw !== "string" || !spec.values?.includes(raw)) {
          errors.push(
            `${payload}: parameter "${key}" must be one of ${spec.values?.join("|")}, not ${
              typeof raw === "string" ? `"${raw}"` : raw
            }`,
          );
        } else values.set(key, raw);
        break;
    }
  }
  if (errors.length || !complete) return { errors };
  return { params: new ResolvedParams(values), errors };
}

/** What is wrong with an integer under a spec's range, as the end of a sentence. */
function rangeProblem(spec: ParamSpec, v: bigint): string | undefined {
  if (spec.multipleOf !== undefined) {
    if (v === 0n) return "must not be 0";
    if (v % spec.multipleOf !== 0n) return `(${v}) is not a multiple of ${spec.multipleOf}`;
  }
  if (spec.min !== undefined && v < spec.min) return `must be at least ${spec.min}`;
  if (spec.bits !== undefined && v >= 1n << BigInt(spec.bits)) {
    return `does not fit ${spec.bits} bits`;
  }
  return undefined;
}

/**
 * A payload's parameters do not fit the VM (wrong type, unknown name, out of
 * range, a memslot that does not exist): every problem, each naming the
 * payload and the parameter.
 */
export class PayloadParamError extends RangeError {
  /** Each problem, as a sentence naming the payload and the parameter. */
  readonly problems: readonly string[];

  /**
   * Collects the problems.
   *
   * @param problems the problems (the message joins them with "; ")
   */
  constructor(problems: readonly string[]) {
    super(problems.join("; "));
    this.name = "PayloadParamError";
    this.problems = problems;
  }
}
