/**
 * The one place that knows the boot order (Firecracker's `builder.rs`):
 * {@linkcode buildVm} takes a VM description as data (what a `vm { … }`
 * block declares, or what a library caller writes) and applies it on either
 * backend in the order KVM needs, whatever order it was written in:
 *
 * 1. open the VM on the chosen backend: the system region (slot 0) and the
 *    vCPUs (`openVm`, `vmm/create.ts`);
 * 2. capabilities, in order (some must precede every memslot);
 * 3. quirks;
 * 4. user memslots, in order;
 * 5. device shared-memory memslots (`<device>.shm`);
 * 6. the guest: the payload's parameters are resolved against the memslots
 *    and vCPU count, the boot image is built (`guest/boot.ts`, the only
 *    boot-image builder, called from here alone), then copied in and every
 *    vCPU's entry state set ({@linkcode loadGuest}).
 *
 * A VM that fails half-way is closed before the error propagates.
 *
 * @module
 */
import { buildBootImage } from "../guest/boot.ts";
import { deviceShmSlot } from "../guest/payloads/mod.ts";
import { type BackendChoice, openVm } from "./create.ts";
import type {
  CapName,
  CapValue,
  GuestSpec,
  MemslotSpec,
  MmuMode,
  QuirkName,
  Vm,
  VmConfig,
} from "./types.ts";

/** A device whose shared memory is a memslot of its own (a virtio_gpu's shm region). */
export interface DeviceMemory {
  /** The device's name; its memslot is named `<name>.shm`. */
  name: string;
  /** Guest-physical base of the shared memory. */
  gpa: bigint;
  /** Its size. */
  size: bigint;
  /** Whether DMA to it is non-coherent (guest PAT applies to it). */
  noncoherent?: boolean;
  /** How non-coherence is declared: a memslot flag (default) or a VM-wide KVM device. */
  via?: "memslot_flag" | "kvm_device";
}

/** A VM as data: a `vm { … }` block's declarations. */
export interface VmDescription {
  /** The VM's name (default `vm`). */
  name?: string;
  /** `auto` (default), `kvm` or `emu`. */
  backend?: BackendChoice;
  /** Number of vCPUs (default 1). */
  vcpus?: number;
  /** Host CPUs shared by the vCPUs and handler threads (emu; default one per thread). */
  hostCpus?: number;
  /** MMU to model (emu) or to require of the host (kvm). */
  mmu?: MmuMode;
  /** The system region (default GPA 0, 1 MiB). */
  system?: { gpa: bigint; size: bigint };
  /** Capabilities, applied in order before any memslot. */
  caps?: readonly [CapName, CapValue][];
  /** Quirks, applied after the capabilities. */
  quirks?: readonly [QuirkName, boolean][];
  /** User memslots, created in order. */
  memslots?: readonly MemslotSpec[];
  /** Devices whose shared memory becomes a memslot, after the user memslots. */
  devices?: readonly DeviceMemory[];
  /**
   * The guest to load last; a function is called when the guest step comes,
   * after the memslots exist (a script evaluates its parameters then).
   */
  guest?: GuestSpec | (() => GuestSpec);
}

/** One step of the boot order, as {@linkcode BuildHooks.step} sees it. */
export type BuildStep =
  | { kind: "cap" | "quirk" | "memslot" | "device"; index: number }
  | { kind: "guest" };

/** How a caller takes part in {@linkcode buildVm}. */
export interface BuildHooks {
  /** Opens the VM (default `openVm` of `vmm/create.ts`). */
  openVm?: (config: VmConfig, backend: BackendChoice) => Vm;
  /** Called as soon as the VM exists (before it is configured). */
  onOpen?: (vm: Vm) => void;
  /**
   * Runs one step (default: just runs it); a script uses it to attribute a
   * failure to the declaration the step came from.
   */
  step?: <T>(step: BuildStep, run: () => T) => T;
}

