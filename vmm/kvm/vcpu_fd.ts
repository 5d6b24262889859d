/**
 * `VcpuFd`: one vCPU's file descriptor and its mmapped `kvm_run`
 * (kvm-ioctls' `VcpuFd`). Exit decoding lives in `exit_decoder.ts`.
 *
 * @module
 */
import { ERRNO_NUMBERS, ErrnoError } from "../errors.ts";
import { closeFd, enableCap, kvmIoctl } from "./ioctl.ts";
import { errno, isMapFailed, libc } from "./libc.ts";
import {
  IOCTL,
  MAP_SHARED,
  MSRS,
  PROT_READ,
  PROT_WRITE,
  REGS_RFLAGS,
  REGS_RIP,
  RUN,
  SIZEOF,
} from "./uapi.ts";

/**
 * A vCPU. The `kvm_run` page is viewed through one DataView made at
 * creation, so reading an exit allocates nothing.
 *
 * @example Boot a `hlt`
 * ```ts ignore
 * const vcpu = vmFd.createVcpu(0, kvm.vcpuMmapSize());
 * // ... set sregs/regs so RIP points at 0xf4 ...
 * if (vcpu.run() === 0 && vcpu.exitReason === EXIT.HLT) console.log("halted");
 * ```
 */
export class VcpuFd {
  #fd: number;
  #run: Deno.PointerObject;
  #mmapSize: number;
  #owned: boolean;
  /** DataView over the whole `kvm_run` mapping. */
  readonly runView: DataView;
  #regs = new Uint8Array(SIZEOF.kvm_regs);
  #regsView = new DataView(this.#regs.buffer);

  private constructor(fd: number, run: Deno.PointerObject, mmapSize: number, owned: boolean) {
    this.#fd = fd;
    this.#run = run;
    this.#mmapSize = mmapSize;
    this.#owned = owned;
    this.runView = new DataView(Deno.UnsafePointerView.getArrayBuffer(run, mmapSize));
  }

