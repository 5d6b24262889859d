/**
 * `KvmSystem`: the `/dev/kvm` file descriptor (kvm-ioctls' `Kvm`).
 *
 * @module
 */
import { BackendUnavailableError, ErrnoError, errnoName } from "../errors.ts";
import { closeFd, type IoctlLogEntry, kvmIoctl } from "./ioctl.ts";
import { cString, errno, libc } from "./libc.ts";
import { CPUID, KVM_API_VERSION, O_CLOEXEC, O_RDWR, SIZEOF } from "./uapi.ts";
import { VmFd } from "./vm_fd.ts";

/** One entry of KVM_GET_SUPPORTED_CPUID. */
export interface CpuidEntry {
  /** The leaf (EAX on input). */
  function: number;
  /** The subleaf (ECX on input), where `flags` says it matters. */
  index: number;
  /** KVM_CPUID_FLAG_* bits. */
  flags: number;
  /** The output registers. */
  eax: number;
  /** See `eax`. */
  ebx: number;
  /** See `eax`. */
  ecx: number;
  /** See `eax`. */
  edx: number;
}

const OPEN_HINTS: Readonly<Record<string, string>> = {
  ENOENT: "the kernel has no KVM (CONFIG_KVM) or the kvm_intel/kvm_amd module is not loaded",
  EACCES: "no permission: add the user to the 'kvm' group or run as root",
  EPERM: "no permission: add the user to the 'kvm' group or run as root",
  ENXIO: "KVM is present but virtualization is disabled (BIOS) or unsupported by this CPU",
  ENODEV: "KVM is present but virtualization is disabled (BIOS) or unsupported by this CPU",
};

/**
 * The KVM subsystem handle.
 *
 * @example Probe the host
 * ```ts ignore
 * using kvm = KvmSystem.open();
 * console.log(kvm.checkExtension(CAP.NR_MEMSLOTS));
 * ```
 */
export class KvmSystem {
  #fd: number;
  #log: IoctlLogEntry[] | undefined;

  private constructor(fd: number, log?: IoctlLogEntry[]) {
    this.#fd = fd;
    this.#log = log;
  }

  /**
   * Open `/dev/kvm` and check the API version.
   *
   * @param path the device (default `/dev/kvm`)
   * @param log where ioctls are recorded
   * @returns the handle
   * @throws {BackendUnavailableError} when the device cannot be opened or speaks another API
   */
  static open(path = "/dev/kvm", log?: IoctlLogEntry[]): KvmSystem {
    const fd = libc().open(cString(path), O_RDWR | O_CLOEXEC, 0);
    if (fd < 0) {
      const e = errno();
      const name = errnoName(e);
      throw new BackendUnavailableError(
        `Cannot open ${path}: ${name}${OPEN_HINTS[name] ? ` (${OPEN_HINTS[name]})` : ""}`,
        { cause: new ErrnoError("open", e) },
      );
    }
    const sys = new KvmSystem(fd, log);
    try {
      const v = sys.apiVersion();
      if (v !== KVM_API_VERSION) {
        throw new BackendUnavailableError(
          `${path} reports KVM API version ${v}; this VMM needs ${KVM_API_VERSION}`,
        );
      }
    } catch (e) {
      sys.close();
      throw e;
    }
    return sys;
  }

  /** The raw fd (-1 once closed). */
  get fd(): number {
    return this.#fd;
  }

  /** KVM_GET_API_VERSION. */
  apiVersion(): number {
    return kvmIoctl(this.#fd, "KVM_GET_API_VERSION", undefined, { log: this.#log });
  }

  /**
   * KVM_CHECK_EXTENSION on /dev/kvm.
   *
   * @param cap a mainline capability number (`CAP.*`)
   * @returns 0 when absent, else the capability's value
   */
  checkExtension(cap: number): number {
    return kvmIoctl(this.#fd, "KVM_CHECK_EXTENSION", cap, { log: this.#log, logArgs: [cap] });
  }

  /** KVM_GET_VCPU_MMAP_SIZE: bytes to mmap from each vCPU fd (kvm_run and friends). */
  vcpuMmapSize(): number {
    return kvmIoctl(this.#fd, "KVM_GET_VCPU_MMAP_SIZE", undefined, { log: this.#log });
  }

  /**
   * KVM_GET_SUPPORTED_CPUID.
   *
   * @returns the raw `kvm_cpuid2` buffer (ready for KVM_SET_CPUID2) and its decoded entries
   */
  supportedCpuid(): { raw: Uint8Array<ArrayBuffer>; entries: CpuidEntry[] } {
    for (let n = 64;; n *= 2) {
      const raw = new Uint8Array(SIZEOF.kvm_cpuid2 + n * SIZEOF.kvm_cpuid_entry2);
      const dv = new DataView(raw.buffer);
      dv.setUint32(CPUID.nent, n, true);
      try {
        kvmIoctl(this.#fd, "KVM_GET_SUPPORTED_CPUID", raw, { log: this.#log });
      } catch (e) {
        if (e instanceof ErrnoError && e.errno === "E2BIG" && n < 4096) continue;
        throw e;
      }
      const nent = dv.getUint32(CPUID.nent, true);
      const entries: CpuidEntry[] = [];
      for (let i = 0; i < nent; i++) {
        const o = CPUID.entries + i * SIZEOF.kvm_cpuid_entry2;
        entries.push({
          function: dv.getUint32(o + CPUID.function, true),
          index: dv.getUint32(o + CPUID.index, true),
          flags: dv.getUint32(o + CPUID.flags, true),
          eax: dv.getUint32(o + CPUID.eax, true),
          ebx: dv.getUint32(o + CPUID.ebx, true),
          ecx: dv.getUint32(o + CPUID.ecx, true),
          edx: dv.getUint32(o + CPUID.edx, true),
        });
      }
      return { raw: raw.slice(0, SIZEOF.kvm_cpuid2 + nent * SIZEOF.kvm_cpuid_entry2), entries };
    }
  }

  /**
   * KVM_CREATE_VM (default VM type).
   *
   * @returns the new VM's fd wrapper
   */
  createVm(): VmFd {
    const fd = kvmIoctl(this.#fd, "KVM_CREATE_VM", 0, {
      log: this.#log,
      hints: {
        ENOMEM: "out of memory creating the VM",
        EINVAL: "unsupported VM type",
        EMFILE: "too many open files",
      },
    });
    return new VmFd(fd, this.#log);
  }

  /** Close the fd. Idempotent. */
  close(): void {
    closeFd(this.#fd);
    this.#fd = -1;
  }

  /** Same as {@linkcode KvmSystem.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
