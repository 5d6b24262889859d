/**
 * The guest's MTRRs (SDM vol. 3 §11.11), one {@linkcode MtrrState} per
 * vCPU as KVM keeps `vcpu->arch.mtrr_state`: the fixed ranges, the variable
 * base/mask pairs and MTRR_DEF_TYPE, written by `wrmsr` with KVM's validity
 * checks (`kvm_mtrr_valid`: a bad value is #GP) and looked up as
 * `kvm_mtrr_get_guest_memory_type()` did while KVM honoured guest MTRRs.
 * It sits beside `port.ts` because both the CPU (`cpu/system.ts`) and the
 * memory-type policy (`mmu/memtype.ts`) use it.
 *
 * @module
 */
import {
  MEMTYPE,
  MSR_MTRR_CAP,
  MSR_MTRR_DEF_TYPE,
  MSR_MTRR_FIX16K_80000,
  MSR_MTRR_FIX4K_C0000,
  MSR_MTRR_FIX64K_00000,
  MSR_MTRR_PHYSBASE0,
  MTRR_DEF_E,
  MTRR_DEF_FE,
  MTRR_MASK_V,
  MTRR_VAR_COUNT,
} from "../../guest/msr.ts";

/** MTRRCAP as KVM reports it: WC and fixed ranges supported, 8 variable pairs. */
export const MTRR_CAP_VALUE = 0x500n | BigInt(MTRR_VAR_COUNT);
/** Physical-address bits of the modelled CPU (CPUID 0x80000008). */
const PHYS_BITS = 52n;
const PHYS_MASK = (1n << PHYS_BITS) - 1n;
/** The fixed-range MSRs in address order (11 registers of 8 ranges each). */
const FIXED_MSRS = [
  MSR_MTRR_FIX64K_00000,
  MSR_MTRR_FIX16K_80000,
  MSR_MTRR_FIX16K_80000 + 1,
  ...Array.from({ length: 8 }, (_, i) => MSR_MTRR_FIX4K_C0000 + i),
];
const FIXED_END = 0x100000;

function validType(t: number): boolean {
  return t === MEMTYPE.UC || t === MEMTYPE.WC || t === MEMTYPE.WT || t === MEMTYPE.WP ||
    t === MEMTYPE.WB;
}

/** Whether `msr` is one of the MTRR MSRs modelled here (MTRRCAP included). */
export function isMtrrMsr(msr: number): boolean {
  return msr === MSR_MTRR_CAP || msr === MSR_MTRR_DEF_TYPE || FIXED_MSRS.includes(msr) ||
    (msr >= MSR_MTRR_PHYSBASE0 && msr < MSR_MTRR_PHYSBASE0 + 2 * MTRR_VAR_COUNT);
}

/** The fixed range (register, byte) covering `pa` below 1 MiB. */
function fixedSlot(pa: number): [number, number] {
  if (pa < 0x80000) return [0, pa >> 16];
  if (pa < 0xc0000) {
    const i = (pa - 0x80000) >> 14;
    return [1 + (i >> 3), i & 7];
  }
  const i = (pa - 0xc0000) >> 12;
  return [3 + (i >> 3), i & 7];
}

/** One vCPU's MTRRs. At reset every register is 0: MTRRs disabled (UC everywhere). */
export class MtrrState {
  /** MTRR_DEF_TYPE. */
  defType = 0n;
  readonly #fixed: bigint[] = FIXED_MSRS.map(() => 0n);
  readonly #base: bigint[] = Array(MTRR_VAR_COUNT).fill(0n);
  readonly #mask: bigint[] = Array(MTRR_VAR_COUNT).fill(0n);
  /** Bumped on every change, so cached types can be recomputed. */
  generation = 0;

