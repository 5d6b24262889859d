/**
 * `boot_sim`: a firmware-like boot that touches RAM, reads a ROM slot and
 * stops at `sync "remap"` between rounds, so the script can move or delete
 * the ROM slot as BAR sizing and option-ROM shadowing do.
 *
 * The ROM stays mapped in the guest page tables at its original GPA: after
 * the script moves or deletes it, the next round's reads reach whatever is
 * there (on KVM, an unbacked GPA is an `mmio` exit).
 *
 * @module
 */

import type { Assembler } from "../assembler.ts";
import type { GpaRange } from "../image.ts";
import { imm, mem, R } from "../operands.ts";
import { emitDone, emitStrideLoop, emitSyncRounds, hex, PAGE_SIZE } from "./_common.ts";
import type { ResolvedParams } from "./params.ts";
import type { PayloadDef } from "./payload.ts";

/** Default RAM touched per round. */
const DEFAULT_TOUCH = 16n << 20n;

function ramRange(p: ResolvedParams): GpaRange {
  const ram = p.slot("ram");
  const touch = p.has("touch")
    ? p.int("touch")
    : (ram.size < DEFAULT_TOUCH ? ram.size : DEFAULT_TOUCH);
  return { gpa: ram.gpa, size: touch };
}

function emit(a: Assembler, p: ResolvedParams): void {
  const remaps = p.int("remaps");
  if (remaps > 0n) {
    const ram = ramRange(p);
    const rom = p.slot("rom");
    // r8..r9: the RAM written, r13..r14: the ROM read, one word per page.
    a.mov(R.r8, imm(ram.gpa));
    a.mov(R.r9, imm(ram.gpa + ram.size));
    a.mov(R.r13, imm(rom.gpa));
    a.mov(R.r14, imm(rom.gpa + rom.size));
    const ramPages = { start: R.r8, end: R.r9, stride: PAGE_SIZE, single: ram.size <= PAGE_SIZE };
    const romPages = { start: R.r13, end: R.r14, stride: PAGE_SIZE, single: rom.size <= PAGE_SIZE };
    emitSyncRounds(a, remaps, "remap", () => {
      if (ram.size > 0n) emitStrideLoop(a, ramPages, (addr) => a.mov(mem({ base: addr }), R.r12));
      // rcx, not rax: rax holds the sync's eax for the whole loop.
      emitStrideLoop(a, romPages, (addr) => a.mov(R.rcx, mem({ base: addr })));
    });
  }
  emitDone(a);
}

/** The `boot_sim` payload. */
export const BOOT_SIM: PayloadDef = {
  name: "boot_sim",
  doc:
    'Repeats `remaps` times (round i from 1): writes i to one word per 4 KiB page over the first `touch` bytes of `ram`, reads one word per 4 KiB page of the whole `rom` slot, `sync "remap" i`. Then `done`.',
  params: {
    ram: { type: "slot", required: true, doc: "the RAM memslot" },
    rom: { type: "slot", required: true, doc: "the ROM memslot (read every round)" },
    remaps: { type: "int", default: 1n, doc: 'rounds, each ending with sync "remap"' },
    touch: {
      type: "size",
      doc: "RAM bytes written per round (default 16M, capped at the slot size)",
    },
  },
  syncLabels: ["remap"],
  check(p) {
    const errors: string[] = [];
    const ram = p.slot("ram");
    const touch = ramRange(p).size;
    if (touch > ram.size) {
      errors.push(
        `boot_sim: parameter "touch" (${hex(touch)}) exceeds slot "${ram.name}" (size ${
          hex(ram.size)
        })`,
      );
    }
    if (touch % PAGE_SIZE !== 0n) {
      errors.push(`boot_sim: parameter "touch" (${hex(touch)}) is not a multiple of ${PAGE_SIZE}`);
    }
    if (p.slot("rom").name === ram.name) {
      errors.push(`boot_sim: parameters "ram" and "rom" name the same memslot "${ram.name}"`);
    }
    return errors;
  },
  needs(p) {
    const rom = p.slot("rom");
    return { identity: [ramRange(p), { gpa: rom.gpa, size: rom.size }] };
  },
  emit: (a, p) => emit(a, p),
};
