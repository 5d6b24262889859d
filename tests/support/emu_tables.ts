/**
 * Helpers for the emulator's own tests and bench: paging states and a
 * tiny builder of guest page tables written straight into guest memory,
 * so the MMU can be driven through `translate()` without a CPU.
 *
 * @module
 */
import { type PagingState, PAT_RESET } from "../../vmm/emu/port.ts";
import type { EmuVm } from "../../vmm/emu/vm.ts";

/** Paging off: guest-virtual equals guest-physical. */
export const PAGING_OFF: PagingState = { cr0: 0, cr3: 0, cr4: 0, efer: 0, pat: PAT_RESET };

/** Guest PTE bits. */
export const PTE_P = 1n;
/** Writable. */
export const PTE_W = 2n;
/** Page-level write-through. */
export const PTE_PWT = 8n;
/** Page-level cache disable. */
export const PTE_PCD = 16n;
/** Accessed. */
export const PTE_A = 0x20n;
/** Dirty. */
export const PTE_D = 0x40n;
/** Page size (2M/1G leaf). */
export const PTE_PS = 0x80n;
/** No-execute. */
export const PTE_NX = 1n << 63n;

/** Builds 4-level guest page tables in guest memory, one table page at a time. */
export class GuestTables {
  readonly #vm: EmuVm;
  #next: bigint;
  /** Guest-physical address of the PML4. */
  readonly cr3: bigint;

  /**
   * Creates the instance.
   * @param vm the VM whose memory holds the tables
   * @param base guest-physical address where table pages are allocated
   */
  constructor(vm: EmuVm, base: bigint) {
    this.#vm = vm;
    this.#next = base;
    this.cr3 = this.#alloc();
  }

  #alloc(): bigint {
    const a = this.#next;
    this.#next += 4096n;
    this.#vm.writeGuest(a, new Uint8Array(4096));
    return a;
  }

  /** Read the 8-byte entry at `gpa`. */
  entry(gpa: bigint): bigint {
    return new DataView(this.#vm.readGuest(gpa, 8).buffer).getBigUint64(0, true);
  }

  #set(gpa: bigint, v: bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v, true);
    this.#vm.writeGuest(gpa, b);
  }

  /**
   * Map `gva` to `gpa` with a leaf at `level` (1 = 4K, 2 = 2M, 3 = 1G);
   * intermediate entries are present and writable. Returns the leaf's GPA.
   */
  map(gva: bigint, gpa: bigint, level: number, flags: bigint = PTE_P | PTE_W): bigint {
    let table = this.cr3;
    for (let l = 4;; l--) {
      const idx = (gva >> BigInt(12 + 9 * (l - 1))) & 511n;
      const at = table + idx * 8n;
      if (l === level) {
        this.#set(at, gpa | flags | (level > 1 ? PTE_PS : 0n));
        return at;
      }
      let e = this.entry(at);
      if ((e & PTE_P) === 0n) {
        e = this.#alloc() | PTE_P | PTE_W;
        this.#set(at, e);
      }
      table = e & 0x000f_ffff_ffff_f000n;
    }
  }

  /** A long-mode paging state using these tables. */
  paging(options: { wp?: boolean; nxe?: boolean; pat?: bigint } = {}): PagingState {
    return {
      cr0: (0x80000033 | (options.wp === false ? 0 : 0x10000)) >>> 0,
      cr3: Number(this.cr3),
      cr4: 0x20,
      efer: 0x500 | (options.nxe ? 0x800 : 0),
      pat: options.pat ?? PAT_RESET,
    };
  }
}
