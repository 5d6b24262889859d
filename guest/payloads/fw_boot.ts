/**
 * `fw_boot`: a firmware-like boot for proposal 2 (zap control). Firmware
 * touches RAM progressively (each stage initialises memory no earlier stage
 * touched) while PCI enumeration moves and deletes many small BAR and
 * option-ROM slots; after each stage it stops at `sync "enum"` so the
 * script can do that enumeration. What a zap of every SPTE costs is then
 * what firmware re-touches: its own code, stack and page tables (the boot
 * image), not the RAM it already initialised.
 *
 * @module
 */

import type { Assembler } from "../assembler.ts";
import type { GpaRange } from "../image.ts";
import { imm, mem, R } from "../operands.ts";
import { emitDone, emitStrideLoop, emitSyncRounds, hex, PAGE_SIZE } from "./_common.ts";
import type { ResolvedParams } from "./params.ts";
import type { PayloadDef } from "./payload.ts";

/** RAM newly written per stage: `step`, else the slot split evenly over the stages. */
function stepOf(p: ResolvedParams): bigint {
  if (p.has("step")) return p.int("step");
  return (p.slot("ram").size / p.int("stages") / PAGE_SIZE) * PAGE_SIZE;
}

function ramRange(p: ResolvedParams): GpaRange {
  return { gpa: p.slot("ram").gpa, size: stepOf(p) * p.int("stages") };
}

function emit(a: Assembler, p: ResolvedParams): void {
  const step = stepOf(p);
  if (step > 0n) {
    // r8: the next page no stage has written; r9: this stage's end; r10: the step.
    a.mov(R.r8, imm(p.slot("ram").gpa));
    a.mov(R.r10, imm(step));
    const pages = { start: R.r8, end: R.r9, stride: PAGE_SIZE, single: step <= PAGE_SIZE };
    emitSyncRounds(a, p.int("stages"), "enum", () => {
      a.mov(R.r9, R.r8);
      a.add(R.r9, R.r10);
      emitStrideLoop(a, pages, (addr) => a.mov(mem({ base: addr }), R.r12));
      a.mov(R.r8, R.r9);
    });
  }
  emitDone(a);
}

/** The `fw_boot` payload. */
export const FW_BOOT: PayloadDef = {
  name: "fw_boot",
  doc:
    'Stage i of `stages` (from 1) writes i to one word per 4 KiB page of the next `step` bytes of `ram` (no page is written twice), then `sync "enum" i`, where the script moves or deletes BAR/ROM slots as PCI enumeration does. Then `done`.',
  params: {
    ram: { type: "slot", required: true, doc: "the RAM memslot, initialised progressively" },
    stages: { type: "int", default: 8n, min: 1n, doc: 'boot stages, each ending with sync "enum"' },
    step: {
      type: "size",
      doc: "RAM bytes first written per stage (default: the slot split evenly over the stages)",
    },
  },
  syncLabels: ["enum"],
  check(p) {
    const errors: string[] = [];
    const ram = p.slot("ram");
    const step = stepOf(p);
    if (step % PAGE_SIZE !== 0n) {
      errors.push(`fw_boot: parameter "step" (${hex(step)}) is not a multiple of ${PAGE_SIZE}`);
    }
    const total = ramRange(p).size;
    if (total > ram.size) {
      errors.push(
        `fw_boot: "stages" x "step" (${hex(total)}) exceeds slot "${ram.name}" (size ${
          hex(ram.size)
        })`,
      );
    }
    return errors;
  },
  needs(p) {
    return { identity: [ramRange(p)] };
  },
  emit: (a, p) => emit(a, p),
};
