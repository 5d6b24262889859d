/**
 * Test and benchmark support: a minimal long-mode {@linkcode BootImage}
 * around hand-assembled code, independent of `guest/boot.ts`, plus a few
 * tiny guests. Layout inside the system region (offsets from its base):
 * page tables at 0x1000 (identity map of the first 4 GiB with 2 MiB pages),
 * GDT at 0x7000, ucall slots at 0x8000, labels at 0x9000, code at 0x10000,
 * stacks below 0x80000.
 *
 * @module
 */
import type { BootImage, SegmentState, VcpuBootState } from "../../guest/image.ts";
import { UCALL_PORT, UCALL_SLOT_SIZE, UcallCmd } from "../../guest/ucall.ts";

const PT = 0x1000n;
const GDT = 0x7000n;
const SLOTS = 0x8000n;
const LABELS = 0x9000n;
/** Offset of the code from the system region's base. */
export const CODE_OFFSET = 0x10000n;

function seg(selector: number, type: number, code: boolean): SegmentState {
  return {
    base: 0n,
    limit: 0xffff_ffff,
    selector,
    type,
    present: 1,
    dpl: 0,
    db: code ? 0 : 1,
    s: 1,
    l: code ? 1 : 0,
    g: 1,
    avl: 0,
    unusable: 0,
  };
}

function u64le(v: bigint): number[] {
  const out: number[] = [];
  for (let i = 0n; i < 8n; i++) out.push(Number((v >> (i * 8n)) & 0xffn));
  return out;
}
function u32le(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

/** Options of {@linkcode flatLongModeImage}. */
export interface FlatImageOptions {
  /** Machine code, loaded at system base + 0x10000 and entered there. */
  code: Uint8Array;
  /** vCPU count (each gets rdi = index, rsi = count, r15 = its ucall slot). */
  vcpus?: number;
  /** System region base (default 0). */
  systemGpa?: bigint;
  /** NUL-terminated labels to place at system base + 0x9000, in order. */
  labels?: string[];
}

/** Where {@linkcode flatLongModeImage} put a label (by index). */
export function labelGpa(index: number, systemGpa = 0n): bigint {
  return systemGpa + LABELS + BigInt(index * 64);
}

/**
 * Build a long-mode boot image around raw code.
 *
 * @param o the code and vCPU count
 * @returns the image
 */
export function flatLongModeImage(o: FlatImageOptions): BootImage {
  const base = o.systemGpa ?? 0n;
  const n = o.vcpus ?? 1;
  const pt = new Uint8Array(0x6000);
  const dv = new DataView(pt.buffer);
  dv.setBigUint64(0, base + PT + 0x1000n + 0x23n, true); // PML4[0] → PDPT
  for (let g = 0; g < 4; g++) {
    const pd = base + PT + 0x2000n + BigInt(g) * 0x1000n;
    dv.setBigUint64(0x1000 + g * 8, pd + 0x23n, true); // PDPT[g] → PD
    for (let i = 0; i < 512; i++) {
      const phys = (BigInt(g) << 30n) + (BigInt(i) << 21n);
      dv.setBigUint64(0x2000 + g * 0x1000 + i * 8, phys | 0xe3n, true); // P|RW|PS|A|D (no A/D assists)
    }
  }
  const gdt = new Uint8Array([
    ...u64le(0n),
    ...u64le(0x00af_9b00_0000_ffffn),
    ...u64le(0x00cf_9300_0000_ffffn),
  ]);
  const labels = new Uint8Array(0x1000);
  (o.labels ?? []).forEach((l, i) => {
    for (let j = 0; j < l.length; j++) labels[i * 64 + j] = l.charCodeAt(j);
  });
  const vcpus: VcpuBootState[] = [];
  const ucallSlots: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const slot = base + SLOTS + BigInt(i * UCALL_SLOT_SIZE);
    ucallSlots.push(slot);
    vcpus.push({
      gprs: {
        rdi: BigInt(i),
        rsi: BigInt(n),
        r15: slot,
        rsp: base + 0x80000n - BigInt(i) * 0x1000n,
      },
      rip: base + CODE_OFFSET,
      rflags: 2n,
      cr0: 0x8005_0033n,
      cr3: base + PT,
      cr4: 0x620n,
      efer: 0x500n,
      pat: 0x0007_0406_0007_0406n,
      cs: seg(8, 11, true),
      ds: seg(0x10, 3, false),
      es: seg(0x10, 3, false),
      fs: seg(0x10, 3, false),
      gs: seg(0x10, 3, false),
      ss: seg(0x10, 3, false),
      tr: { ...seg(0, 11, false), s: 0, db: 0, g: 0, limit: 0x67 },
      ldt: { ...seg(0, 2, false), s: 0, db: 0, g: 0, limit: 0xffff },
      gdt: { base: base + GDT, limit: gdt.length - 1 },
      idt: { base: 0n, limit: 0 },
    });
  }
  return {
    writes: [
      { gpa: base + PT, bytes: pt },
      { gpa: base + GDT, bytes: gdt },
      { gpa: base + LABELS, bytes: labels },
      { gpa: base + CODE_OFFSET, bytes: o.code },
    ],
    vcpus,
    mapped: [{ gpa: 0n, size: 4n << 30n }],
    ucallSlots,
    pageTablePages: [0, 1, 2, 3, 4, 5].map((i) => base + PT + BigInt(i) * 0x1000n),
  };
}

