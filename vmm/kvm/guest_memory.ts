/**
 * Host-side access to guest-physical memory through the slots' host
 * mappings. The system region has a DataView made once, so the ucall hot
 * path (slot fields, labels) reads it without allocating.
 *
 * @module
 */
import { UCALL_MAX_LABEL } from "../../guest/ucall.ts";
import { checkGuestLength, forEachPiece } from "../memory/guest_range.ts";
import { PAGE_SHIFT } from "../memory/layout.ts";
import { labelAt, type UcallReader } from "../ucall.ts";
import type { Slot } from "./slots.ts";

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
 * Guest memory as the VMM sees it: slots are found through the slot table's
 * O(log n) index; copies may span adjacent slots, and a byte in no slot is
 * EFAULT, as on the emulator (`vmm/memory/guest_range.ts`).
 */
export class GuestMemory implements UcallReader {
  #find: (gfn: number) => Slot | null;
  #sysGpa: bigint;
  #sysEnd: bigint;
  #sysView: DataView;
  #sysBytes: Uint8Array;

  /**
   * Guest memory over the system region and the slots `find` returns.
   *
   * @param system the system region (gpa, size below 2^31, mapping)
   * @param find the slot containing a guest frame, or null
   */
  constructor(system: GuestRange, find: (gfn: number) => Slot | null) {
    this.#find = find;
    this.#sysGpa = system.gpa;
    this.#sysEnd = system.gpa + system.size;
    const ab = Deno.UnsafePointerView.getArrayBuffer(system.ptr, Number(system.size));
    this.#sysView = new DataView(ab);
    this.#sysBytes = new Uint8Array(ab);
  }

  /** The slot holding `[gpa, gpa + len)` whole, or undefined. */
  #slotOf(gpa: bigint, len: bigint): Slot | undefined {
    if (gpa < 0n) return undefined;
    const s = this.#find(Number(gpa >> BigInt(PAGE_SHIFT)));
    return s !== null && gpa + len <= s.gpa + s.size ? s : undefined;
  }

  /** u64 at `gpa`, 0n when not backed. */
  u64(gpa: bigint): bigint {
    if (gpa >= this.#sysGpa && gpa + 8n <= this.#sysEnd) {
      return this.#sysView.getBigUint64(Number(gpa - this.#sysGpa), true);
    }
    const s = this.#slotOf(gpa, 8n);
    if (!s) return 0n;
    return new Deno.UnsafePointerView(s.mapping.ptr).getBigUint64(Number(gpa - s.gpa));
  }

  /** The NUL-terminated label at `gpa` ("" when 0 or not backed). */
  label(gpa: bigint): string {
    if (gpa === 0n) return "";
    if (gpa >= this.#sysGpa && gpa < this.#sysEnd) {
      return labelAt(this.#sysBytes, Number(gpa - this.#sysGpa));
    }
    const s = this.#slotOf(gpa, 1n);
    if (!s) return "";
    const off = Number(gpa - s.gpa);
    const len = Math.min(UCALL_MAX_LABEL + 1, Number(s.size) - off);
    const p = Deno.UnsafePointer.offset(s.mapping.ptr, off)!;
    return labelAt(new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, len)), 0);
  }

  /**
   * Copy out guest memory.
   *
   * @param gpa start
   * @param length bytes
   * @returns a copy
   * @throws {ErrnoError} EFAULT when a byte is in no memslot
   */
  read(gpa: bigint, length: number): Uint8Array {
    checkGuestLength("readGuest", length);
    const out = new Uint8Array(length);
    forEachPiece(this.#find, "readGuest", gpa, length, (s, off, done, n) => {
      new Deno.UnsafePointerView(s.mapping.ptr).copyInto(out.subarray(done, done + n), off);
    });
    return out;
  }

  /**
   * Copy bytes into guest memory.
   *
   * @param gpa start
   * @param bytes what to write
   * @throws {ErrnoError} EFAULT when a byte is in no memslot
   */
  write(gpa: bigint, bytes: Uint8Array): void {
    forEachPiece(this.#find, "writeGuest", gpa, bytes.length, (s, off, done, n) => {
      const p = Deno.UnsafePointer.offset(s.mapping.ptr, off)!;
      new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, n)).set(
        bytes.subarray(done, done + n),
      );
    });
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
