/**
 * `VmFd`: one KVM VM's file descriptor (kvm-ioctls' `VmFd`).
 *
 * @module
 */
import { closeFd, enableCap, type IoctlLogEntry, kvmIoctl } from "./ioctl.ts";
import { addressOf } from "./libc.ts";
import { CLEAR_DIRTY_LOG, DIRTY_LOG, REGION, SIZEOF } from "./uapi.ts";
import { VcpuFd } from "./vcpu_fd.ts";

/** The arguments of KVM_SET_USER_MEMORY_REGION. */
export interface UserMemoryRegion {
  /** Slot id (bits 16-31 would select an address space; always 0 here). */
  slot: number;
  /** `MEM.*` flags. */
  flags: number;
  /** Guest-physical base. */
  guestPhysAddr: bigint;
  /** 0 deletes the slot. */
  memorySize: bigint;
  /** Host virtual address of the backing mapping. */
  userspaceAddr: bigint;
}

const REGION_HINTS = {
  EEXIST: "the range overlaps another slot",
  EINVAL:
    "misaligned address/size, an unknown flag, or a change the kernel forbids on an existing slot (size, host address, readonly)",
  EFAULT: "the host address range is not accessible",
  ENOMEM: "the kernel could not allocate the slot's metadata",
};

/**
 * A VM file descriptor.
 *
 * @example Create a VM with one slot
 * ```ts ignore
 * using kvm = KvmSystem.open();
 * const vm = kvm.createVm();
 * vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0n, memorySize: 0x1000n, userspaceAddr: hva });
 * ```
 */
export class VmFd {
  #fd: number;
  /** Every ioctl issued through this VM (and its /dev/kvm handle), for tests and diagnostics. */
  readonly log: IoctlLogEntry[];
  #region = new Uint8Array(SIZEOF.kvm_userspace_memory_region);
  #regionView = new DataView(this.#region.buffer);

  /**
   * Wrap a VM fd.
   *
   * @param fd an fd returned by KVM_CREATE_VM (owned from now on)
   * @param log where ioctls are recorded
   */
  constructor(fd: number, log: IoctlLogEntry[] = []) {
    this.#fd = fd;
    this.log = log;
  }

  /** The raw fd (-1 once closed). */
  get fd(): number {
    return this.#fd;
  }

  /**
   * KVM_CHECK_EXTENSION on the VM fd (the VM-specific answer).
   *
   * @param cap a mainline capability number
   * @returns 0 when absent, else its value
   */
  checkExtension(cap: number): number {
    return kvmIoctl(this.#fd, "KVM_CHECK_EXTENSION", cap, { log: this.log, logArgs: [cap] });
  }

  /**
   * KVM_ENABLE_CAP.
   *
   * @param cap a mainline capability number
   * @param arg0 `args[0]`
   * @param hints errno hints for this capability
   */
  enableCap(cap: number, arg0: bigint, hints?: Readonly<Record<string, string>>): void {
    enableCap(this.#fd, cap, arg0, { log: this.log, hints });
  }

  /**
   * KVM_SET_USER_MEMORY_REGION: create, move, change flags of, or (size 0) delete a slot.
   *
   * @param r the region
   */
  setUserMemoryRegion(r: UserMemoryRegion): void {
    const dv = this.#regionView;
    dv.setUint32(REGION.slot, r.slot, true);
    dv.setUint32(REGION.flags, r.flags, true);
    dv.setBigUint64(REGION.guest_phys_addr, r.guestPhysAddr, true);
    dv.setBigUint64(REGION.memory_size, r.memorySize, true);
    dv.setBigUint64(REGION.userspace_addr, r.userspaceAddr, true);
    kvmIoctl(this.#fd, "KVM_SET_USER_MEMORY_REGION", this.#region, {
      log: this.log,
      logArgs: [r.slot, r.flags, r.guestPhysAddr, r.memorySize],
      hints: REGION_HINTS,
    });
  }

  /**
   * KVM_GET_DIRTY_LOG into `bitmap` (one bit per page, 64-bit aligned length).
   *
   * @param slot the slot id
   * @param bitmap receives the bits
   */
  getDirtyLog(slot: number, bitmap: Uint8Array<ArrayBuffer>): void {
    const buf = new Uint8Array(SIZEOF.kvm_dirty_log);
    const dv = new DataView(buf.buffer);
    dv.setUint32(DIRTY_LOG.slot, slot, true);
    dv.setBigUint64(DIRTY_LOG.bitmap, addressOf(bitmap), true);
    kvmIoctl(this.#fd, "KVM_GET_DIRTY_LOG", buf, {
      log: this.log,
      logArgs: [slot],
      hints: { ENOENT: "the slot does not log dirty pages (no dirty_log flag)" },
    });
  }

  /**
   * KVM_CLEAR_DIRTY_LOG: re-protect the pages whose bits are set in `bitmap`.
   *
   * @param slot the slot id
   * @param firstPage first page (multiple of 64)
   * @param numPages page count (multiple of 64 unless it reaches the slot's end)
   * @param bitmap the bits to clear
   */
  clearDirtyLog(
    slot: number,
    firstPage: bigint,
    numPages: number,
    bitmap: Uint8Array<ArrayBuffer>,
  ): void {
    const buf = new Uint8Array(SIZEOF.kvm_clear_dirty_log);
    const dv = new DataView(buf.buffer);
    dv.setUint32(CLEAR_DIRTY_LOG.slot, slot, true);
    dv.setUint32(CLEAR_DIRTY_LOG.num_pages, numPages, true);
    dv.setBigUint64(CLEAR_DIRTY_LOG.first_page, firstPage, true);
    dv.setBigUint64(CLEAR_DIRTY_LOG.bitmap, addressOf(bitmap), true);
    kvmIoctl(this.#fd, "KVM_CLEAR_DIRTY_LOG", buf, {
      log: this.log,
      logArgs: [slot, firstPage, numPages],
      hints: {
        EINVAL: "manual dirty-log protection is not enabled, or the range is not 64-page aligned",
        ENOENT: "the slot does not log dirty pages",
      },
    });
  }

  /**
   * KVM_CREATE_VCPU and mmap of its `kvm_run`.
   *
   * @param id the vCPU id
   * @param mmapSize KVM_GET_VCPU_MMAP_SIZE
   * @returns the vCPU
   */
  createVcpu(id: number, mmapSize: number): VcpuFd {
    const fd = kvmIoctl(this.#fd, "KVM_CREATE_VCPU", id, {
      log: this.log,
      logArgs: [id],
      hints: { EINVAL: "vCPU id out of range or too many vCPUs", EEXIST: "the vCPU id is taken" },
    });
    return VcpuFd.fromFd(fd, mmapSize);
  }

  /**
   * KVM_SET_TSS_ADDR: three pages the kernel uses for real-mode emulation on Intel.
   *
   * @param addr guest-physical address, outside every slot
   */
  setTssAddr(addr: bigint): void {
    kvmIoctl(this.#fd, "KVM_SET_TSS_ADDR", addr, { log: this.log, logArgs: [addr] });
  }

  /**
   * KVM_GET_STATS_FD on the VM.
   *
   * @returns a new fd of the VM's binary stats
   */
  statsFd(): number {
    return kvmIoctl(this.#fd, "KVM_GET_STATS_FD", undefined, { log: this.log });
  }

  /** Close the fd. Idempotent. */
  close(): void {
    closeFd(this.#fd);
    this.#fd = -1;
  }
}
