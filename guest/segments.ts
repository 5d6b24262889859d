/**
 * Segment descriptors and the segment-register states of the boot image, as
 * the kernel selftests set them up for a 64-bit guest
 * (`kvm_seg_set_kernel_code_64bit`, `kvm_seg_set_kernel_data_64bit`,
 * `kvm_seg_set_tss_64bit`, `kvm_seg_set_unusable`), plus the real-mode
 * states KVM gives a vCPU at reset.
 *
 * @module
 */

import type { SegmentState } from "./image.ts";

/** GDT selectors of the boot image. */
export const SELECTOR = { CODE: 0x08, DATA: 0x10, TSS: 0x18 } as const;
/** GDT entries: null, code, data, and the 16-byte TSS descriptor (two slots). */
export const GDT_ENTRIES = 5;
/** Bytes per GDT slot. */
export const GDT_ENTRY_SIZE = 8;
/** Size of a 64-bit TSS. */
export const TSS_SIZE = 104;
/** Offset of the I/O-map base field in a 64-bit TSS. */
export const TSS_IOMAP_BASE_OFFSET = 0x66;

/** Segment types (S=1: code/data; S=0: system). */
export const SEG_TYPE = {
  /** Data, read/write, accessed. */
  DATA_RW_ACCESSED: 3,
  /** Code, execute/read, accessed. */
  CODE_XR_ACCESSED: 11,
  /** 64-bit TSS (or 32-bit in legacy modes), busy: what VM entry requires of TR. */
  TSS_BUSY: 11,
  /** LDT. */
  LDT: 2,
} as const;

const FLAT_LIMIT = 0xffff_ffff;
const REAL_LIMIT = 0xffff;
const GRANULE_SHIFT = 12;

function seg(fields: Partial<SegmentState>): SegmentState {
  return {
    base: 0n,
    limit: 0,
    selector: 0,
    type: 0,
    present: 0,
    dpl: 0,
    db: 0,
    s: 0,
    l: 0,
    g: 0,
    avl: 0,
    unusable: 0,
    ...fields,
  };
}

/**
 * The 64-bit code segment (selector 0x08): type 11, S, L, G, present, flat.
 *
 * @returns the segment state
 */
export function codeSegment64(): SegmentState {
  return seg({
    selector: SELECTOR.CODE,
    limit: FLAT_LIMIT,
    type: SEG_TYPE.CODE_XR_ACCESSED,
    s: 1,
    l: 1,
    g: 1,
    present: 1,
  });
}

/**
 * The data segment (selector 0x10) for ds/es/fs/gs/ss: type 3, S, G, present, flat.
 *
 * @returns the segment state
 */
export function dataSegment64(): SegmentState {
  return seg({
    selector: SELECTOR.DATA,
    limit: FLAT_LIMIT,
    type: SEG_TYPE.DATA_RW_ACCESSED,
    s: 1,
    g: 1,
    present: 1,
  });
}

/**
 * The TSS (selector 0x18): busy 64-bit TSS, limit 0x67.
 *
 * @param base the TSS's address
 * @returns the segment state
 */
export function tssSegment64(base: bigint): SegmentState {
  return seg({
    base,
    selector: SELECTOR.TSS,
    limit: TSS_SIZE - 1,
    type: SEG_TYPE.TSS_BUSY,
    present: 1,
  });
}

/**
 * An unusable segment (the LDT of a 64-bit guest).
 *
 * @returns the segment state
 */
export function unusableSegment(): SegmentState {
  return seg({ unusable: 1 });
}

/**
 * A real-mode segment: base = selector << 4, limit 64 KiB, present.
 *
 * @param selector the selector
 * @param code whether it is CS (type 11) or a data segment (type 3)
 * @returns the segment state
 */
export function realModeSegment(selector: number, code: boolean): SegmentState {
  return seg({
    base: BigInt(selector) << 4n,
    selector,
    limit: REAL_LIMIT,
    type: code ? SEG_TYPE.CODE_XR_ACCESSED : SEG_TYPE.DATA_RW_ACCESSED,
    s: 1,
    present: 1,
  });
}

/**
 * The real-mode TR and LDTR as KVM sets them at reset.
 *
 * @returns `{ tr, ldt }`
 */
export function realModeSystemSegments(): { tr: SegmentState; ldt: SegmentState } {
  return {
    tr: seg({ limit: REAL_LIMIT, type: SEG_TYPE.TSS_BUSY, present: 1 }),
    ldt: seg({ limit: REAL_LIMIT, type: SEG_TYPE.LDT, present: 1 }),
  };
}

/**
 * Encodes the 8-byte descriptor of a code/data segment, or the low 8 bytes
 * of a system descriptor (S=0); the high 8 bytes of a 64-bit system
 * descriptor are `base >> 32` (see {@linkcode encodeSystemDescriptorHigh}).
 *
 * @param s the segment state (limit in bytes; with G the low 12 bits must be 0xfff)
 * @returns the descriptor
 */
export function encodeDescriptor(s: SegmentState): bigint {
  const limit = BigInt(s.g ? s.limit >>> GRANULE_SHIFT : s.limit);
  const base = s.base & 0xffff_ffffn;
  const access = BigInt(s.type | (s.s << 4) | (s.dpl << 5) | (s.present << 7));
  const flags = BigInt(s.avl | (s.l << 1) | (s.db << 2) | (s.g << 3));
  return (limit & 0xffffn) | ((base & 0xff_ffffn) << 16n) | (access << 40n) |
    (((limit >> 16n) & 0xfn) << 48n) | (flags << 52n) | ((base >> 24n) << 56n);
}

/**
 * The high 8 bytes of a 16-byte system descriptor in long mode.
 *
 * @param s the segment state
 * @returns the upper half (base bits 63:32)
 */
export function encodeSystemDescriptorHigh(s: SegmentState): bigint {
  return s.base >> 32n;
}

/**
 * Decodes a descriptor into a segment state (selector 0), the inverse of
 * {@linkcode encodeDescriptor}; pass `high` for a 16-byte system descriptor.
 *
 * @param low the first 8 bytes
 * @param high the second 8 bytes of a system descriptor
 * @returns the segment state
 */
export function decodeDescriptor(low: bigint, high = 0n): SegmentState {
  const rawLimit = Number((low & 0xffffn) | (((low >> 48n) & 0xfn) << 16n));
  const access = Number((low >> 40n) & 0xffn);
  const flags = Number((low >> 52n) & 0xfn);
  const g = (flags >> 3) & 1;
  const s = (access >> 4) & 1;
  let base = ((low >> 16n) & 0xff_ffffn) | (((low >> 56n) & 0xffn) << 24n);
  if (!s) base |= (high & 0xffff_ffffn) << 32n;
  return seg({
    base,
    limit: g ? ((rawLimit << GRANULE_SHIFT) | 0xfff) >>> 0 : rawLimit,
    type: access & 0xf,
    s,
    dpl: (access >> 5) & 3,
    present: (access >> 7) & 1,
    avl: flags & 1,
    l: (flags >> 1) & 1,
    db: (flags >> 2) & 1,
    g,
  });
}
