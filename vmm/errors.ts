/**
 * Errors shared by both backends. Each carries what a user needs to act:
 * the failing operation, the errno name, and a hint, and a
 * {@linkcode VmmError.kind} that tells a bad request from a failing backend
 * (the CLI maps kinds to exit codes); `expect error ERRNO { … }` in a script
 * matches {@linkcode ErrnoError.errno}.
 *
 * @module
 */

/** errno names by number (x86-64 Linux), for the ones KVM and libc return. */
export const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  7: "E2BIG",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  22: "EINVAL",
  24: "EMFILE",
  25: "ENOTTY",
  28: "ENOSPC",
  34: "ERANGE",
  38: "ENOSYS",
  95: "EOPNOTSUPP",
  133: "EHWPOISON",
};

/** errno numbers by name (inverse of {@linkcode ERRNO_NAMES}). */
export const ERRNO_NUMBERS: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(ERRNO_NAMES).map(([n, name]) => [name, Number(n)]),
);

/** The name of an errno value, or `E<number>` when unknown. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `E${errno}`;
}

/**
 * What an error means for the one who asked: `invalid` the request itself
 * is wrong (an unknown value; nothing the backend could do), `backend` the
 * backend or the guest failed.
 */
export type ErrorKind = "invalid" | "backend";

/** Base class of every error the VMM raises on purpose. */
export class VmmError extends Error {
  /** Whether the request was invalid or the backend failed. */
  readonly kind: ErrorKind;
  /**
   * Creates the instance.
   *
   * @param message the whole message
   * @param options the kind (default `backend`) and the underlying error
   */
  constructor(message: string, options?: { kind?: ErrorKind; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.name = "VmmError";
    this.kind = options?.kind ?? "backend";
  }
}

/**
 * A (real or modelled) ioctl or syscall failed with an errno.
 *
 * @example
 * ```ts
 * import { ErrnoError } from "./errors.ts";
 * const e = new ErrnoError("KVM_SET_USER_MEMORY_REGION", 17, "the new range overlaps slot ram");
 * console.assert(e.errno === "EEXIST");
 * ```
 */
export class ErrnoError extends VmmError {
  /** The operation: an ioctl name such as `KVM_SET_USER_MEMORY_REGION`, or a syscall. */
  readonly operation: string;
  /** errno name, e.g. `EINVAL`. */
  readonly errno: string;
  /** errno number. */
  readonly errnoValue: number;
  /** The likely cause, in words. */
  readonly hint: string;
  /**
   * Creates the instance.
   *
   * @param operation the ioctl or syscall name
   * @param errnoValue the errno number (its name comes from {@linkcode errnoName})
   * @param hint the likely cause, in words (empty when unknown)
   * @param options the underlying error
   */
  constructor(operation: string, errnoValue: number, hint = "", options?: { cause?: unknown }) {
    const name = errnoName(errnoValue);
    super(`${operation} failed: ${name}${hint ? ` (${hint})` : ""}`, options);
    this.name = "ErrnoError";
    this.operation = operation;
    this.errno = name;
    this.errnoValue = errnoValue;
    this.hint = hint;
  }
}

/** The requested backend cannot be used here (e.g. `/dev/kvm` does not open). */
export class BackendUnavailableError extends VmmError {
  /**
   * Creates the instance.
   *
   * @param message why, naming the backend
   * @param options the underlying error
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BackendUnavailableError";
  }
}

/** A feature, step or stat that the current backend cannot provide. */
export class UnsupportedError extends VmmError {
  /**
   * Creates the instance.
   *
   * @param message what is unsupported, naming the backend
   */
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedError";
  }
}

/** A guest never reached the run condition before the watchdog fired. */
export class WatchdogError extends VmmError {
  /** The vCPU still running. */
  readonly vcpu: number;
  /** Where it was when the watchdog fired. */
  readonly rip: bigint;
  /**
   * Creates the instance.
   *
   * @param vcpu the vCPU still running
   * @param rip where it was
   * @param ms the watchdog's bound
   */
  constructor(vcpu: number, rip: bigint, ms: number) {
    super(
      `watchdog: vCPU ${vcpu} still running after ${ms / 1000} s at RIP 0x${
        rip.toString(16)
      } (add \`timeout\` to \`run\` for a deliberately bounded run)`,
    );
    this.name = "WatchdogError";
    this.vcpu = vcpu;
    this.rip = rip;
  }
}

/** The guest did something the backend cannot continue from (emulator: an unsupported instruction). */
export class GuestError extends VmmError {
  /** The vCPU that failed. */
  readonly vcpu: number;
  /** Where it failed (0 when the exit does not say). */
  readonly rip: bigint;
  /**
   * Creates the instance.
   *
   * @param vcpu the vCPU that failed
   * @param rip where (0 when unknown)
   * @param message what happened
   */
  constructor(vcpu: number, rip: bigint, message: string) {
    super(`vCPU ${vcpu} at RIP 0x${rip.toString(16)}: ${message}`);
    this.name = "GuestError";
    this.vcpu = vcpu;
    this.rip = rip;
  }
}

/** The kind of any thrown value: a VmmError's own, else `backend` (whatever broke, broke below the script). */
export function errorKindOf(err: unknown): ErrorKind {
  return err instanceof VmmError ? err.kind : "backend";
}
