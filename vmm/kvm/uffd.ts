/**
 * `demand uffd`: serving a memslot's missing pages through userfaultfd.
 *
 * A {@linkcode UffdPager} registers the slot's whole host mapping with one
 * userfaultfd in MISSING mode and starts N handler Workers
 * (`uffd_worker.ts`, sharing `uffd_protocol.ts` with this module). Each
 * handler has its own libc handle and loops on poll(2) with a short timeout,
 * read(2) of `uffd_msg`s and UFFDIO_COPY of a zero page (or the slot's
 * source bytes). The handlers never need the main
 * thread's event loop: a 1-vCPU VM blocks the main thread in a synchronous
 * KVM_RUN while the vCPU waits for its page, so everything the handlers
 * need (fd, addresses, SharedArrayBuffers) is handed over before
 * {@linkcode UffdPager.start} returns, and the main thread waits (Atomics)
 * until every handler is polling.
 *
 * With `minor`, the slot's shared memory (a memfd) is registered in MINOR
 * mode instead, as `demand_paging_test -u MINOR -s shmem` does: every page is
 * put in the memfd's page cache first through a second mapping, the slot's
 * own page-table entries are dropped, and a handler answers each first touch
 * with UFFDIO_CONTINUE (map the page that is already there): the
 * configuration of the memory-fault series' reference table.
 *
 * This is the path that the memory-fault-exit proposals
 * (KVM_CAP_MEMORY_FAULT_NOWAIT) want to bypass: every first touch sleeps in
 * the kernel until a userspace thread answers.
 *
 * @module
 */
import type { Availability } from "../backend.ts";
import { ERRNO_NUMBERS, ErrnoError, errnoName, UnsupportedError, VmmError } from "../errors.ts";
import { checkedIoctl, closeFd, type ErrnoHints } from "./ioctl.ts";
import { addressOf, cString, errno, isMapFailed, libc } from "./libc.ts";
import {
  MADV_DONTNEED,
  MADV_POPULATE_WRITE,
  MAP_SHARED,
  O_RDWR,
  PROT_READ,
  PROT_WRITE,
  SYS_USERFAULTFD,
  UFFD_API,
  UFFD_FEATURE_MINOR_SHMEM,
  UFFD_OPEN_FLAGS,
  UFFD_SIZEOF,
  UFFDIO,
  UFFDIO_API_OFF,
  UFFDIO_CONTINUE_OFF,
  UFFDIO_COPY_OFF,
  UFFDIO_IOCTL_BIT_CONTINUE,
  UFFDIO_IOCTL_BIT_COPY,
  UFFDIO_REGISTER_MODE_MINOR,
  UFFDIO_REGISTER_MODE_MISSING,
  UFFDIO_REGISTER_OFF,
  type UffdioName,
  USERFAULTFD_DEV,
} from "./uapi.ts";
import { CTL, HANDLER_OPS, UFFD_PAGE, type UffdWorkerInit } from "./uffd_protocol.ts";

/** errno values `populate` and `openUserfaultfd` act on. */
const { EAGAIN, EEXIST, EINTR, ENOSYS, EPERM } = ERRNO_NUMBERS;

/** What a handler's poll timeout is: the latency of `close()`, and 100 idle wake-ups/s. */
const POLL_MS = 10;
/**
 * Busy-read time after each message (see `uffd_worker.ts`). 0: back to
 * poll(2) at once, which measured best on this project's nested 2-CPU host
 * (30 µs/fault against 40-60 µs with 20-500 µs of spinning: the spinning
 * handler competes with the vCPU thread). `VMM_UFFD_SPIN_US` overrides it
 * for hosts with spare cores.
 */
const SPIN_US = 0;
const SPIN_ENV = "VMM_UFFD_SPIN_US";

