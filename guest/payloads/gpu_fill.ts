/**
 * `gpu_fill`: programs IA32_PAT so PAT entry 4 has the requested memory type,
 * fills a device's shared-memory region mapped through 4 KiB PTEs that select
 * entry 4 (PTE bit 7 = PAT, PCD = PWT = 0), and checks the first and last
 * words.
 *
 * Entry 4 is WB in the reset value and no other mapping of the image uses
 * it, so reprogramming it changes only this region's type.
 *
 * With `mtrr`, it first enables the MTRRs as firmware would (default type
 * WB) and covers the region with variable MTRR pair 0 of that type, so a
 * model that honours guest MTRRs and one that ignores them differ.
 *
 * @module
 */

import {
  MSR_IA32_PAT,
  MSR_MTRR_DEF_TYPE,
  MSR_MTRR_PHYSBASE0,
  MTRR_DEF_E,
  MTRR_MASK_V,
  MTRR_TYPES,
} from "../msr.ts";
import type { Assembler } from "../assembler.ts";
import { imm, R } from "../operands.ts";
import { emitCheckWord, emitDone, emitFail, hex, PAGE_SIZE, WORD_SIZE } from "./_common.ts";
import type { ResolvedParams, SlotRef } from "./params.ts";
import type { PayloadDef } from "./payload.ts";

export { MSR_IA32_PAT };
/** IA32_PAT at reset: WB, WT, UC-, UC, WB, WT, UC-, UC. */
export const PAT_RESET = 0x0007040600070406n;
/** The PAT entry gpu_fill reprograms. */
export const GPU_FILL_PAT_INDEX = 4;
/** PAT memory-type encodings of the `pat` parameter. */
export const PAT_TYPES: Readonly<Record<string, bigint>> = { uc: 0x00n, wc: 0x01n, wb: 0x06n };
/** The default fill pattern. */
const DEFAULT_FILL = 0xa5a5_a5a5_a5a5_a5a5n;
const PAT_ENTRY_BITS = 8n;
const PAT_ENTRY_MASK = 0xffn;
const U32 = 0xffff_ffffn;
/**
 * Variable MTRR masks cover address bits 12–35: every x86-64 CPU has
 * MAXPHYADDR ≥ 36, so the mask is valid on any host (higher bits would be
 * reserved on a smaller one), and regions must lie below 64 GiB.
 */
const MTRR_ADDR_LIMIT = 1n << 36n;

/**
 * IA32_PAT with one entry replaced.
 *
 * @param type the memory type encoding (see {@linkcode PAT_TYPES})
 * @param index the entry (default {@linkcode GPU_FILL_PAT_INDEX})
 * @returns the MSR value
 */
export function patValue(type: bigint, index: number = GPU_FILL_PAT_INDEX): bigint {
  const shift = BigInt(index) * PAT_ENTRY_BITS;
  return (PAT_RESET & ~(PAT_ENTRY_MASK << shift)) | (type << shift);
}

function region(p: ResolvedParams): SlotRef {
  return p.has("device") ? p.slot("device") : p.slot("slot");
}

function fillSize(p: ResolvedParams): bigint {
  return p.has("size") ? p.int("size") : region(p).size;
}

