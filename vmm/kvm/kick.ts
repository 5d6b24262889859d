/**
 * Getting a thread out of a blocking KVM_RUN. While a thread sits in a
 * synchronous KVM_RUN, its JS timers cannot fire, so the interruption comes
 * from the kernel: a POSIX timer (`timer_create` with SIGEV_THREAD_ID) or a
 * `tgkill` sends SIGUSR2 to that thread, KVM_RUN returns EINTR, and the loop
 * checks its deadline or stop flag. SIGUSR2 needs a handler (its default
 * action kills the process; an ignored signal never interrupts). It is a
 * C-level one installed with `sigaction`, not Deno's `addSignalListener`:
 * Deno puts a signal back to its default action when the isolate that
 * listened ends (a Worker, or a test module under `deno test --parallel`),
 * and a later kick would then kill the whole process.
 *
 * A signal that lands while the thread is in JS (not in KVM_RUN) is
 * consumed without effect, so timers re-fire every millisecond after the
 * deadline, and cross-thread stops also set `kvm_run.immediate_exit`.
 *
 * @module
 */
import { ErrnoError } from "../errors.ts";
import { addressOf, errno, libc } from "./libc.ts";
import {
  CLOCK_MONOTONIC,
  ITIMERSPEC,
  SIGACTION,
  SIGEV_THREAD_ID,
  SIGEVENT,
  SIGUSR2,
  SYS_GETTID,
  SYS_TGKILL,
  SYS_TIMER_CREATE,
  SYS_TIMER_DELETE,
  SYS_TIMER_SETTIME,
} from "./uapi.ts";

const NS_PER_S = 1_000_000_000n;
let handlerInstalled = false;

/**
 * Install the process-wide SIGUSR2 handler (idempotent; any thread). The
 * handler only has to exist, so that the signal interrupts KVM_RUN with EINTR
 * instead of killing the process: it is libc's `abs()`, a pure function that
 * takes the signal number as its int argument and returns, and it stays
 * installed for the life of the process whatever isolates come and go.
 */
export function installKickHandler(): void {
  if (handlerInstalled) return;
  const c = libc();
  const handler = c.dlsym(null, new TextEncoder().encode("abs\0"));
  if (handler === null) {
    throw new ErrnoError("dlsym", errno(), "libc has no abs() to handle SIGUSR2");
  }
  const act = new Uint8Array(SIGACTION.size);
  new DataView(act.buffer).setBigUint64(
    SIGACTION.handler,
    BigInt(Deno.UnsafePointer.value(handler)),
    true,
  );
  if (c.sigaction(SIGUSR2, act, null) !== 0) {
    throw new ErrnoError("sigaction", errno(), "cannot install the SIGUSR2 kick handler");
  }
  handlerInstalled = true;
}

/** The calling thread's kernel thread id. */
export function gettid(): number {
  return Number(libc().syscall(BigInt(SYS_GETTID), 0n, 0n, 0n, 0n));
}

/**
 * Send SIGUSR2 to one thread of this process.
 *
 * @param tid the target's kernel thread id
 */
export function kickThread(tid: number): void {
  const c = libc();
  c.syscall(BigInt(SYS_TGKILL), BigInt(c.getpid()), BigInt(tid), BigInt(SIGUSR2), 0n);
}

/**
 * A CLOCK_MONOTONIC timer that signals one thread.
 *
 * @example Bound a synchronous KVM_RUN to 100 ms
 * ```ts ignore
 * using t = new ThreadTimer(gettid());
 * t.arm(100);
 * vcpu.run(); // returns EINTR after 100 ms if the guest spins
 * t.disarm();
 * ```
 */
export class ThreadTimer {
  #id = -1;
  #spec = new BigInt64Array(ITIMERSPEC.words);

  /**
   * Create the timer (disarmed).
   *
   * @param tid the thread the signal goes to
   */
  constructor(tid: number) {
    const sev = new Uint8Array(SIGEVENT.size);
    const dv = new DataView(sev.buffer);
    dv.setInt32(SIGEVENT.signo, SIGUSR2, true);
    dv.setInt32(SIGEVENT.notify, SIGEV_THREAD_ID, true);
    dv.setInt32(SIGEVENT.tid, tid, true);
    const id = new Int32Array(1);
    const r = libc().syscall(
      BigInt(SYS_TIMER_CREATE),
      BigInt(CLOCK_MONOTONIC),
      addressOf(sev),
      addressOf(id),
      0n,
    );
    if (r < 0) {
      throw new ErrnoError("timer_create", errno(), "cannot create the vCPU watchdog timer");
    }
    this.#id = id[0];
  }

  /**
   * Fire after `ms`, then every millisecond until disarmed.
   *
   * @param ms delay in milliseconds
   */
  arm(ms: number): void {
    const ns = BigInt(Math.max(1, Math.round(ms * 1e6)));
    this.#set(1_000_000n, ns);
  }

  /** Stop the timer. */
  disarm(): void {
    this.#set(0n, 0n);
  }

  #set(intervalNs: bigint, valueNs: bigint): void {
    if (this.#id < 0) return;
    const s = this.#spec;
    s[ITIMERSPEC.interval_sec] = intervalNs / NS_PER_S;
    s[ITIMERSPEC.interval_nsec] = intervalNs % NS_PER_S;
    s[ITIMERSPEC.value_sec] = valueNs / NS_PER_S;
    s[ITIMERSPEC.value_nsec] = valueNs % NS_PER_S;
    libc().syscall(BigInt(SYS_TIMER_SETTIME), BigInt(this.#id), 0n, addressOf(s), 0n);
  }

  /** Delete the timer. Idempotent. */
  close(): void {
    if (this.#id < 0) return;
    libc().syscall(BigInt(SYS_TIMER_DELETE), BigInt(this.#id), 0n, 0n, 0n);
    this.#id = -1;
  }

  /** Same as {@linkcode ThreadTimer.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