  /**
   * KVM_ENABLE_CAP on this vCPU (vCPU-scoped capabilities, e.g. Hyper-V ones).
   *
   * @param cap a mainline capability number
   * @param arg0 `args[0]`
   */
  enableCap(cap: number, arg0 = 0n): void {
    enableCap(this.#fd, cap, arg0);
  }

  /**
   * Take ownership of a vCPU fd and map its `kvm_run`.
   *
   * @param fd from KVM_CREATE_VCPU
   * @param mmapSize KVM_GET_VCPU_MMAP_SIZE
   * @returns the vCPU
   */
  static fromFd(fd: number, mmapSize: number): VcpuFd {
    const p = libc().mmap(null, BigInt(mmapSize), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0n);
    if (isMapFailed(p)) {
      const e = errno();
      closeFd(fd);
      throw new ErrnoError("mmap(kvm_run)", e, "cannot map the vCPU's kvm_run");
    }
    return new VcpuFd(fd, p!, mmapSize, true);
  }

  /**
   * View a vCPU owned by another thread (a worker gets fd and address as numbers).
   * Closing the view neither closes the fd nor unmaps.
   *
   * @param fd the vCPU fd
   * @param runAddr the address of its `kvm_run` mapping
   * @param mmapSize the mapping's size
   * @returns a non-owning view
   */
  static borrow(fd: number, runAddr: bigint, mmapSize: number): VcpuFd {
    return new VcpuFd(fd, Deno.UnsafePointer.create(runAddr)!, mmapSize, false);
  }

  /** The raw fd. */
  get fd(): number {
    return this.#fd;
  }
  /** The address of `kvm_run` (to hand to a worker). */
  get runAddress(): bigint {
    return BigInt(Deno.UnsafePointer.value(this.#run));
  }
  /** The size of the `kvm_run` mapping. */
  get mmapSize(): number {
    return this.#mmapSize;
  }

  /**
   * KVM_RUN, without allocation or exceptions: the hot path.
   *
   * @returns 0 on an exit to read from `runView`, else the errno (EINTR after a kick,
   *   EFAULT/EHWPOISON with a memory_fault exit)
   */
  run(): number {
    const r = libc().ioctl_run(this.#fd, IOCTL.KVM_RUN, null);
    return r < 0 ? errno() : 0;
  }

  /** `kvm_run.exit_reason`. */
  get exitReason(): number {
    return this.runView.getUint32(RUN.exit_reason, true);
  }

  /** Set `kvm_run.immediate_exit` (KVM_RUN returns EINTR at once while it is 1). */
  setImmediateExit(on: boolean): void {
    this.runView.setUint8(RUN.immediate_exit, on ? 1 : 0);
  }

  /**
   * KVM_GET_REGS.
   *
   * @returns a view of the (reused) `kvm_regs` buffer: read it before the next call
   */
  getRegs(): DataView {
    kvmIoctl(this.#fd, "KVM_GET_REGS", this.#regs);
    return this.#regsView;
  }

  /** The guest's RIP (KVM_GET_REGS). */
  rip(): bigint {
    return this.getRegs().getBigUint64(REGS_RIP, true);
  }

  /** The guest's RFLAGS (KVM_GET_REGS). */
  rflags(): bigint {
    return this.getRegs().getBigUint64(REGS_RFLAGS, true);
  }

  /**
   * KVM_SET_REGS.
   *
   * @param regs a 144-byte `kvm_regs`
   */
  setRegs(regs: Uint8Array<ArrayBuffer>): void {
    kvmIoctl(this.#fd, "KVM_SET_REGS", regs);
  }

  /**
   * KVM_GET_SREGS.
   *
   * @returns a new 312-byte `kvm_sregs`
   */
  getSregs(): Uint8Array<ArrayBuffer> {
    const b = new Uint8Array(SIZEOF.kvm_sregs);
    kvmIoctl(this.#fd, "KVM_GET_SREGS", b);
    return b;
  }

  /**
   * KVM_SET_SREGS.
   *
   * @param sregs a 312-byte `kvm_sregs`
   */
  setSregs(sregs: Uint8Array<ArrayBuffer>): void {
    kvmIoctl(this.#fd, "KVM_SET_SREGS", sregs, {
      hints: { EINVAL: "inconsistent control registers or segments (e.g. EFER.LME without PAE)" },
    });
  }

  /**
   * KVM_SET_CPUID2.
   *
   * @param cpuid a `kvm_cpuid2` buffer (from KVM_GET_SUPPORTED_CPUID)
   */
  setCpuid2(cpuid: Uint8Array<ArrayBuffer>): void {
    kvmIoctl(this.#fd, "KVM_SET_CPUID2", cpuid);
  }

  /**
   * KVM_SET_MSRS.
   *
   * @param entries MSR index and value pairs
   * @throws {ErrnoError} when the kernel accepts fewer MSRs than given
   */
  setMsrs(entries: readonly (readonly [number, bigint])[]): void {
    const b = new Uint8Array(SIZEOF.kvm_msrs + entries.length * SIZEOF.kvm_msr_entry);
    const dv = new DataView(b.buffer);
    dv.setUint32(MSRS.nmsrs, entries.length, true);
    entries.forEach(([index, value], i) => {
      const o = MSRS.entries + i * SIZEOF.kvm_msr_entry;
      dv.setUint32(o + MSRS.index, index, true);
      dv.setBigUint64(o + MSRS.data, value, true);
    });
    const n = kvmIoctl(this.#fd, "KVM_SET_MSRS", b);
    if (n !== entries.length) {
      const bad = entries[n];
      throw new ErrnoError(
        "KVM_SET_MSRS",
        ERRNO_NUMBERS.EINVAL,
        `the kernel rejected MSR 0x${bad[0].toString(16)} = 0x${bad[1].toString(16)}`,
      );
    }
  }

  /**
   * KVM_GET_STATS_FD on the vCPU.
   *
   * @returns a new fd of the vCPU's binary stats
   */
  statsFd(): number {
    return kvmIoctl(this.#fd, "KVM_GET_STATS_FD", undefined);
  }

  /**
   * Close the fd but leave `kvm_run` mapped (another thread may still read
   * it; the mapping keeps the vCPU alive in the kernel until the process exits).
   */
  closeKeepingRunPage(): void {
    if (this.#fd >= 0 && this.#owned) closeFd(this.#fd);
    this.#fd = -1;
  }

  /** Unmap `kvm_run` and close the fd (only if owned). Idempotent. */
  close(): void {
    if (this.#fd < 0) return;
    if (this.#owned) {
      libc().munmap(this.#run, BigInt(this.#mmapSize));
      closeFd(this.#fd);
    }
    this.#fd = -1;
  }
}