/** The `gpu_fill` payload. */
export const GPU_FILL: PayloadDef = {
  name: "gpu_fill",
  doc:
    'Sets PAT entry 4 to `pat` with wrmsr (checked with rdmsr: `fail "pat"`), fills the first `size` bytes of the device\'s shm region (or `slot`), mapped with 4 KiB PTEs selecting entry 4, with `value` using rep stosq, checks the first and last words (`fail "readback"`), then `done`.',
  params: {
    device: { type: "device", doc: "the virtio_gpu device whose shm region is filled" },
    slot: { type: "slot", doc: "a memslot to fill instead of a device's shm region" },
    pat: {
      type: "enum",
      values: ["wc", "uc", "wb"],
      default: "wc",
      doc: "memory type of the mapping",
    },
    mtrr: {
      type: "enum",
      values: ["off", "uc", "wc", "wt", "wp", "wb"],
      default: "off",
      doc:
        "`off`: leave the MTRRs alone; else enable MTRRs (default WB) and cover the region with variable MTRR 0 of this type (the region's size must be a power of two, aligned, below 64 GiB)",
    },
    size: { type: "size", doc: "bytes to fill (default: the whole region)" },
    value: { type: "int", default: DEFAULT_FILL, bits: 64, doc: "the 8-byte fill pattern" },
  },
  syncLabels: [],
  check(p) {
    const errors: string[] = [];
    if (p.has("device") === p.has("slot")) {
      return [`gpu_fill: give exactly one of parameters "device" and "slot"`];
    }
    const r = region(p);
    const size = fillSize(p);
    if (size === 0n) errors.push(`gpu_fill: parameter "size" must not be 0`);
    if (size > r.size) {
      errors.push(
        `gpu_fill: parameter "size" (${hex(size)}) exceeds the region (size ${hex(r.size)})`,
      );
    }
    if (size % WORD_SIZE !== 0n) {
      errors.push(`gpu_fill: parameter "size" (${hex(size)}) is not a multiple of ${WORD_SIZE}`);
    }
    if (p.word("mtrr") !== "off") errors.push(...mtrrErrors(r));
    return errors;
  },
  needs(p) {
    const r = region(p);
    const size = (fillSize(p) + PAGE_SIZE - 1n) / PAGE_SIZE * PAGE_SIZE;
    return { identity: [], pat: [{ gpa: r.gpa, size, patIndex: GPU_FILL_PAT_INDEX }] };
  },
  emit(a, p) {
    const r = region(p);
    const size = fillSize(p);
    const pat = patValue(PAT_TYPES[p.word("pat")]);
    const lo = pat & U32;
    const hi = pat >> 32n;
    const badPat = a.newLabel("bad_pat");
    const badFill = a.newLabel("bad_fill");
    if (p.word("mtrr") !== "off") emitMtrr(a, r, MTRR_TYPES[p.word("mtrr")]);
    a.mov(R.ecx, imm(MSR_IA32_PAT));
    a.mov(R.eax, imm(lo));
    a.mov(R.edx, imm(hi));
    a.wrmsr();
    a.rdmsr();
    a.cmp(R.eax, imm(lo));
    a.jcc("ne", badPat);
    a.cmp(R.edx, imm(hi));
    a.jcc("ne", badPat);
    a.mov(R.rdi, imm(r.gpa));
    a.mov(R.rcx, imm(size / WORD_SIZE));
    a.mov(R.rax, imm(BigInt.asIntN(64, p.int("value"))));
    a.rep_stosq();
    emitCheckWord(a, r.gpa, R.rax, badFill);
    emitCheckWord(a, r.gpa + size - WORD_SIZE, R.rax, badFill);
    emitDone(a);
    a.label(badPat);
    emitFail(a, "pat", R.rax);
    a.label(badFill);
    emitFail(a, "readback", R.rcx);
  },
};

function mtrrErrors(r: SlotRef): string[] {
  const pow2 = r.size > 0n && (r.size & (r.size - 1n)) === 0n;
  if (pow2 && r.gpa % r.size === 0n && r.gpa + r.size <= MTRR_ADDR_LIMIT) return [];
  return [
    `gpu_fill: parameter "mtrr" needs a region whose size is a power of two, aligned to it and below 64 GiB (gpa ${
      hex(r.gpa)
    }, size ${hex(r.size)})`,
  ];
}

/** wrmsr of `value` to `msr` (ecx, edx:eax). */
function emitWrmsr(a: Assembler, msr: number, value: bigint): void {
  a.mov(R.ecx, imm(msr));
  a.mov(R.eax, imm(value & U32));
  a.mov(R.edx, imm(value >> 32n));
  a.wrmsr();
}

/** MTRRs on (default WB), variable pair 0 = the region with `type`. */
function emitMtrr(a: Assembler, r: SlotRef, type: bigint): void {
  emitWrmsr(a, MSR_MTRR_DEF_TYPE, MTRR_DEF_E | PAT_TYPES.wb);
  emitWrmsr(a, MSR_MTRR_PHYSBASE0, r.gpa | type);
  emitWrmsr(a, MSR_MTRR_PHYSBASE0 + 1, ((MTRR_ADDR_LIMIT - 1n) & ~(r.size - 1n)) | MTRR_MASK_V);
}
