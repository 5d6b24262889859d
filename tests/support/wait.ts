/**
 * How tests wait, so that they hold on a loaded 2-core machine: a run a test
 * expects to finish gets a generous bound that only turns a hang into a
 * failure, never a deadline the guest must beat; and what a test counts after
 * releasing something (threads, fds) is read once the release is over, found
 * by a bounded poll, not after a fixed sleep.
 *
 * @module
 */

/**
 * The watchdog (and `timeout`) of a test run that is expected to finish: a
 * failure bound for a hung guest, far above what any run needs even when the
 * machine is loaded (the 10 s default is the users' watchdog, not a test's).
 */
export const TEST_WATCHDOG_MS = 120_000;

/** The CLI flags giving a `vmm.ts` run the test watchdog. */
export const CLI_WATCHDOG: readonly string[] = ["--watchdog", `${TEST_WATCHDOG_MS / 1000}s`];

/**
 * Reads `read()` until `done` holds of the value, yielding to the event loop
 * between reads; gives up after `boundMs` and returns the last value, so that
 * the caller's assertion on it fails with the real figures.
 *
 * @param read takes the reading
 * @param done whether the reading is final
 * @param boundMs the failure bound (default {@linkcode TEST_WATCHDOG_MS})
 * @returns the first reading for which `done` holds, else the last one
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { pollUntil } from "./wait.ts";
 * let n = 0;
 * assertEquals(await pollUntil(() => ++n, (v) => v === 3), 3);
 * ```
 */
export async function pollUntil<T>(
  read: () => T,
  done: (value: T) => boolean,
  boundMs: number = TEST_WATCHDOG_MS,
): Promise<T> {
  const deadline = performance.now() + boundMs;
  for (let wait = 1;; wait = Math.min(wait * 2, 100)) {
    const value = read();
    if (done(value) || performance.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, wait));
  }
}

/** Comm name of each thread of this process (from /proc/self/task). */
function threadNames(): string[] {
  const names: string[] = [];
  for (const e of Deno.readDirSync("/proc/self/task")) {
    try {
      names.push(Deno.readTextFileSync(`/proc/self/task/${e.name}/comm`).trim());
    } catch {
      // The thread exited between the listing and the read.
    }
  }
  return names;
}

/**
 * Threads that the runtime sizes on its own timers: tokio's pool (its
 * blocking threads exit after 10 s idle, so a slow scenario sees them go) and
 * V8's platform workers. They come and go whatever the VMM does.
 */
const RUNTIME_POOL = /^(tokio-runtime-w|V8 )/;

/**
 * Threads a terminated Worker or a closed VM leaves exiting in the background:
 * Deno's Worker threads (`worker-N`, each with its own runtime and fds) and
 * KVM's per-VM kernel threads (`kvm-nx-lpage-re…`).
 */
const RELEASED_LATER = /^(worker-|kvm-)/;

/**
 * Number of this process's threads outside the runtime's own pools: the main
 * thread, Deno's fixed helpers, and every thread the VMM starts.
 *
 * @returns the count
 */
export function ownThreadCount(): number {
  return threadNames().filter((n) => !RUNTIME_POOL.test(n)).length;
}

/**
 * Waits (bounded) until no Worker thread and no KVM kernel thread of this
 * process remains: Worker.terminate() and closing a VM fd return before those
 * threads exit, and their fds close only when they do. Call it after every VM
 * is closed and every Worker terminated, before counting threads or fds. It
 * sees the whole process: use it where the scenario has a process of its own
 * (a `deno eval` child), not beside other test modules under `--parallel`.
 *
 * @param boundMs the failure bound (default {@linkcode TEST_WATCHDOG_MS})
 * @returns whether they all exited within the bound
 */
export async function releasedThreadsExited(boundMs: number = TEST_WATCHDOG_MS): Promise<boolean> {
  const left = await pollUntil(
    () => threadNames().filter((n) => RELEASED_LATER.test(n)).length,
    (n) => n === 0,
    boundMs,
  );
  return left === 0;
}
