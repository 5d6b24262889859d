/**
 * The VMM as a library: the backend-neutral types and errors, backend
 * selection, and {@linkcode createVm} (`builder.ts`, the one place that
 * knows the boot order), which builds a ready-to-run VM in one call so a
 * test can boot a payload and read stats without a script.
 *
 * @example Run a payload on the emulator and read a stat
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { createVm } from "./mod.ts";
 * using vm = createVm({
 *   backend: "emu",
 *   memslots: [{ name: "ram", gpa: 0x100000n, size: 4n << 20n }],
 *   guest: { kind: "payload", name: "write_sweep", params: { slot: "ram" } },
 * });
 * const exit = await vm.run({ until: { kind: "done" }, timeoutMs: 10_000 });
 * assertEquals(exit.reason, "done");
 * assertEquals(vm.stat("ucalls"), 2n); // one sync "pass", one done
 * ```
 *
 * @module
 */
import type { VmDescription } from "./builder.ts";

export * from "./types.ts";
export * from "./errors.ts";
export * from "./backend.ts";
export * from "./create.ts";
export * from "./builder.ts";

/** Options of {@linkcode createVm}: a `vm { … }` block as data (see `builder.ts`). */
export type CreateVmOptions = VmDescription;