  /** `rdmsr`: the value, or undefined when `msr` is not an MTRR MSR. */
  read(msr: number): bigint | undefined {
    if (msr === MSR_MTRR_CAP) return MTRR_CAP_VALUE;
    if (msr === MSR_MTRR_DEF_TYPE) return this.defType;
    const f = FIXED_MSRS.indexOf(msr);
    if (f >= 0) return this.#fixed[f];
    const v = msr - MSR_MTRR_PHYSBASE0;
    if (v >= 0 && v < 2 * MTRR_VAR_COUNT) return (v & 1 ? this.#mask : this.#base)[v >> 1];
    return undefined;
  }

  /**
   * `wrmsr` with KVM's checks.
   * @returns null when written, else why it is #GP
   */
  write(msr: number, value: bigint): string | null {
    if (msr === MSR_MTRR_CAP) return "MTRRCAP is read-only";
    if (msr === MSR_MTRR_DEF_TYPE) {
      if ((value & ~0xcffn) !== 0n) return "MTRR_DEF_TYPE reserved bits";
      if (!validType(Number(value & 0xffn))) return "MTRR_DEF_TYPE invalid type";
      return this.#set(() => this.defType = value);
    }
    const f = FIXED_MSRS.indexOf(msr);
    if (f >= 0) {
      for (let i = 0n; i < 64n; i += 8n) {
        if (!validType(Number((value >> i) & 0xffn))) return "fixed MTRR invalid type";
      }
      return this.#set(() => this.#fixed[f] = value);
    }
    const v = msr - MSR_MTRR_PHYSBASE0;
    if (v < 0 || v >= 2 * MTRR_VAR_COUNT) return `not an MTRR MSR 0x${msr.toString(16)}`;
    if (v & 1) {
      if ((value & ~(PHYS_MASK & ~0x7ffn | MTRR_MASK_V)) !== 0n) return "PHYSMASK reserved bits";
      return this.#set(() => this.#mask[v >> 1] = value);
    }
    if ((value & ~(PHYS_MASK & ~0xf00n)) !== 0n) return "PHYSBASE reserved bits";
    if (!validType(Number(value & 0xffn))) return "PHYSBASE invalid type";
    return this.#set(() => this.#base[v >> 1] = value);
  }

  #set(apply: () => void): null {
    apply();
    this.generation++;
    return null;
  }

  /**
   * The MTRR memory type of physical address `pa`: disabled → UC; fixed
   * ranges below 1 MiB when FE; else the variable ranges that match (UC
   * wins, WT and WB give WT, other mixes are undefined and taken as UC, as
   * KVM did), or the default type when none does.
   */
  typeOf(pa: number): number {
    if ((this.defType & MTRR_DEF_E) === 0n) return MEMTYPE.UC;
    if ((this.defType & MTRR_DEF_FE) !== 0n && pa < FIXED_END) {
      const [reg, byte] = fixedSlot(pa);
      return Number((this.#fixed[reg] >> BigInt(byte * 8)) & 0xffn);
    }
    const a = BigInt(pa);
    let type = -1;
    for (let i = 0; i < MTRR_VAR_COUNT; i++) {
      const mask = this.#mask[i];
      if ((mask & MTRR_MASK_V) === 0n) continue;
      const m = mask & PHYS_MASK & ~0xfffn;
      if ((a & m) !== (this.#base[i] & m)) continue;
      const t = Number(this.#base[i] & 0xffn);
      if (type === -1 || type === t) type = t;
      else if (t === MEMTYPE.UC || type === MEMTYPE.UC) return MEMTYPE.UC;
      else if ((t | type) === (MEMTYPE.WT | MEMTYPE.WB)) type = MEMTYPE.WT;
      else return MEMTYPE.UC;
    }
    return type === -1 ? Number(this.defType & 0xffn) : type;
  }
}

/**
 * The effective type of an MTRR type and a PAT type (SDM vol. 3 table
 * 11-7; with EPT the EPT memory type takes the MTRR's place).
 *
 * @param mtrr the MTRR (or EPT) type
 * @param pat the PAT type (7 is UC-)
 * @returns the effective type
 */
export function combineMtrrPat(mtrr: number, pat: number): number {
  const { UC, WC, WT, WP, WB } = MEMTYPE;
  if (pat === UC) return UC;
  if (pat === WC) return WC;
  if (pat === 7) return mtrr === WC ? WC : UC; // UC-
  if (mtrr === UC) return UC;
  if (mtrr === WC) return pat === WB ? WC : UC;
  if (pat === WB) return mtrr;
  if (pat === WT) return mtrr === WP ? WP : WT;
  return WP; // PAT WP with MTRR WT, WP or WB
}
