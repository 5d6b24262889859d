/**
 * Architectural MSR numbers and memory-type encodings (SDM vol. 4 and
 * vol. 3 ch. 11): the one place both the guest payloads (which write them)
 * and the emulator (which models them) take them from.
 *
 * @module
 */

/** IA32_PAT. */
export const MSR_IA32_PAT = 0x277;
/** IA32_EFER. */
export const MSR_IA32_EFER = 0xc0000080;
/** IA32_MTRRCAP (read-only): VCNT in bits 7:0, FIX bit 8, WC bit 10. */
export const MSR_MTRR_CAP = 0xfe;
/** IA32_MTRR_PHYSBASE0; PHYSBASEn is `+ 2n`, PHYSMASKn `+ 2n + 1`. */
export const MSR_MTRR_PHYSBASE0 = 0x200;
/** Variable-range MTRR pairs the modelled CPU has (KVM_NR_VAR_MTRR). */
export const MTRR_VAR_COUNT = 8;
/** IA32_MTRR_FIX64K_00000: eight 64 KiB ranges from 0. */
export const MSR_MTRR_FIX64K_00000 = 0x250;
/** IA32_MTRR_FIX16K_80000 and _A0000: sixteen 16 KiB ranges from 0x80000. */
export const MSR_MTRR_FIX16K_80000 = 0x258;
/** IA32_MTRR_FIX4K_C0000 … _F8000 (0x268–0x26f): 64 4 KiB ranges from 0xC0000. */
export const MSR_MTRR_FIX4K_C0000 = 0x268;
/** IA32_MTRR_DEF_TYPE: default type in bits 7:0, FE bit 10, E bit 11. */
export const MSR_MTRR_DEF_TYPE = 0x2ff;
/** MTRR_DEF_TYPE.E: MTRRs enabled. */
export const MTRR_DEF_E = 1n << 11n;
/** MTRR_DEF_TYPE.FE: fixed-range MTRRs enabled. */
export const MTRR_DEF_FE = 1n << 10n;
/** IA32_MTRR_PHYSMASKn.V: the pair is valid. */
export const MTRR_MASK_V = 1n << 11n;

/** Memory-type encodings shared by MTRRs and PAT. */
export const MEMTYPE = { UC: 0, WC: 1, WT: 4, WP: 5, WB: 6 } as const;

/** The MTRR memory types a script may name (`mtrr uc` …), lower case. */
export const MTRR_TYPES: Readonly<Record<string, bigint>> = {
  uc: 0n,
  wc: 1n,
  wt: 4n,
  wp: 5n,
  wb: 6n,
};
