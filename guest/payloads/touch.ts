/**
 * `touch`: touches `count` pages of a range, in order or at pseudo-random
 * pages, writing or reading one word per touch.
 *
 * The random pattern is Marsaglia's xorshift64 (shifts 13, 7, 17) run in
 * guest code: the state starts at `seed` and, before each touch, steps once;
 * the page touched is `state mod pages` (pages = size / 4K). A write stores
 * the page's own guest-physical address into its first word, so every touch
 * of a page stores the same value whatever the order; with `write on` the
 * guest reads the first touched page back at the end and reports
 * `fail "readback" <word read>` if it differs.
 *
 * @module
 */

import type { Assembler } from "../assembler.ts";
import type { GpaRange } from "../image.ts";
import { imm, mem, R } from "../operands.ts";
import {
  checkRange,
  emitCheckWord,
  emitDone,
  emitFail,
  hex,
  PAGE_SIZE,
  RANGE_PARAMS,
  rangeOf,
} from "./_common.ts";
import type { ResolvedParams } from "./params.ts";
import type { PayloadDef } from "./payload.ts";

const PAGE_SHIFT = 12;
const XORSHIFT_A = 13;
const XORSHIFT_B = 7;
const XORSHIFT_C = 17;
const U64 = (1n << 64n) - 1n;

/**
 * One step of the guest's generator (xorshift64, 13/7/17), for hosts and
 * tests that predict which pages `touch` visits.
 *
 * @param x the state (non-zero)
 * @returns the next state
 *
 * @example Usage
 * ```ts
 * import { xorshift64 } from "./touch.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(xorshift64(1n), 0x40822041n);
 * ```
 */
export function xorshift64(x: bigint): bigint {
  x ^= (x << BigInt(XORSHIFT_A)) & U64;
  x ^= x >> BigInt(XORSHIFT_B);
  x ^= (x << BigInt(XORSHIFT_C)) & U64;
  return x;
}

/**
 * The guest-physical pages `touch` visits, in order (for tests and hosts).
 *
 * @param range the touched range
 * @param options count, pattern and seed as the payload takes them
 * @returns page addresses
 */
export function touchedPages(
  range: GpaRange,
  options: { count: bigint; pattern: string; seed: bigint },
): bigint[] {
  const pages = range.size / PAGE_SIZE;
  const out: bigint[] = [];
  let x = options.seed;
  for (let i = 0n; i < options.count; i++) {
    if (options.pattern === "seq") out.push(range.gpa + i * PAGE_SIZE);
    else {
      x = xorshift64(x);
      out.push(range.gpa + (x % pages) * PAGE_SIZE);
    }
  }
  return out;
}

function count(p: ResolvedParams): bigint {
  return p.has("count") ? p.int("count") : rangeOf(p).size / PAGE_SIZE;
}

/** The range that is mapped: the touched pages for `seq`, the whole range for `random`. */
function touchedRange(p: ResolvedParams): GpaRange {
  const r = rangeOf(p);
  return p.word("pattern") === "seq" ? { gpa: r.gpa, size: count(p) * PAGE_SIZE } : r;
}

function emit(a: Assembler, p: ResolvedParams): void {
  const r = rangeOf(p);
  const random = p.word("pattern") === "random";
  const write = p.word("write") === "on";
  const loop = a.newLabel("touch");
  a.mov(R.r8, imm(r.gpa));
  a.mov(R.r9, imm(r.size / PAGE_SIZE));
  a.mov(R.r10, imm(count(p)));
  a.mov(R.r11, imm(BigInt.asIntN(64, p.int("seed"))));
  a.xor(R.r12d, R.r12d);
  a.xor(R.ecx, R.ecx);
  a.label(loop);
  if (random) {
    for (
      const [shift, left] of [[XORSHIFT_A, true], [XORSHIFT_B, false], [XORSHIFT_C, true]] as const
    ) {
      a.mov(R.rax, R.r11);
      if (left) a.shl(R.rax, imm(shift));
      else a.shr(R.rax, imm(shift));
      a.xor(R.r11, R.rax);
    }
    a.mov(R.rax, R.r11);
    a.xor(R.edx, R.edx);
    a.div(R.r9);
    a.mov(R.rbx, R.rdx);
  } else {
    a.mov(R.rbx, R.r12);
  }
  a.shl(R.rbx, imm(PAGE_SHIFT));
  a.add(R.rbx, R.r8);
  if (write) a.mov(mem({ base: R.rbx }), R.rbx);
  else a.add(R.rcx, mem({ base: R.rbx }));
  a.inc(R.r12);
  a.cmp(R.r12, R.r10);
  a.jcc("b", loop);
  if (write) {
    const first =
      touchedPages(r, { count: 1n, pattern: p.word("pattern"), seed: p.int("seed") })[0];
    const bad = a.newLabel("readback");
    emitCheckWord(a, first, R.rbx, bad);
    emitDone(a);
    a.label(bad);
    emitFail(a, "readback", R.rcx);
  } else {
    emitDone(a);
  }
}

/** The `touch` payload. */
export const TOUCH: PayloadDef = {
  name: "touch",
  doc:
    'Touches `count` 4 KiB pages of [slot.gpa+offset, +size): `seq` in order from the start, `random` at pages chosen by xorshift64 from `seed`; `write on` stores the page\'s GPA in its first word, `off` loads it. Then `done` (or `fail "readback"`).',
  params: {
    ...RANGE_PARAMS,
    count: { type: "int", min: 1n, doc: "pages to touch (default: every page of the range)" },
    pattern: { type: "enum", values: ["seq", "random"], default: "seq", doc: "page order" },
    seed: { type: "int", default: 1n, doc: "xorshift64 seed for `random` (non-zero)" },
    write: { type: "enum", values: ["on", "off"], default: "on", doc: "write (on) or read (off)" },
  },
  syncLabels: [],
  check(p) {
    const errors = checkRange("touch", p, PAGE_SIZE);
    if (errors.length) return errors;
    const pages = rangeOf(p).size / PAGE_SIZE;
    const n = count(p);
    if (p.word("pattern") === "seq" && n > pages) {
      errors.push(
        `touch: parameter "count" (${n}) exceeds the ${pages} pages of the range (${
          hex(rangeOf(p).size)
        } bytes)`,
      );
    }
    const seed = p.int("seed");
    if (p.word("pattern") === "random" && (seed === 0n || seed > U64)) {
      errors.push(`touch: parameter "seed" must be a non-zero 64-bit value (xorshift64)`);
    }
    return errors;
  },
  needs: (p) => ({ identity: [touchedRange(p)] }),
  emit: (a, p) => emit(a, p),
};