/** `mov edx, UCALL_PORT; mov eax, cmd; out dx, eax`. */
function ucallBytes(cmd: number): number[] {
  return [0xba, ...u32le(UCALL_PORT), 0xb8, ...u32le(cmd), 0xef];
}

/** A short jump back to `target` from the end of a 2-byte jcc/jmp at `here`. */
function rel8(here: number, target: number): number {
  const d = target - (here + 2);
  if (d < -128 || d > 127) throw new RangeError("rel8 out of range");
  return d & 0xff;
}

/**
 * A guest that makes `count` `sync` ucalls (label at `label`, value 0, 1, …),
 * then `done`, then `hlt`. The loop is five instructions (store the value,
 * `out`, count, compare, branch): the label, eax and dx are set once, as
 * `out` changes no register.
 *
 * @param count number of syncs (at least 1)
 * @param label guest-physical address of the label (see {@linkcode labelGpa})
 * @param port the port of the loop's `out` (another port gives the same
 *   guest work without ucalls: the benchmark's baseline)
 * @returns the code
 */
export function syncLoopGuest(count: number, label: bigint, port = UCALL_PORT): Uint8Array {
  const b: number[] = [];
  b.push(0x48, 0xb8, ...u64le(label)); // mov rax, label
  b.push(0x49, 0x89, 0x47, 0x08); // mov [r15+8], rax
  b.push(0xba, ...u32le(port)); // mov edx, port
  b.push(0xb8, ...u32le(UcallCmd.SYNC)); // mov eax, SYNC
  b.push(0xb9, ...u32le(0)); // mov ecx, 0
  const loop = b.length;
  b.push(0x49, 0x89, 0x4f, 0x10); // mov [r15+16], rcx
  b.push(0xef); // out dx, eax
  b.push(0x48, 0xff, 0xc1); // inc rcx
  b.push(0x48, 0x81, 0xf9, ...u32le(count)); // cmp rcx, count
  b.push(0x72, rel8(b.length, loop)); // jb loop
  b.push(...ucallBytes(UcallCmd.DONE), 0xf4);
  return new Uint8Array(b);
}

/**
 * A guest that writes one u64 into each of `pages` pages from `gpa`
 * (stride 4 KiB), then reports `done`.
 *
 * @param gpa first page
 * @param pages page count (at least 1)
 * @returns the code
 */
export function pageWriterGuest(gpa: bigint, pages: number): Uint8Array {
  const b: number[] = [0x48, 0xbb, ...u64le(gpa), 0xb9, ...u32le(pages)];
  const loop = b.length;
  b.push(0x48, 0x89, 0x0b); // mov [rbx], rcx
  b.push(0x48, 0x81, 0xc3, ...u32le(4096)); // add rbx, 4096
  b.push(0x48, 0xff, 0xc9); // dec rcx
  b.push(0x75, rel8(b.length, loop)); // jnz loop
  b.push(...ucallBytes(UcallCmd.DONE), 0xf4);
  return new Uint8Array(b);
}

/** A guest that loops forever (`jmp $`). */
export function spinGuest(): Uint8Array {
  return new Uint8Array([0xeb, 0xfe]);
}

/**
 * A guest doing `out dx, eax` to `port` forever (the bare-PIO baseline).
 *
 * @param port a port that is not the ucall port
 * @returns the code
 */
export function pioLoopGuest(port: number): Uint8Array {
  return new Uint8Array([0xba, ...u32le(port), 0xef, 0xeb, 0xfd]);
}

/** A guest that reports `done` at once. */
export function doneGuest(): Uint8Array {
  return new Uint8Array([...ucallBytes(UcallCmd.DONE), 0xf4]);
}

/**
 * A guest that runs `dec rcx; jnz` `iterations` times (two instructions per
 * iteration, no memory access), then reports `done`: the per-instruction
 * cost is the slope of its run time over two iteration counts.
 *
 * @param iterations loop count (at least 1)
 * @returns the code
 */
export function countLoopGuest(iterations: number): Uint8Array {
  const b: number[] = [0xb9, ...u32le(iterations)]; // mov ecx, iterations
  const loop = b.length;
  b.push(0x48, 0xff, 0xc9); // dec rcx
  b.push(0x75, rel8(b.length, loop)); // jnz loop
  b.push(...ucallBytes(UcallCmd.DONE), 0xf4);
  return new Uint8Array(b);
}
