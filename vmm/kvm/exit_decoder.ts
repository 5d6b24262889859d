/**
 * Decodes `kvm_run` after KVM_RUN into the backend-neutral
 * {@linkcode VcpuExit} union: the one place that reads the exit union
 * (kvm-ioctls' `VcpuFd::run`, kvmtool's `kvm_cpu__start` switch). It
 * decodes raw exits only (`io` and `mmio` with their data); whether an `io`
 * exit is a ucall is `vmm/ucall.ts`'s question, shared with the emulator.
 *
 * @module
 */
import { ERRNO_NUMBERS, ErrnoError, errnoName, VmmError } from "../errors.ts";
import type { VcpuExit } from "../types.ts";
import { EXIT, KVM_EXIT_IO_OUT, MEMORY_EXIT_FLAG_PRIVATE, RUN, SYSTEM_EVENT } from "./uapi.ts";
import type { VcpuFd } from "./vcpu_fd.ts";

/** KVM_RUN's errno after a kick (SIGUSR2): the loops then check their deadline or stop flag. */
export const EINTR: number = ERRNO_NUMBERS.EINTR;
// A memory_fault exit comes with EFAULT (EHWPOISON for a poisoned page);
// EFAULT alone is a host mapping KVM could not use.
const { EFAULT, EHWPOISON } = ERRNO_NUMBERS;

/** Names of the `kvm_run.exit_reason` values, for messages. */
const EXIT_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(EXIT).map(([k, v]) => [v, `KVM_EXIT_${k}`]),
);

/** The name of an exit reason, e.g. `KVM_EXIT_IO`. */
function exitName(reason: number): string {
  return EXIT_NAMES[reason] ?? `exit reason ${reason}`;
}

/**
 * Decode the exit of one KVM_RUN.
 *
 * @param index the vCPU index (for the exit object)
 * @param ret what {@linkcode VcpuFd.run} returned: 0 or an errno other than EINTR
 * @param vcpu the vCPU (its `runView`; GET_REGS only for rare exits that report RIP)
 * @returns the decoded exit (a ucall is an `io` exit here: `vmm/ucall.ts` decodes it)
 * @throws {ErrnoError} when KVM_RUN failed without an exit to report
 */
export function decodeExit(
  index: number,
  ret: number,
  vcpu: VcpuFd,
): VcpuExit {
  const v = vcpu.runView;
  const reason = v.getUint32(RUN.exit_reason, true);
  if (ret !== 0) {
    if ((ret === EFAULT || ret === EHWPOISON) && reason === EXIT.MEMORY_FAULT) {
      const flags = v.getBigUint64(RUN.memory_fault_flags, true);
      return {
        reason: "memory_fault",
        vcpu: index,
        gpa: v.getBigUint64(RUN.memory_fault_gpa, true),
        len: v.getBigUint64(RUN.memory_fault_size, true),
        flags: [
          ...(flags & MEMORY_EXIT_FLAG_PRIVATE ? ["private"] : []),
          ...(ret === EHWPOISON ? ["hwpoison"] : []),
        ],
      };
    }
    throw new ErrnoError(
      "KVM_RUN",
      ret,
      ret === EFAULT
        ? `vCPU ${index}: the guest touched memory whose host mapping is not accessible`
        : `vCPU ${index}: ${errnoName(ret)} with ${exitName(reason)}`,
    );
  }
  switch (reason) {
    case EXIT.IO: {
      const port = v.getUint16(RUN.io_port, true);
      const size = v.getUint8(RUN.io_size);
      const isWrite = v.getUint8(RUN.io_direction) === KVM_EXIT_IO_OUT;
      // data_offset is a u64 but always inside the mapping: its low half suffices.
      const dataOff = v.getUint32(RUN.io_data_offset, true);
      let data = 0n;
      if (!isWrite) {
        // Nothing claims the port: the `in` completes with zeros, as on emu,
        // instead of whatever an earlier exit left in the data area.
        const count = v.getUint32(RUN.io_count, true);
        for (let i = 0; i < size * count; i++) v.setUint8(dataOff + i, 0);
      } else {
        data = size === 1
          ? BigInt(v.getUint8(dataOff))
          : size === 2
          ? BigInt(v.getUint16(dataOff, true))
          : BigInt(v.getUint32(dataOff, true));
      }
      return { reason: "io", vcpu: index, port, size, isWrite, data };
    }
    case EXIT.MMIO: {
      const len = v.getUint32(RUN.mmio_len, true);
      const isWrite = v.getUint8(RUN.mmio_is_write) !== 0;
      let data = 0n;
      if (isWrite) {
        for (let i = len - 1; i >= 0; i--) {
          data = (data << 8n) | BigInt(v.getUint8(RUN.mmio_data + i));
        }
      } else {
        // No device model claims the address: the read completes with zeros
        // when the vCPU resumes, as on emu.
        for (let i = 0; i < 8; i++) v.setUint8(RUN.mmio_data + i, 0);
      }
      return {
        reason: "mmio",
        vcpu: index,
        gpa: v.getBigUint64(RUN.mmio_phys_addr, true),
        len,
        isWrite,
        data,
      };
    }
    case EXIT.HLT:
      return { reason: "hlt", vcpu: index };
    case EXIT.SHUTDOWN:
      return { reason: "shutdown", vcpu: index, rip: vcpu.rip() };
    case EXIT.FAIL_ENTRY:
      return {
        reason: "fail_entry",
        vcpu: index,
        hardwareReason: v.getBigUint64(RUN.fail_entry_reason, true),
        cpu: v.getUint32(RUN.fail_entry_cpu, true),
      };
    case EXIT.INTERNAL_ERROR:
      return {
        reason: "internal_error",
        vcpu: index,
        suberror: v.getUint32(RUN.internal_suberror, true),
        rip: vcpu.rip(),
      };
    case EXIT.SYSTEM_EVENT: {
      const type = v.getUint32(RUN.system_event_type, true);
      // A guest-initiated shutdown or reset ends the run as a triple fault does.
      if (type === SYSTEM_EVENT.SHUTDOWN || type === SYSTEM_EVENT.RESET) {
        return { reason: "shutdown", vcpu: index, rip: vcpu.rip() };
      }
      return { reason: "system_event", vcpu: index, type };
    }
    default:
      throw new VmmError(
        `KVM_RUN: vCPU ${index}: unexpected ${exitName(reason)} (the VMM does not enable it)`,
      );
  }
}