/**
 * Creates a VM and applies a description in the boot order (see the module
 * doc). On any failure after the VM opened, the VM is closed before the
 * error propagates.
 *
 * @param description what a `vm { … }` block would declare
 * @param hooks how to open the VM, and how to run each step
 * @returns the VM, ready to `run` (declare it with `using`)
 * @throws {BackendUnavailableError} when `kvm` is asked for and cannot be used
 * @throws {PayloadParamError} when the payload's parameters do not fit the VM
 */
export function buildVm(description: VmDescription, hooks: BuildHooks = {}): Vm {
  const d = description;
  const config: VmConfig = {
    name: d.name ?? "vm",
    vcpus: d.vcpus,
    hostCpus: d.hostCpus,
    mmu: d.mmu,
    system: d.system,
  };
  const vm = (hooks.openVm ?? openVm)(config, d.backend ?? "auto");
  const step = hooks.step ?? (<T>(_: BuildStep, run: () => T) => run());
  try {
    hooks.onOpen?.(vm);
    (d.caps ?? []).forEach(([name, value], index) =>
      step({ kind: "cap", index }, () => vm.enableCap(name, value))
    );
    (d.quirks ?? []).forEach(([name, on], index) =>
      step({ kind: "quirk", index }, () => vm.setQuirk(name, on))
    );
    (d.memslots ?? []).forEach((slot, index) =>
      step({ kind: "memslot", index }, () => vm.addMemslot(slot))
    );
    (d.devices ?? []).forEach((device, index) =>
      step({ kind: "device", index }, () => addDeviceMemory(vm, device))
    );
    const guest = d.guest;
    if (guest) {
      step({ kind: "guest" }, () => loadGuest(vm, typeof guest === "function" ? guest() : guest));
    }
    return vm;
  } catch (e) {
    vm.close();
    throw e;
  }
}

/**
 * Creates a VM from a description (see {@linkcode buildVm}), with the
 * default opener and no step hooks.
 *
 * @param options the description
 * @returns the VM, ready to `run` (declare it with `using`)
 */
export function createVm(options: VmDescription = {}): Vm {
  return buildVm(options);
}

/**
 * Loads a guest: resolves the payload's parameters against the VM's
 * memslots and vCPU count, builds the boot image (`guest/boot.ts`), copies
 * it into guest memory and sets every vCPU's entry state.
 *
 * @param vm the VM (its memslots are final for this guest)
 * @param guest a built-in payload or a flat binary
 * @throws {PayloadParamError} when the payload's parameters do not fit the VM
 * @throws {RangeError} when the image does not fit (the message says how to grow the system region)
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { loadGuest } from "./builder.ts";
 * import { openVm } from "./create.ts";
 * using vm = openVm({ name: "demo" }, "emu");
 * loadGuest(vm, { kind: "payload", name: "spin", params: {} });
 * assertEquals((await vm.run({ timeoutMs: 10 })).reason, "timeout");
 * ```
 */
export function loadGuest(vm: Vm, guest: GuestSpec): void {
  vm.loadImage(buildBootImage({
    guest,
    slots: vm.memslots(),
    vcpus: vm.vcpuCount,
    system: vm.system,
    allow1G: vm.allow1G,
  }));
}

function addDeviceMemory(vm: Vm, device: DeviceMemory): void {
  // The memslot-flag variant marks the slot; the RFC's KVM virtio device
  // registers non-coherent DMA for the whole VM instead (after the slot exists,
  // as QEMU creates the device once the region is mapped).
  const flagged = device.noncoherent === true && device.via !== "kvm_device";
  vm.addMemslot({
    name: deviceShmSlot(device.name),
    gpa: device.gpa,
    size: device.size,
    flags: flagged ? ["noncoherent_dma"] : [],
  });
  if (device.noncoherent && device.via === "kvm_device") vm.registerNoncoherentDma(device.name);
}