function spinMs(): number {
  let us = SPIN_US;
  // Query first: a bare Deno.env.get would prompt for permission on a terminal.
  if (Deno.permissions.querySync({ name: "env", variable: SPIN_ENV }).state === "granted") {
    const v = Number(Deno.env.get(SPIN_ENV) ?? NaN);
    if (Number.isFinite(v) && v >= 0) us = v;
  }
  return us / 1000;
}
/** How long `start` waits for the handlers to be polling. */
const READY_TIMEOUT_MS = 15_000;
/** How long `close` waits for the handlers to leave their loop before terminating them. */
const EXIT_TIMEOUT_MS = 2_000;
/** Largest UFFDIO_COPY of `populate` (one zero source buffer of this size, per process). */
const POPULATE_CHUNK = 1 << 20;

const UFFD_HINTS: ErrnoHints = {
  EPERM:
    "userfaultfd needs vm.unprivileged_userfaultfd=1, CAP_SYS_PTRACE, or access to /dev/userfaultfd",
  ENOSYS: "this kernel has no userfaultfd (CONFIG_USERFAULTFD)",
  EINVAL: "the range is not page aligned, not a registrable mapping, or overlaps a registered one",
  EBUSY: "the range is already registered with another userfaultfd",
  ENOENT: "the mapping is gone (slot deleted?)",
  ESRCH: "the process owning the mapping is exiting",
  EFAULT: "a bad source or argument address",
  ENOMEM: "the kernel could not allocate memory",
  EBADF: "the userfaultfd is closed",
};

function set64(dv: DataView, off: number, v: number | bigint): void {
  dv.setBigUint64(off, BigInt(v), true);
}

function uffdIoctl(fd: number, name: UffdioName, arg: Uint8Array<ArrayBuffer> | number): number {
  return checkedIoctl(fd, name, UFFDIO[name], arg, UFFD_HINTS);
}

function hintOf(e: number): string {
  return UFFD_HINTS[errnoName(e)] ?? "";
}

/**
 * Open a userfaultfd with O_CLOEXEC | O_NONBLOCK: userfaultfd(2), or, when the
 * syscall is refused, `/dev/userfaultfd` + USERFAULTFD_IOC_NEW (whose
 * permission is the device file's). Kernel-mode faults (KVM's
 * get_user_pages) must be reported, so UFFD_USER_MODE_ONLY is never set.
 *
 * @param features `uffdio_api.features` to ask for (the kernel refuses one it lacks: EINVAL)
 * @param offered when given, receives the features the kernel reported
 * @returns the fd, after the UFFDIO_API handshake
 * @throws {ErrnoError} naming the call that failed
 */
export function openUserfaultfd(features = 0n, offered?: { features: bigint }): number {
  const c = libc();
  let fd = Number(c.syscall(BigInt(SYS_USERFAULTFD), BigInt(UFFD_OPEN_FLAGS), 0n, 0n, 0n));
  if (fd < 0) {
    const e = errno();
    if (e !== EPERM && e !== ENOSYS) throw new ErrnoError("userfaultfd", e, hintOf(e));
    const dev = c.open(cString(USERFAULTFD_DEV), O_RDWR | UFFD_OPEN_FLAGS, 0);
    if (dev < 0) {
      const e2 = errno();
      throw new ErrnoError(
        `open(${USERFAULTFD_DEV})`,
        e2,
        `the userfaultfd syscall failed with ${errnoName(e)} and the device does not open`,
      );
    }
    try {
      fd = uffdIoctl(dev, "USERFAULTFD_IOC_NEW", UFFD_OPEN_FLAGS);
    } finally {
      closeFd(dev);
    }
  }
  try {
    const api = new Uint8Array(UFFD_SIZEOF.uffdio_api);
    const dv = new DataView(api.buffer);
    set64(dv, UFFDIO_API_OFF.api, UFFD_API);
    set64(dv, UFFDIO_API_OFF.features, features);
    uffdIoctl(fd, "UFFDIO_API", api);
    if (offered) offered.features = dv.getBigUint64(UFFDIO_API_OFF.features, true);
  } catch (e) {
    closeFd(fd);
    throw e;
  }
  return fd;
}

