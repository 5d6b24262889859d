/**
 * A test double of the memory model for the CPU's tests and bench: guest
 * memory is one flat ArrayBuffer, identity-mapped (gva = gpa), with
 * optional MMIO ranges, write-tracked pages and faulting ranges, and
 * counters of every port call. It is not a model of the real MMU.
 *
 * @module
 */
import type { VcpuBootState } from "../../../guest/image.ts";
import {
  type Access,
  type MmuExit,
  type MmuPort,
  type PagingState,
  PAT_RESET,
  type TranslateResult,
} from "../port.ts";
import { type Cpu, createCpu } from "./cpu.ts";

/** Options of {@linkcode FlatMmu}. */
export interface FlatMmuOptions {
  /** Bytes of RAM at gpa 0 (a multiple of 4096). */
  size: number;
  /** [start, end) guest-physical ranges that exit as MMIO. */
  mmio?: [number, number][];
}

/** A flat identity-mapped {@linkcode MmuPort}. */
export class FlatMmu implements MmuPort {
  /** Guest RAM. */
  readonly mem: Uint8Array;
  /** MMIO ranges. */
  readonly mmio: [number, number][];
  /** Pages whose writes take the tracked slow path. */
  readonly tracked: Set<number> = new Set();
  /** Pages whose translation fails with a guest #PF. */
  readonly faulting: Set<number> = new Set();
  /** Exits to return for accesses to these guest pages (gfn → exit). */
  readonly exits: Map<number, MmuExit> = new Map();
  /** Calls of `translate`, by access kind. */
  readonly translates: [number, number, number] = [0, 0, 0];
  /** `trackedWrite` calls as [gpa, len]. */
  readonly trackedWrites: [number, number][] = [];
  /** `invlpg` calls (gva). */
  readonly invlpgs: number[] = [];
  /** `newCr3` calls (cr3). */
  readonly cr3s: number[] = [];
  /** The PAT of the last translate. */
  lastPat = 0n;
  readonly #pages: Uint8Array[] = [];
  readonly #views: DataView[] = [];

  /**
   * Allocates the flat guest memory.
   *
   * @param opts size and MMIO ranges
   */
  constructor(opts: FlatMmuOptions) {
    this.mem = new Uint8Array(opts.size);
    this.mmio = opts.mmio ?? [];
  }

  /**
   * Identity translation.
   *
   * @param _vcpu vCPU index
   * @param paging paging registers
   * @param gva guest-virtual address (low 48 bits)
   * @param access read, write or exec
   * @returns the page or an exit
   */
  translate(_vcpu: number, paging: PagingState, gva: number, access: Access): TranslateResult {
    this.translates[access]++;
    this.lastPat = paging.pat;
    const gfn = Math.floor(gva / 4096);
    for (const [s, e] of this.mmio) if (gva >= s && gva < e) return { exit: "mmio", gpa: gva };
    const exit = this.exits.get(gfn);
    if (exit !== undefined) return exit;
    if (this.faulting.has(gfn) || gva >= this.mem.length) {
      return { exit: "guest_fault", vector: 14, gva };
    }
    let page = this.#pages[gfn];
    if (page === undefined) {
      page = this.mem.subarray(gfn * 4096, gfn * 4096 + 4096);
      this.#pages[gfn] = page;
      this.#views[gfn] = new DataView(page.buffer, page.byteOffset, 4096);
    }
    const view = this.#views[gfn];
    return { page, view, gfn, direct: !(access === 1 && this.tracked.has(gfn)) };
  }

  /**
   * Records a tracked write.
   *
   * @param _vcpu vCPU index
   * @param gpa where
   * @param len how many bytes
   */
  trackedWrite(_vcpu: number, gpa: number, len: number): void {
    this.trackedWrites.push([gpa, len]);
  }

  /**
   * Records an invlpg.
   *
   * @param _vcpu vCPU index
   * @param gva the address
   */
  invlpg(_vcpu: number, gva: number): void {
    this.invlpgs.push(gva);
  }

  /**
   * Records a CR3 load.
   *
   * @param _vcpu vCPU index
   * @param cr3 the new CR3
   */
  newCr3(_vcpu: number, cr3: number): void {
    this.cr3s.push(cr3);
  }

  /**
   * Copies bytes into guest memory.
   *
   * @param gpa where
   * @param bytes what
   */
  load(gpa: number, bytes: Uint8Array | number[]): void {
    this.mem.set(bytes, gpa);
  }

  /**
   * Reads a little-endian u64 of guest memory.
   *
   * @param gpa where
   * @returns the value
   */
  u64(gpa: number): bigint {
    return new DataView(this.mem.buffer).getBigUint64(gpa, true);
  }
}

/** A zeroed flat segment (the CPU only runs 64-bit code and ignores segments). */
function segment(): VcpuBootState["cs"] {
  return {
    base: 0n,
    limit: 0xffffffff,
    selector: 0,
    type: 0,
    present: 1,
    dpl: 0,
    db: 0,
    s: 1,
    l: 1,
    g: 1,
    avl: 0,
    unusable: 0,
  };
}

/**
 * A long-mode boot state for tests: paging on, given RIP and registers.
 *
 * @param init RIP, GPRs and optionally RFLAGS
 * @returns the state
 */
export function testBootState(
  init: { rip: bigint; gprs?: VcpuBootState["gprs"]; rflags?: bigint },
): VcpuBootState {
  return {
    gprs: init.gprs ?? {},
    rip: init.rip,
    rflags: init.rflags ?? 2n,
    cr0: 0x80050033n,
    cr3: 0x1000n,
    cr4: 0x20n,
    efer: 0x500n,
    pat: PAT_RESET,
    cs: segment(),
    ds: segment(),
    es: segment(),
    fs: segment(),
    gs: segment(),
    ss: segment(),
    tr: segment(),
    ldt: segment(),
    gdt: { base: 0n, limit: 0 },
    idt: { base: 0n, limit: 0 },
  };
}

/**
 * Hex text to bytes (whitespace ignored), for hand-encoded test programs.
 *
 * @param hex e.g. "48 01 d8"
 * @returns the bytes
 */
export function hexBytes(hex: string): Uint8Array {
  const h = hex.replace(/\s+/g, "");
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * A flat machine for tests: `code` at `rip` (default 0x1000), stack at 0x8000,
 * and a CPU over a {@linkcode FlatMmu} of `size` bytes (default 1 MiB).
 *
 * @param setup code and initial state
 * @returns the MMU double and the CPU
 */
export function flatMachine(setup: {
  code: Uint8Array | string;
  rip?: number;
  gprs?: VcpuBootState["gprs"];
  rflags?: bigint;
  size?: number;
  mmio?: [number, number][];
}): { mmu: FlatMmu; cpu: Cpu } {
  const mmu = new FlatMmu({ size: setup.size ?? 1 << 20, mmio: setup.mmio });
  const rip = setup.rip ?? 0x1000;
  mmu.load(rip, typeof setup.code === "string" ? hexBytes(setup.code) : setup.code);
  const cpu = createCpu(
    0,
    mmu,
    testBootState({
      rip: BigInt(rip),
      gprs: { rsp: 0x8000n, ...setup.gprs },
      rflags: setup.rflags,
    }),
  );
  return { mmu, cpu };
}
