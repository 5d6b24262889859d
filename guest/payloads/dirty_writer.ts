/**
 * `dirty_writer`: the guest of the kernel's dirty_log_perf_test. Each vCPU
 * writes its own contiguous share of a slot, one word per stride, and stops
 * at `sync "iter"` after each iteration.
 *
 * @module
 */

import type { Assembler } from "../assembler.ts";
import { imm, mem, R } from "../operands.ts";
import { emitDone, emitStrideLoop, emitSyncRounds, hex, PAGE_SIZE, WORD_SIZE } from "./_common.ts";
import type { ResolvedParams } from "./params.ts";
import type { PayloadDef } from "./payload.ts";

/**
 * Each vCPU's share: the slot size divided by the vCPU count, rounded down to
 * whole pages so no two vCPUs dirty the same page.
 *
 * @param slotSize the slot's size
 * @param vcpus the vCPU count
 * @returns bytes per vCPU
 */
export function dirtyWriterShare(slotSize: bigint, vcpus: number): bigint {
  return slotSize / BigInt(vcpus) / PAGE_SIZE * PAGE_SIZE;
}

function emit(a: Assembler, p: ResolvedParams, vcpus: number): void {
  const slot = p.slot("slot");
  const share = dirtyWriterShare(slot.size, vcpus);
  const stride = p.int("stride");
  // r8 = slot.gpa + vcpu * share, r9 = r8 + share (rdi = vCPU index at entry).
  a.mov(R.r8, imm(share));
  a.imul(R.r8, R.rdi);
  a.mov(R.rax, imm(slot.gpa));
  a.add(R.r8, R.rax);
  a.mov(R.r9, imm(share));
  a.add(R.r9, R.r8);
  a.mov(R.r10, imm(stride));
  const words = { start: R.r8, end: R.r9, stride: R.r10, single: share <= stride };
  emitSyncRounds(
    a,
    p.int("iterations"),
    "iter",
    () => emitStrideLoop(a, words, (addr) => a.mov(mem({ base: addr }), R.r12)),
  );
  emitDone(a);
}

/** The `dirty_writer` payload. */
export const DIRTY_WRITER: PayloadDef = {
  name: "dirty_writer",
  doc:
    'vCPU k writes the iteration number i (from 1) to one word per stride over its share [slot.gpa + k*share, +share), share = slot size / vCPUs rounded down to 4 KiB; `sync "iter" i` after each iteration; then `done`.',
  params: {
    slot: { type: "slot", required: true, doc: "the memslot the vCPUs share" },
    iterations: {
      type: "int",
      default: 1n,
      min: 1n,
      doc: 'iterations, each ending with sync "iter"',
    },
    stride: {
      type: "size",
      default: PAGE_SIZE,
      multipleOf: WORD_SIZE,
      doc: "bytes between written words (multiple of 8)",
    },
  },
  syncLabels: ["iter"],
  check(p, vcpus) {
    const errors: string[] = [];
    const slot = p.slot("slot");
    if (vcpus !== undefined && dirtyWriterShare(slot.size, vcpus) === 0n) {
      errors.push(
        `dirty_writer: parameter "slot": "${slot.name}" (size ${
          hex(slot.size)
        }) has less than one page per vCPU for ${vcpus} vCPUs`,
      );
    }
    return errors;
  },
  needs(p, vcpus) {
    const slot = p.slot("slot");
    return {
      identity: [{ gpa: slot.gpa, size: dirtyWriterShare(slot.size, vcpus) * BigInt(vcpus) }],
    };
  },
  emit: (a, p, layout) => emit(a, p, layout.vcpus),
};
