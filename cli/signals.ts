/**
 * SIGINT and SIGTERM stop a run cleanly: the first one aborts the run (its
 * VMs are released and the summary is still written); a second one, for a
 * run that does not stop, exits at once.
 *
 * @module
 */
import { type InterruptSignal, SIGNAL_EXIT_CODES } from "./exit_codes.ts";

/** The interruption of one CLI run. */
export interface Interruption {
  /** Aborted (with the signal's name as reason) when the first signal arrives. */
  readonly signal: AbortSignal;
  /** The signal that arrived first, if any. */
  readonly received: InterruptSignal | undefined;
  /** Removes the listeners. */
  dispose(): void;
}

/**
 * Listens for SIGINT and SIGTERM.
 *
 * @param hardExit what a second signal does (default: exit at once with its code)
 * @returns the interruption, to pass its `signal` to the run
 */
export function listenForInterrupts(
  hardExit: (code: number) => void = (code) => Deno.exit(code),
): Interruption {
  const controller = new AbortController();
  let received: InterruptSignal | undefined;
  const listeners = (Object.keys(SIGNAL_EXIT_CODES) as InterruptSignal[]).map((name) => {
    const listener = () => {
      if (received !== undefined) return hardExit(SIGNAL_EXIT_CODES[name]);
      received = name;
      controller.abort(name);
    };
    Deno.addSignalListener(name, listener);
    return { name, listener };
  });
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    dispose() {
      for (const { name, listener } of listeners) Deno.removeSignalListener(name, listener);
    },
  };
}
