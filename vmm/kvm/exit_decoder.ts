/**
 * Decodes `kvm_run` after KVM_RUN into the backend-neutral
 * {@linkcode VcpuExit} union: the one place that reads the exit union
 * (kvm-ioctls' `VcpuFd::run`, kvmtool's `kvm_cpu__start` switch).
 *
 * @module
 */
import { ERRNO_NUMBERS, ErrnoError, errnoName, VmmError } from "../errors.ts";
import type { VcpuExit } from "../types.ts";
import {
  UCALL_LABEL_OFFSET,
  UCALL_MAX_LABEL,
  UCALL_PORT,
  UCALL_VALUE_OFFSET,
  UcallCmd,
} from "../../guest/ucall.ts";
import { EXIT, KVM_EXIT_IO_OUT, MEMORY_EXIT_FLAG_PRIVATE, RUN, SYSTEM_EVENT } from "./uapi.ts";
import type { VcpuFd } from "./vcpu_fd.ts";

/** KVM_RUN's errno after a kick (SIGUSR2): the loops then check their deadline or stop flag. */
export const EINTR: number = ERRNO_NUMBERS.EINTR;
// A memory_fault exit comes with EFAULT (EHWPOISON for a poisoned page);
// EFAULT alone is a host mapping KVM could not use.
const { EFAULT, EHWPOISON } = ERRNO_NUMBERS;

/** Reads guest-physical memory for ucall slots and labels. */
export interface GuestReader {
  /** u64 at `gpa` (0n when not backed). */
  u64(gpa: bigint): bigint;
  /** The NUL-terminated label at `gpa` (at most 63 bytes; "" for 0 or unbacked). */
  label(gpa: bigint): string;
}

const LABEL_OFF = BigInt(UCALL_LABEL_OFFSET);
const VALUE_OFF = BigInt(UCALL_VALUE_OFFSET);

/** Names of the `kvm_run.exit_reason` values, for messages. */
const EXIT_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(EXIT).map(([k, v]) => [v, `KVM_EXIT_${k}`]),
);

/** The name of an exit reason, e.g. `KVM_EXIT_IO`. */
function exitName(reason: number): string {
  return EXIT_NAMES[reason] ?? `exit reason ${reason}`;
}

/**
 * Read a NUL-terminated label of at most {@linkcode UCALL_MAX_LABEL} bytes
 * from `bytes` at `offset` (a helper for {@linkcode GuestReader.label}).
 */
export function labelAt(bytes: Uint8Array, offset: number): string {
  if (offset === cachedOffset && bytes === cachedBytes && sameLabel(bytes, offset, cachedLabel)) {
    return cachedLabel;
  }
  let s = "";
  const end = Math.min(bytes.length, offset + UCALL_MAX_LABEL);
  for (let i = offset; i < end; i++) {
    const b = bytes[i];
    if (b === 0) break;
    s += String.fromCharCode(b);
  }
  cachedBytes = bytes;
  cachedOffset = offset;
  cachedLabel = s;
  return s;
}

// The last label read: a guest making the same ucall in a loop gets the
// same string back without building it again (the bytes are still compared).
let cachedBytes: Uint8Array | undefined;
let cachedOffset = -1;
let cachedLabel = "";

function sameLabel(bytes: Uint8Array, offset: number, label: string): boolean {
  const n = label.length;
  if (offset + n > bytes.length) return false;
  for (let i = 0; i < n; i++) if (bytes[offset + i] !== label.charCodeAt(i)) return false;
  return n === UCALL_MAX_LABEL || offset + n === bytes.length || bytes[offset + n] === 0;
}

/**
 * Decode the exit of one KVM_RUN.
 *
 * @param index the vCPU index (for the exit object)
 * @param ret what {@linkcode VcpuFd.run} returned: 0 or an errno other than EINTR
 * @param vcpu the vCPU (its `runView`; GET_REGS only for rare exits that report RIP)
 * @param ucallSlot the guest-physical address of this vCPU's ucall slot
 * @param mem guest memory for the ucall slot and label
 * @returns the decoded exit
 * @throws {ErrnoError} when KVM_RUN failed without an exit to report
 */
export function decodeExit(
  index: number,
  ret: number,
  vcpu: VcpuFd,
  ucallSlot: bigint,
  mem: GuestReader,
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
      if (port === UCALL_PORT && isWrite && size === 4) {
        const cmd = Number(data);
        if (cmd === UcallCmd.DONE) return { reason: "done", vcpu: index };
        if (cmd === UcallCmd.SYNC || cmd === UcallCmd.FAIL) {
          const label = mem.label(mem.u64(ucallSlot + LABEL_OFF));
          const value = mem.u64(ucallSlot + VALUE_OFF);
          return cmd === UcallCmd.SYNC
            ? { reason: "sync", vcpu: index, label, value }
            : { reason: "fail", vcpu: index, message: label, value };
        }
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
