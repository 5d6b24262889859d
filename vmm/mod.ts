/**
 * The VMM as a library: the backend-neutral types and errors, backend
 * selection, and {@linkcode createVm}, which builds a ready-to-run VM in one
 * call so a test can boot a payload and read stats without a script.
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
import { type BackendChoice, openVm } from "./create.ts";
import type { CapName, GuestSpec, MemslotSpec, MmuMode, QuirkName, Vm } from "./types.ts";

export * from "./types.ts";
export * from "./errors.ts";
export * from "./backend.ts";
export * from "./create.ts";

/** Options of {@linkcode createVm}: a `vm { … }` block as data. */
export interface CreateVmOptions {
  /** The VM's name (default `vm`). */
  name?: string;
  /** `auto` (default), `kvm` or `emu`. */
  backend?: BackendChoice;
  /** Number of vCPUs (default 1). */
  vcpus?: number;
  /** MMU to model (emu) or to require of the host (kvm). */
  mmu?: MmuMode;
  /** The system region (default GPA 0, 1 MiB). */
  system?: { gpa: bigint; size: bigint };
  /** Capabilities, applied in order before any memslot. */
  caps?: readonly [CapName, string][];
  /** Quirks, applied after the capabilities. */
  quirks?: readonly [QuirkName, boolean][];
  /** User memslots, created in order. */
  memslots?: readonly MemslotSpec[];
  /** The guest to load last. */
  guest?: GuestSpec;
}

/**
 * Creates a VM and applies a configuration in the order KVM needs:
 * capabilities, quirks, memslots, then the guest. On any failure the VM is
 * closed before the error propagates.
 *
 * @param options what a `vm { … }` block would declare
 * @returns the VM, ready to `run` (declare it with `using`)
 */
export function createVm(options: CreateVmOptions = {}): Vm {
  const vm = openVm({
    name: options.name ?? "vm",
    vcpus: options.vcpus,
    mmu: options.mmu,
    system: options.system,
  }, options.backend ?? "auto");
  try {
    for (const [name, value] of options.caps ?? []) vm.enableCap(name, value);
    for (const [name, on] of options.quirks ?? []) vm.setQuirk(name, on);
    for (const slot of options.memslots ?? []) vm.addMemslot(slot);
    if (options.guest) vm.loadGuest(options.guest);
    return vm;
  } catch (e) {
    vm.close();
    throw e;
  }
}
