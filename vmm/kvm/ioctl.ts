/**
 * The one ioctl call site of the control path: logs the call, runs it, and
 * turns a failure into an {@linkcode ErrnoError} naming the ioctl and the
 * likely cause. (KVM_RUN has its own allocation-free path in `vcpu_fd.ts`.)
 *
 * @module
 */
import { ErrnoError, errnoName } from "../errors.ts";
import { errno, libc } from "./libc.ts";
import { ENABLE_CAP, IOCTL, type IoctlName, SIZEOF } from "./uapi.ts";

/** One logged ioctl: its name and the arguments that matter (cap numbers, slot ids, GPAs). */
export interface IoctlLogEntry {
  /** The ioctl. */
  name: IoctlName;
  /** Its arguments that matter, in the order the call site logs them. */
  args: readonly (number | bigint)[];
}

/** errno name → hint for one ioctl. */
export type ErrnoHints = Readonly<Partial<Record<string, string>>>;

/** Hints that apply to any ioctl. */
const GENERIC_HINTS: ErrnoHints = {
  EBADF: "the file descriptor is closed (was the VM closed?)",
  ENOTTY: "this kernel does not know the ioctl",
  ENOMEM: "the kernel could not allocate memory",
  EFAULT: "the kernel could not access the argument or guest memory",
};

/**
 * The arguments of one ioctl call.
 */
export interface IoctlCall {
  /** Where the call is recorded (the VM's `ioctlLog`). */
  log?: IoctlLogEntry[];
  /** The values recorded in the log. */
  logArgs?: readonly (number | bigint)[];
  /** Hints by errno name for this call. */
  hints?: ErrnoHints;
}

/**
 * Issue `ioctl(fd, IOCTL[name], arg)`.
 *
 * @param fd the file descriptor
 * @param name the ioctl's name (looked up in `IOCTL`)
 * @param arg a struct (typed array), an integer, or nothing
 * @param call logging and error hints
 * @returns the non-negative result
 * @throws {ErrnoError} when the ioctl returns -1
 */
export function kvmIoctl(
  fd: number,
  name: IoctlName,
  arg: Uint8Array<ArrayBuffer> | number | bigint | undefined,
  call: IoctlCall = {},
): number {
  call.log?.push({ name, args: call.logArgs ?? [] });
  return checkedIoctl(fd, name, IOCTL[name], arg, call.hints);
}

/**
 * Issue `ioctl(fd, request, arg)` for any ioctl family (KVM's, userfaultfd's)
 * and turn a failure into an {@linkcode ErrnoError} whose hint is the call's
 * own for that errno, else the generic one.
 *
 * @param fd the file descriptor
 * @param name the ioctl's name, for the error
 * @param request the ioctl number
 * @param arg a struct (typed array), an integer, or nothing
 * @param hints hints by errno name for this call
 * @returns the non-negative result
 * @throws {ErrnoError} when the ioctl returns -1
 */
export function checkedIoctl(
  fd: number,
  name: string,
  request: number,
  arg: Uint8Array<ArrayBuffer> | number | bigint | undefined,
  hints?: ErrnoHints,
): number {
  const c = libc();
  const req = BigInt(request);
  const r = arg instanceof Uint8Array
    ? c.ioctl_buf(fd, req, arg)
    : c.ioctl_int(fd, req, BigInt(arg ?? 0));
  if (r < 0) {
    const e = errno();
    const n = errnoName(e);
    throw new ErrnoError(name, e, hints?.[n] ?? GENERIC_HINTS[n] ?? "");
  }
  return r;
}

/**
 * KVM_ENABLE_CAP on a VM or vCPU fd (the same struct on both).
 *
 * @param fd the VM or vCPU fd
 * @param cap a mainline capability number
 * @param arg0 `args[0]`
 * @param call logging and error hints
 */
export function enableCap(fd: number, cap: number, arg0: bigint, call: IoctlCall = {}): void {
  const buf = new Uint8Array(SIZEOF.kvm_enable_cap);
  const dv = new DataView(buf.buffer);
  dv.setUint32(ENABLE_CAP.cap, cap, true);
  dv.setBigUint64(ENABLE_CAP.args, arg0, true);
  kvmIoctl(fd, "KVM_ENABLE_CAP", buf, {
    log: call.log,
    logArgs: [cap, arg0],
    hints: { EINVAL: "the capability or its argument is not supported here", ...call.hints },
  });
}

/** Close an fd, ignoring errors (used on cleanup paths). */
export function closeFd(fd: number): void {
  if (fd >= 0) libc().close(fd);
}