/**
 * Whether a userfaultfd can be opened here (for tests that skip with a reason).
 *
 * @returns ok, or why not
 */
export function probeUserfaultfd(): Availability {
  try {
    closeFd(openUserfaultfd());
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * Whether this kernel's userfaultfd offers MINOR faults on shmem
 * (UFFD_FEATURE_MINOR_SHMEM in the UFFDIO_API handshake), for `demand uffd
 * NAME minor` and tests that skip with a reason.
 *
 * @returns ok, or why not
 */
export function probeUffdMinor(): Availability {
  const offered = { features: 0n };
  try {
    closeFd(openUserfaultfd(0n, offered));
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
  if ((offered.features & UFFD_FEATURE_MINOR_SHMEM) === 0n) {
    return {
      ok: false,
      reason: `this kernel's userfaultfd offers no UFFD_FEATURE_MINOR_SHMEM (features 0x${
        offered.features.toString(16)
      }; needs Linux 5.14)`,
    };
  }
  return { ok: true };
}

/** What {@linkcode UffdPager.start} needs. */
export interface UffdPagerOptions {
  /** The slot's name (messages). */
  slot: string;
  /** Host mapping start (page aligned). */
  hva: bigint;
  /** Bytes registered from `hva`. */
  size: bigint;
  /** Handler threads, 1..64. */
  handlers: number;
  /** Bytes served for the first pages of the slot; pages past it are zero. */
  source?: Uint8Array;
  /**
   * MINOR mode over the slot's memfd (its fd): the page cache is filled
   * first and faults are answered with UFFDIO_CONTINUE. No `source`: the
   * pages keep what the memfd holds.
   */
  minorMemfd?: number;
}

let zeroChunk: Uint8Array<SharedArrayBuffer> | undefined;

/** A zero buffer whose address never moves (SharedArrayBuffer storage is not moved by GC). */
function zeroSource(): Uint8Array<SharedArrayBuffer> {
  zeroChunk ??= new Uint8Array(new SharedArrayBuffer(POPULATE_CHUNK));
  return zeroChunk;
}

/**
 * One slot served by userfaultfd: the fd, its registration and its handler
 * Workers. {@linkcode UffdPager.close} stops the handlers and closes the fd;
 * closing the fd also unregisters the range, so later touches fault in
 * ordinary anonymous pages and a vCPU still waiting is woken.
 */
export class UffdPager {
  /** The slot's name. */
  readonly slot: string;
  /** Number of handler Workers. */
  readonly handlers: number;
  #fd: number;
  #hva: bigint;
  #size: bigint;
  #ctl: Int32Array<SharedArrayBuffer>;
  #source: Uint8Array<SharedArrayBuffer> | null;
  /** The memfd in MINOR mode, else -1. */
  #memfd: number;
  #workers: Worker[] = [];
  #workerError: string | undefined;
  #closed = false;

  private constructor(o: UffdPagerOptions, fd: number) {
    this.slot = o.slot;
    this.handlers = o.handlers;
    this.#fd = fd;
    this.#hva = o.hva;
    this.#size = o.size;
    this.#ctl = new Int32Array(new SharedArrayBuffer((CTL.COUNTS + o.handlers) * 4));
    this.#source = null;
    this.#memfd = o.minorMemfd ?? -1;
    if (o.source && o.source.length > 0) {
      const len = Math.ceil(o.source.length / UFFD_PAGE) * UFFD_PAGE;
      const s = new Uint8Array(new SharedArrayBuffer(len));
      s.set(o.source);
      this.#source = s;
    }
  }

  /** Whether faults are MINOR ones answered with UFFDIO_CONTINUE. */
  get minor(): boolean {
    return this.#memfd >= 0;
  }

  /**
   * Open a userfaultfd, register `[hva, hva + size)` in MISSING mode (or
   * MINOR, after filling the page cache), start the handlers and wait until
   * every one is polling.
   *
   * @param o the range, handler count and optional source bytes
   * @returns the running pager
   * @throws {ErrnoError} when userfaultfd or UFFDIO_REGISTER fails
   * @throws {UnsupportedError} MINOR mode on a kernel without UFFD_FEATURE_MINOR_SHMEM
   * @throws {VmmError} when the handlers do not start
   */
  static start(o: UffdPagerOptions): UffdPager {
    const minor = o.minorMemfd !== undefined;
    if (minor && o.source) {
      throw new RangeError(
        `demand uffd ${o.slot} minor: the pages keep the memfd's bytes (no source)`,
      );
    }
    if (minor) {
      const p = probeUffdMinor();
      if (!p.ok) throw new UnsupportedError(`demand uffd ${o.slot} minor: ${p.reason}`);
    }
    // The handler count was checked by `checkDemandUffd` (vmm/memory/slot_rules.ts).
    if (o.source && BigInt(o.source.length) > o.size) {
      throw new RangeError(
        `demand uffd ${o.slot}: source (${o.source.length} B) is larger than the slot (${o.size} B)`,
      );
    }
    const p = new UffdPager(o, openUserfaultfd(minor ? UFFD_FEATURE_MINOR_SHMEM : 0n));
    try {
      if (minor) p.#fillPageCache();
      p.#register();
      p.#startHandlers();
    } catch (e) {
      p.close();
      throw e;
    }
    return p;
  }

  /**
   * MINOR mode's precondition, as demand_paging_test does it: every page of
   * the memfd in the page cache (MADV_POPULATE_WRITE through a second shared
   * mapping, which keeps bytes already there), and no page-table entry in the
   * slot's own mapping (MADV_DONTNEED, which on shmem drops only the entries
   * and zaps KVM's SPTEs through the MMU notifier), so that every first touch
   * by the guest or the host is a minor fault.
   */
  #fillPageCache(): void {
    const c = libc();
    const alias = c.mmap(null, this.#size, PROT_READ | PROT_WRITE, MAP_SHARED, this.#memfd, 0n);
    if (isMapFailed(alias)) {
      throw new ErrnoError("mmap", errno(), `second mapping of the memfd of slot "${this.slot}"`);
    }
    try {
      if (c.madvise(alias, this.#size, MADV_POPULATE_WRITE) < 0) {
        throw new ErrnoError(
          "madvise(MADV_POPULATE_WRITE)",
          errno(),
          `filling the page cache of slot "${this.slot}"`,
        );
      }
    } finally {
      c.munmap(alias, this.#size);
    }
    const own = Deno.UnsafePointer.create(this.#hva);
    if (c.madvise(own, this.#size, MADV_DONTNEED) < 0) {
      throw new ErrnoError("madvise(MADV_DONTNEED)", errno(), `slot "${this.slot}"`);
    }
  }

  #register(): void {
    const reg = new Uint8Array(UFFD_SIZEOF.uffdio_register);
    const dv = new DataView(reg.buffer);
    set64(dv, UFFDIO_REGISTER_OFF.start, this.#hva);
    set64(dv, UFFDIO_REGISTER_OFF.len, this.#size);
    const [mode, bit, name] = this.minor
      ? [UFFDIO_REGISTER_MODE_MINOR, UFFDIO_IOCTL_BIT_CONTINUE, "UFFDIO_CONTINUE"]
      : [UFFDIO_REGISTER_MODE_MISSING, UFFDIO_IOCTL_BIT_COPY, "UFFDIO_COPY"];
    set64(dv, UFFDIO_REGISTER_OFF.mode, mode);
    uffdIoctl(this.#fd, "UFFDIO_REGISTER", reg);
    const ioctls = dv.getBigUint64(UFFDIO_REGISTER_OFF.ioctls, true);
    if ((ioctls & bit) === 0n) {
      throw new UnsupportedError(
        `demand uffd ${this.slot}: the kernel offers no ${name} on this mapping (ioctls 0x${
          ioctls.toString(16)
        })`,
      );
    }
  }

  #startHandlers(): void {
    const url = new URL("./uffd_worker.ts", import.meta.url).href;
    for (let i = 0; i < this.handlers; i++) {
      const w = new Worker(url, { type: "module", name: `uffd-${this.slot}-${i}` });
      w.onerror = (ev: ErrorEvent) => {
        ev.preventDefault();
        this.#workerError ??= `uffd handler ${i} of slot "${this.slot}": ${ev.message}`;
      };
      this.#workers.push(w);
      const init: UffdWorkerInit = {
        type: "init",
        index: i,
        fd: this.#fd,
        base: Number(this.#hva),
        size: Number(this.#size),
        minor: this.minor,
        source: this.#source?.buffer ?? null,
        ctl: this.#ctl.buffer,
        pollMs: POLL_MS,
        spinMs: spinMs(),
      };
      w.postMessage(init);
    }
    // The workers load and start on their own threads: the main thread can
    // block here (and later in KVM_RUN) without holding them up.
    const deadline = performance.now() + READY_TIMEOUT_MS;
    for (;;) {
      const ready = Atomics.load(this.#ctl, CTL.READY);
      if (ready >= this.handlers) break;
      if (Atomics.load(this.#ctl, CTL.ERR_OP) !== 0) break;
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new VmmError(
          `demand uffd ${this.slot}: ${ready} of ${this.handlers} handler threads started within ${
            READY_TIMEOUT_MS / 1000
          } s`,
        );
      }
      Atomics.wait(this.#ctl, CTL.READY, ready, Math.min(left, 50));
    }
    const err = this.error();
    if (err) throw err;
  }

  /** Faults served by the handlers so far (pages copied in answer to a fault). */
  get faults(): bigint {
    let n = 0;
    for (let i = 0; i < this.handlers; i++) n += Atomics.load(this.#ctl, CTL.COUNTS + i) >>> 0;
    return BigInt(n);
  }

  /** The userfaultfd (for tests), or -1 once closed. */
  get fd(): number {
    return this.#fd;
  }

  /**
   * The first error a handler hit (a fault it could not serve leaves the
   * faulting thread waiting, so a run then ends with the watchdog).
   *
   * @returns the error, or undefined
   */
  error(): VmmError | undefined {
    const op = Atomics.load(this.#ctl, CTL.ERR_OP);
    if (op !== 0) {
      const e = Atomics.load(this.#ctl, CTL.ERR_ERRNO);
      return new ErrnoError(
        `${HANDLER_OPS[op] ?? "?"} (uffd handler of slot "${this.slot}")`,
        e,
        hintOf(e),
      );
    }
    return this.#workerError ? new VmmError(this.#workerError) : undefined;
  }

  /**
   * Make `[offset, offset + size)` present with UFFDIO_COPY (source bytes or
   * zeros), so those pages never fault. Pages already present are skipped
   * (EEXIST: a handler or an earlier populate got there first).
   *
   * @param offset byte offset in the slot, page aligned
   * @param size bytes (rounded up to whole pages)
   * @throws {ErrnoError} for any other UFFDIO_COPY failure
   */
  populate(offset: bigint, size: bigint): void {
    if (this.#closed) throw new VmmError(`demand uffd ${this.slot}: closed`);
    const page = BigInt(UFFD_PAGE);
    const end = offset + ((size + page - 1n) / page) * page;
    if (this.minor) return this.#continueRange(offset, end);
    const zero = zeroSource();
    const zeroAddr = addressOf(zero);
    const srcLen = BigInt(this.#source?.length ?? 0);
    const srcAddr = this.#source ? addressOf(this.#source) : 0n;
    const arg = new Uint8Array(UFFD_SIZEOF.uffdio_copy);
    const dv = new DataView(arg.buffer);
    let off = offset;
    let retries = 0;
    while (off < end) {
      let n = end - off;
      let src: bigint;
      if (off < srcLen) {
        src = srcAddr + off;
        if (n > srcLen - off) n = srcLen - off;
      } else {
        src = zeroAddr;
        if (n > BigInt(zero.length)) n = BigInt(zero.length);
      }
      set64(dv, UFFDIO_COPY_OFF.dst, this.#hva + off);
      set64(dv, UFFDIO_COPY_OFF.src, src);
      set64(dv, UFFDIO_COPY_OFF.len, n);
      set64(dv, UFFDIO_COPY_OFF.mode, 0);
      set64(dv, UFFDIO_COPY_OFF.copy, 0);
      const r = libc().ioctl_buf(this.#fd, BigInt(UFFDIO.UFFDIO_COPY), arg);
      if (r === 0) {
        off += n;
        continue;
      }
      const e = errno();
      const copied = dv.getBigInt64(UFFDIO_COPY_OFF.copy, true);
      if (e === EAGAIN && copied > 0n) {
        // Partial: the page after `copied` bytes needs another look (usually EEXIST).
        off += copied;
      } else if (e === EEXIST) {
        off += page;
      } else if ((e === EAGAIN || e === EINTR) && retries++ < 1000) {
        continue;
      } else {
        throw new ErrnoError("UFFDIO_COPY", e, `populate of slot "${this.slot}": ${hintOf(e)}`);
      }
    }
  }

  /** MINOR mode's populate: UFFDIO_CONTINUE over `[offset, end)`, page by page past mapped ones. */
  #continueRange(offset: bigint, end: bigint): void {
    const page = BigInt(UFFD_PAGE);
    const arg = new Uint8Array(UFFD_SIZEOF.uffdio_continue);
    const dv = new DataView(arg.buffer);
    let off = offset;
    let retries = 0;
    while (off < end) {
      set64(dv, UFFDIO_CONTINUE_OFF.start, this.#hva + off);
      set64(dv, UFFDIO_CONTINUE_OFF.len, end - off);
      set64(dv, UFFDIO_CONTINUE_OFF.mode, 0);
      set64(dv, UFFDIO_CONTINUE_OFF.mapped, 0);
      if (libc().ioctl_buf(this.#fd, BigInt(UFFDIO.UFFDIO_CONTINUE), arg) === 0) return;
      const e = errno();
      const mapped = dv.getBigInt64(UFFDIO_CONTINUE_OFF.mapped, true);
      if (e === EAGAIN && mapped > 0n) off += mapped;
      else if (e === EEXIST) off += (mapped > 0n ? mapped : 0n) + page;
      else if ((e === EAGAIN || e === EINTR) && retries++ < 1000) continue;
      else {throw new ErrnoError(
          "UFFDIO_CONTINUE",
          e,
          `populate of slot "${this.slot}": ${hintOf(e)}`,
        );}
    }
  }

  /**
   * Stop the handlers (stop flag; each leaves at its next poll timeout), wait
   * for them, terminate the Workers and close the userfaultfd. Closing the fd
   * wakes any thread still waiting for a page of the range. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    Atomics.store(this.#ctl, CTL.STOP, 1);
    const started = this.#workers.length;
    const deadline = performance.now() + EXIT_TIMEOUT_MS;
    for (;;) {
      const exited = Atomics.load(this.#ctl, CTL.EXITED);
      // A handler that never got going (failed start) cannot report its exit.
      const waiting = Math.min(started, Atomics.load(this.#ctl, CTL.READY));
      const left = deadline - performance.now();
      if (exited >= waiting || left <= 0) break;
      Atomics.wait(this.#ctl, CTL.EXITED, exited, Math.min(left, 50));
    }
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
    closeFd(this.#fd);
    this.#fd = -1;
  }
}
