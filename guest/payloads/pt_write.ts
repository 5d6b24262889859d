/**
 * `pt_write`: writes its own page-table pages, so that under a shadow MMU
 * (which write-protects guest page tables) every write is tracked.
 *
 * The boot image gives each vCPU k a scratch guest-virtual page
 * `va + k*4K` whose PTE (at `pteGpa + k*8`, in a page-table page of the image,
 * itself identity-mapped) starts pointing at data page A_k; B_k follows it.
 * Iteration i (from 1) points the PTE at B_k (odd i) or A_k (even i) with
 * `mov [pte], …`, flushes the translation with `invlpg`, stores i through the
 * scratch page, and checks through the identity map that i landed in the
 * page just selected: else `fail "pt_write readback" <word read>`.
 *
 * @module
 */

import { imm, mem, R } from "../operands.ts";
import { emitDone, emitFail, PAGE_SIZE } from "./_common.ts";
import type { PayloadDef } from "./payload.ts";

/** PTE present + writable. */
const PTE_PRESENT_WRITABLE = 0x3n;
/** Most vCPUs: their scratch PTEs share one page-table page. */
export const PT_WRITE_MAX_VCPUS = 512;
const PAGE_SHIFT = 12;
const PAIR_SHIFT = 13;

/** The `pt_write` payload. */
export const PT_WRITE: PayloadDef = {
  name: "pt_write",
  doc:
    'Each vCPU rewrites the PTE of its own scratch page `count` times (alternating between two data pages), with invlpg and a store through it after each write, checked through the identity map; then `done` (or `fail "pt_write readback"`).',
  params: {
    count: { type: "int", default: 1n, min: 1n, doc: "page-table writes per vCPU" },
  },
  syncLabels: [],
  check(_, vcpus) {
    const errors: string[] = [];
    if (vcpus !== undefined && vcpus > PT_WRITE_MAX_VCPUS) {
      errors.push(`pt_write: supports at most ${PT_WRITE_MAX_VCPUS} vCPUs, not ${vcpus}`);
    }
    return errors;
  },
  needs: () => ({ identity: [], scratchPtePerVcpu: true }),
  emit(a, p, layout) {
    const s = layout.scratch;
    if (!s) throw new TypeError("Cannot emit pt_write: the boot image gave no scratch mapping");
    const loop = a.newLabel("ptw");
    const useA = a.newLabel("ptw_a");
    const bad = a.newLabel("ptw_bad");
    // rbx = my PTE, r10 = my scratch VA, r8/r9 = PTE values for A/B.
    a.mov(R.rbx, imm(s.pteGpa));
    a.lea(R.rbx, mem({ base: R.rbx, index: R.rdi, scale: 8 }));
    a.mov(R.rax, R.rdi);
    a.shl(R.rax, imm(PAGE_SHIFT));
    a.mov(R.r10, imm(s.va));
    a.add(R.r10, R.rax);
    a.mov(R.r8, R.rdi);
    a.shl(R.r8, imm(PAIR_SHIFT));
    a.mov(R.rax, imm(s.pages | PTE_PRESENT_WRITABLE));
    a.add(R.r8, R.rax);
    a.lea(R.r9, mem({ base: R.r8, disp: Number(PAGE_SIZE) }));
    a.mov(R.r11, imm(p.int("count")));
    a.mov(R.r12, imm(1));
    a.label(loop);
    a.mov(R.rcx, R.r8);
    a.test(R.r12, imm(1));
    a.jcc("z", useA);
    a.mov(R.rcx, R.r9);
    a.label(useA);
    a.mov(mem({ base: R.rbx }), R.rcx); // the page-table write
    a.invlpg(mem({ base: R.r10 }));
    a.mov(mem({ base: R.r10 }), R.r12);
    // The data page through the identity map: clear the PTE's flag bits.
    a.and(R.rcx, imm(-Number(PAGE_SIZE)));
    a.mov(R.rcx, mem({ base: R.rcx }));
    a.cmp(R.rcx, R.r12);
    a.jcc("ne", bad);
    a.inc(R.r12);
    a.cmp(R.r12, R.r11);
    a.jcc("be", loop);
    emitDone(a);
    a.label(bad);
    emitFail(a, "pt_write readback", R.rcx);
  },
};
