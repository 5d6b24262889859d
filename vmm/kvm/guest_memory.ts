/**
 * Host-side access to guest-physical memory through the slots' host
 * mappings. The system region has a DataView made once, so the ucall hot
 * path (slot fields, labels) reads it without allocating.
 *
 * @module
 */
import { UCALL_MAX_LABEL } from "../../guest/ucall.ts";
import { VmmError } from "../errors.ts";
import { labelAt, type UcallReader } from "../ucall.ts";

/** One guest-physical range and the host memory behind it. */
export interface GuestRange {
  /** Guest-physical base. */
  gpa: bigint;
  /** Bytes. */
  size: bigint;
  /** The host mapping of `gpa`. */
  ptr: Deno.PointerObject;
}

/**
 * Guest memory as the VMM sees it.
 */
export class GuestMemory implements UcallReader {
  #ranges: GuestRange[] = [];
  #sysGpa: bigint;
  #sysEnd: bigint;
  #sysView: DataView;
  #sysBytes: Uint8Array;

  /**
   * Guest memory with only the system region; {@linkcode GuestMemory.setRanges} adds the slots.
   *
   * @param system the system region (gpa, size below 2^31, mapping)
   */
  constructor(system: GuestRange) {
    this.#sysGpa = system.gpa;
    this.#sysEnd = system.gpa + system.size;
    const ab = Deno.UnsafePointerView.getArrayBuffer(system.ptr, Number(system.size));
    this.#sysView = new DataView(ab);
    this.#sysBytes = new Uint8Array(ab);
  }

  /** Replace the list of ranges (after a slot is added, moved or deleted). */
  setRanges(ranges: GuestRange[]): void {
    this.#ranges = ranges;
  }

  #find(gpa: bigint, len: bigint): GuestRange | undefined {
    for (const r of this.#ranges) {
      if (gpa >= r.gpa && gpa + len <= r.gpa + r.size) return r;
    }
    return undefined;
  }

  /** u64 at `gpa`, 0n when not backed. */
  u64(gpa: bigint): bigint {
    if (gpa >= this.#sysGpa && gpa + 8n <= this.#sysEnd) {
      return this.#sysView.getBigUint64(Number(gpa - this.#sysGpa), true);
    }
    const r = this.#find(gpa, 8n);
    if (!r) return 0n;
    return new Deno.UnsafePointerView(r.ptr).getBigUint64(Number(gpa - r.gpa));
  }

  /** The NUL-terminated label at `gpa` ("" when 0 or not backed). */
  label(gpa: bigint): string {
    if (gpa === 0n) return "";
    if (gpa >= this.#sysGpa && gpa < this.#sysEnd) {
      return labelAt(this.#sysBytes, Number(gpa - this.#sysGpa));
    }
    const r = this.#find(gpa, 1n);
    if (!r) return "";
    const off = Number(gpa - r.gpa);
    const len = Math.min(UCALL_MAX_LABEL + 1, Number(r.size) - off);
    const p = Deno.UnsafePointer.offset(r.ptr, off)!;
    return labelAt(new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, len)), 0);
  }

  /**
   * Copy out guest memory.
   *
   * @param gpa start
   * @param length bytes
   * @returns a copy
   * @throws {VmmError} when the range is not inside one slot
   */
  read(gpa: bigint, length: number): Uint8Array {
    const r = this.#require(gpa, BigInt(length));
    const out = new Uint8Array(length);
    new Deno.UnsafePointerView(r.ptr).copyInto(out, Number(gpa - r.gpa));
    return out;
  }

  /**
   * Copy bytes into guest memory.
   *
   * @param gpa start
   * @param bytes what to write
   * @throws {VmmError} when the range is not inside one slot
   */
  write(gpa: bigint, bytes: Uint8Array): void {
    const r = this.#require(gpa, BigInt(bytes.length));
    const p = Deno.UnsafePointer.offset(r.ptr, Number(gpa - r.gpa))!;
    new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, bytes.length)).set(bytes);
  }

  #require(gpa: bigint, len: bigint): GuestRange {
    const r = this.#find(gpa, len);
    if (!r) {
      throw new VmmError(
        `guest-physical range 0x${gpa.toString(16)}+0x${
          len.toString(16)
        } is not inside one memslot`,
      );
    }
    return r;
  }
}

/**
 * A reader over the system region only, for vCPU workers: an access outside
 * it sets `missed`, and the worker hands the raw exit to the main thread.
 */
export class SystemReader implements UcallReader {
  #gpa: bigint;
  #end: bigint;
  #view: DataView;
  #bytes: Uint8Array;
  /** Set when a read fell outside the system region. */
  missed = false;

  /**
   * A reader over a system region mapped at `addr` in this process.
   *
   * @param gpa the system region's base
   * @param size its size
   * @param addr the host address of its mapping
   */
  constructor(gpa: bigint, size: number, addr: bigint) {
    this.#gpa = gpa;
    this.#end = gpa + BigInt(size);
    const ab = Deno.UnsafePointerView.getArrayBuffer(Deno.UnsafePointer.create(addr)!, size);
    this.#view = new DataView(ab);
    this.#bytes = new Uint8Array(ab);
  }

  /** u64 at `gpa` (0n and `missed` outside the region). */
  u64(gpa: bigint): bigint {
    if (gpa >= this.#gpa && gpa + 8n <= this.#end) {
      return this.#view.getBigUint64(Number(gpa - this.#gpa), true);
    }
    this.missed = true;
    return 0n;
  }

  /** The label at `gpa` ("" and `missed` outside the region). */
  label(gpa: bigint): string {
    if (gpa === 0n) return "";
    if (gpa >= this.#gpa && gpa < this.#end) return labelAt(this.#bytes, Number(gpa - this.#gpa));
    this.missed = true;
    return "";
  }
}
