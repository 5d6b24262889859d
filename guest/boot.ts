/**
 * Builds the {@linkcode BootImage} of a guest: the system region's contents
 * (GDT and TSS, ucall slots, stacks, payload code, identity page tables) and
 * each vCPU's entry state.
 *
 * System region layout (page granular, from its base; pages overlapping a
 * `guest file` loaded into the region are skipped):
 *
 * | what | size |
 * | --- | --- |
 * | GDT (null, code 0x08, data 0x10, TSS 0x18 as two slots) and the TSS at +0x80 | 4 KiB |
 * | ucall slots, 64 B per vCPU | vCPUs × 64 B, rounded up to pages |
 * | stacks | 4 KiB per vCPU |
 * | payload scratch pages (pt_write: two per vCPU) | as needed |
 * | payload code and its strings | 64 KiB reserved |
 * | page tables | the rest, page by page as needed |
 *
 * Long-mode entry state (every vCPU): CR0 = PE|MP|ET|NE|WP|AM|PG
 * (0x80050033, Linux's value; AM has no effect at CPL 0), CR4 = PAE|OSFXSR|
 * OSXMMEXCPT (0x620: the minimum for 64-bit paging, plus SSE state so
 * compiler-generated SSE in a `guest file` does not #UD), EFER = LME|LMA
 * (no NXE: the tables set no NX bits), IA32_PAT at its reset value, RFLAGS =
 * 0x2, the selftests' flat segments, TR = busy 64-bit TSS, LDT unusable,
 * IDT limit 0 (any exception escalates to a triple fault: `shutdown`).
 * Registers: rdi = vCPU index, rsi = vCPU count, r15 = its ucall slot, rsp =
 * the top of its stack, rip = the payload's first byte (or the file's entry).
 *
 * Page tables map the system region plus what the payload's parameters name
 * (see each payload's `needs`), with 2 MiB leaves where a range covers an
 * aligned 2 MiB block, 1 GiB leaves only with `allow1G` (CPUID pdpe1gb), and
 * 4 KiB PTEs elsewhere. A `guest file` in long mode gets the system region
 * and the slot holding the file, then every other user slot, in GPA order,
 * whose tables still fit in the region (a slot whose tables do not fit is
 * left unmapped; see `BootImage.mapped`). Real mode: no paging; CS selector =
 * `(entry >> 4) & 0xf000` (base = entry & 0xf0000), IP = entry & 0xffff,
 * CR0 = ET (0x10), data segments at 0, SS:SP at the vCPU's stack when it lies
 * below 1 MiB, IDT limit 0.
 *
 * @module
 */

import { Assembler } from "./assembler.ts";
import type { BootImage, GpaRange, SegmentState, VcpuBootState } from "./image.ts";
import {
  hexRange,
  type Mapping,
  mergeRanges,
  PageTables,
  SIZE_2M,
  SIZE_4K,
  tablePagesUpperBound,
  VA_LIMIT,
} from "./page_tables.ts";
import { PAT_RESET, type ResolvedPayload, resolvePayload } from "./payloads/mod.ts";
import type { PayloadLayout } from "./payloads/payload.ts";
import {
  codeSegment64,
  dataSegment64,
  encodeDescriptor,
  encodeSystemDescriptorHigh,
  GDT_ENTRIES,
  GDT_ENTRY_SIZE,
  realModeSegment,
  realModeSystemSegments,
  TSS_IOMAP_BASE_OFFSET,
  TSS_SIZE,
  tssSegment64,
  unusableSegment,
} from "./segments.ts";
import { UCALL_SLOT_SIZE } from "./ucall.ts";
import type { GuestSpec, MemslotInfo } from "../vmm/types.ts";

/** The default system region: the first MiB, as on a PC. */
export const DEFAULT_SYSTEM_REGION: Readonly<GpaRange> = Object.freeze({
  gpa: 0n,
  size: 1n << 20n,
});
/** Stack bytes per vCPU. */
export const STACK_SIZE = 4096n;
/** Bytes reserved for payload code and strings. */
export const CODE_AREA_SIZE = 64n * 1024n;
/** Offset of the TSS inside the GDT page. */
export const TSS_OFFSET = 0x80;

/** Control-register bits of the long-mode entry state. */
export const CR0 = {
  PE: 1n << 0n,
  MP: 1n << 1n,
  ET: 1n << 4n,
  NE: 1n << 5n,
  WP: 1n << 16n,
  AM: 1n << 18n,
  PG: 1n << 31n,
} as const;
/** CR4 bits. */
export const CR4 = { PAE: 1n << 5n, OSFXSR: 1n << 9n, OSXMMEXCPT: 1n << 10n } as const;
/** EFER bits. */
export const EFER = { LME: 1n << 8n, LMA: 1n << 10n } as const;
/** CR0 in long mode: 0x80050033. */
export const LONG_MODE_CR0 = CR0.PE | CR0.MP | CR0.ET | CR0.NE | CR0.WP | CR0.AM | CR0.PG;
/** CR4 in long mode: 0x620. */
export const LONG_MODE_CR4 = CR4.PAE | CR4.OSFXSR | CR4.OSXMMEXCPT;
/** EFER in long mode: 0x500. */
export const LONG_MODE_EFER = EFER.LME | EFER.LMA;
/** CR0 in real mode. */
export const REAL_MODE_CR0: bigint = CR0.ET;
/** IA32_PAT at reset (the same value as `PAT_RESET`, which `gpu_fill` reprograms from). */
export const PAT_RESET_VALUE: bigint = PAT_RESET;
/** RFLAGS at entry (bit 1 is reserved, always 1). */
export const RFLAGS_RESET = 0x2n;

const REAL_MODE_LIMIT = 1n << 20n;
const REAL_SEGMENT_SPAN = 0x10000n;
const REAL_SELECTOR_MASK = 0xf000n;
const REAL_OFFSET_MASK = 0xffffn;
const SCRATCH_PAGES_PER_VCPU = 2n;

/** Options of {@linkcode buildBootImage}. */
export interface BootOptions {
  /** The payload or flat binary. */
  guest: GuestSpec;
  /** The user memslots (a virtio_gpu's shm memslot is named `<device>.shm`). */
  slots: readonly MemslotInfo[];
  /** Number of vCPUs. */
  vcpus: number;
  /** The system region (default {@linkcode DEFAULT_SYSTEM_REGION}). */
  system?: GpaRange;
  /** Whether 1 GiB guest pages may be used (the host's CPUID has pdpe1gb). */
  allow1G?: boolean;
}

/**
 * Builds the boot image.
 *
 * @param options guest, slots, vCPU count, system region, 1G-page permission
 * @returns what the backends load
 * @throws {PayloadParamError} for payload parameters that do not fit (the
 *   payload's schema and checks, `guest/payloads/`: resolved here, before
 *   anything else, and nowhere else at run time)
 * @throws {RangeError} for a file outside guest memory, or a system region
 *   too small for what it must hold (the message says how to grow it)
 *
 * @example Usage
 * ```ts
 * import { buildBootImage } from "./boot.ts";
 * import { assertEquals } from "@std/assert";
 * const image = buildBootImage({
 *   guest: { kind: "payload", name: "write_sweep", params: { slot: "ram" } },
 *   slots: [{
 *     name: "ram", id: 1, gpa: 0x100000n, size: 0x4000000n,
 *     flags: [], backing: "anon", hugepage: 0x200000n,
 *   }],
 *   vcpus: 1,
 * });
 * assertEquals(image.vcpus[0].cr0, 0x80050033n);
 * assertEquals(image.mapped, [{ gpa: 0n, size: 0x4100000n }]);
 * ```
 */
export function buildBootImage(options: BootOptions): BootImage {
  const system = options.system ?? DEFAULT_SYSTEM_REGION;
  const { vcpus, guest } = options;
  const payload = guest.kind === "payload"
    ? resolvePayload(guest.name, guest.params, options.slots, { vcpus })
    : undefined;
  const allow1G = options.allow1G ?? false;
  if (!Number.isInteger(vcpus) || vcpus < 1) {
    throw new RangeError(`Cannot boot ${vcpus} vCPUs: need a positive integer`);
  }
  if ((system.gpa | system.size) & (SIZE_4K - 1n) || system.size === 0n) {
    throw new RangeError(`Cannot use system region ${fmt(system)}: not page aligned`);
  }
  const reserved: GpaRange[] = [];
  if (guest.kind === "file") {
    const file = { gpa: guest.load, size: BigInt(guest.bytes.length) };
    if (overlaps(file, system)) reserved.push(file);
  }
  const region = new SystemRegion(system, reserved);
  const chunks: { gpa: bigint; bytes: Uint8Array }[] = [];

  const real = guest.kind === "file" && guest.mode === "real";
  const gdtPage = real ? 0n : region.take(1n, "the GDT");
  const ucall = region.take(pagesFor(BigInt(vcpus * UCALL_SLOT_SIZE)), "the ucall slots");
  const stacks = region.take(pagesFor(STACK_SIZE) * BigInt(vcpus), "the vCPU stacks");
  const ucallSlots = Array.from({ length: vcpus }, (_, i) => ucall + BigInt(i * UCALL_SLOT_SIZE));
  const stackTops = Array.from({ length: vcpus }, (_, i) => stacks + STACK_SIZE * BigInt(i + 1));

  if (real) {
    return {
      writes: withFile(coalesce(chunks), guest, system, options.slots),
      vcpus: stackTops.map((top, i) => realModeState(guest.entry, top, i, vcpus, ucallSlots[i])),
      mapped: [],
      ucallSlots,
      pageTablePages: [],
    };
  }

  const ctx: LayoutContext = { system, slots: options.slots, vcpus, allow1G, region };
  const { entry, tables, mapped, code } = guest.kind === "payload"
    ? layoutPayload(payload!, ctx)
    : layoutFile(guest, ctx);
  if (code) chunks.push(code);

  const tss = gdtPage + BigInt(TSS_OFFSET);
  chunks.push({ gpa: gdtPage, bytes: gdtBytes(tss) });
  for (const p of tables.pages()) chunks.push(p);
  const state = (i: number): VcpuBootState =>
    longModeState({
      entry,
      cr3: tables.root,
      gdt: gdtPage,
      tss,
      stackTop: stackTops[i],
      index: i,
      vcpus,
      ucall: ucallSlots[i],
    });
  const fileSpec = guest.kind === "file" ? guest : undefined;
  return {
    writes: fileSpec
      ? withFile(coalesce(chunks), fileSpec, system, options.slots)
      : coalesce(chunks),
    vcpus: Array.from({ length: vcpus }, (_, i) => state(i)),
    mapped,
    ucallSlots,
    pageTablePages: tables.pages().map((p) => p.gpa),
  };
}

/** What the page-table layout of a payload or a long-mode file needs. */
interface LayoutContext {
  system: GpaRange;
  slots: readonly MemslotInfo[];
  vcpus: number;
  allow1G: boolean;
  region: SystemRegion;
}

/** The entry point, the page tables, the identity-mapped ranges and the code to load. */
interface Layout {
  entry: bigint;
  tables: PageTables;
  mapped: GpaRange[];
  code?: { gpa: bigint; bytes: Uint8Array };
}

/** Maps what a resolved payload needs, and assembles it into the code area. */
function layoutPayload(payload: ResolvedPayload, ctx: LayoutContext): Layout {
  const { region, vcpus, allow1G } = ctx;
  const { def, params } = payload;
  const needs = def.needs(params, vcpus);
  const scratchPages = needs.scratchPtePerVcpu
    ? region.take(SCRATCH_PAGES_PER_VCPU * BigInt(vcpus), "the payload's scratch pages")
    : 0n;
  const entry = region.take(pagesFor(CODE_AREA_SIZE), "the payload code");
  const tables = new PageTables({ allocate: () => region.tablePage(), allow1G });
  // Payload ranges need not be page aligned (a sweep of 256 bytes): map whole pages.
  const identity = mergeRanges([ctx.system, ...needs.identity.map(pageRange)]);
  const pat = (needs.pat ?? []).map((r) => ({ ...pageRange(r), patIndex: r.patIndex }));
  const maps: Mapping[] = identity.map((r) => identityMap(r, "auto"));
  for (const r of pat) maps.push({ ...identityMap(r, "4k"), patIndex: r.patIndex });
  const layout: PayloadLayout = { vcpus };
  if (needs.scratchPtePerVcpu) {
    const va = scratchVa([...identity, ...pat]);
    for (let i = 0n; i < BigInt(vcpus); i++) {
      maps.push({
        va: va + i * SIZE_4K,
        pa: scratchPages + i * SCRATCH_PAGES_PER_VCPU * SIZE_4K,
        size: SIZE_4K,
        leaf: "4k",
      });
    }
    layout.scratch = { va, pteGpa: 0n, pages: scratchPages };
  }
  buildTables(tables, maps, region, allow1G);
  if (layout.scratch) layout.scratch.pteGpa = tables.pteAddress(layout.scratch.va);
  const a = new Assembler();
  def.emit(a, params, layout);
  const bytes = a.assemble(entry).bytes;
  if (BigInt(bytes.length) > CODE_AREA_SIZE) {
    throw new RangeError(`Cannot fit payload "${def.name}": ${bytes.length} bytes of code`);
  }
  return {
    entry,
    tables,
    mapped: mergeRanges([...identity, ...pat]),
    code: { gpa: entry, bytes },
  };
}

/**
 * Maps the system region, the slot holding a long-mode file, then every
 * other slot (in GPA order) whose tables still fit.
 */
function layoutFile(guest: Extract<GuestSpec, { kind: "file" }>, ctx: LayoutContext): Layout {
  const { region, allow1G } = ctx;
  const tables = new PageTables({ allocate: () => region.tablePage(), allow1G });
  const home = ctx.slots.find((s) => contains(s, { gpa: guest.load, size: 1n }));
  const others = [...ctx.slots].sort((x, y) => (x.gpa < y.gpa ? -1 : 1))
    .filter((s) => s !== home && s.gpa + s.size <= VA_LIMIT);
  const identity: GpaRange[] = [ctx.system];
  buildTables(tables, [identityMap(ctx.system, "auto")], region, allow1G);
  if (home) {
    buildTables(tables, [identityMap(home, "auto")], region, allow1G);
    identity.push(home);
  }
  for (const s of others) {
    const bound = tablePagesUpperBound(s, { allow1G, leaf4k: false });
    if (bound > region.tablePagesLeft()) continue;
    buildTables(tables, [identityMap(s, "auto")], region, allow1G);
    identity.push(s);
  }
  const mapped = mergeRanges(identity);
  if (!mapped.some((r) => contains(r, { gpa: guest.entry, size: 1n }))) {
    throw new RangeError(
      `Cannot enter the guest file at 0x${guest.entry.toString(16)}: not mapped`,
    );
  }
  return { entry: guest.entry, tables, mapped };
}

/** Page allocation inside the system region, skipping reserved ranges. */
class SystemRegion {
  #region: GpaRange;
  #reserved: readonly GpaRange[];
  #next: bigint;

  constructor(region: GpaRange, reserved: readonly GpaRange[]) {
    this.#region = region;
    this.#reserved = reserved;
    this.#next = region.gpa;
  }

  /** Takes `pages` contiguous pages for `what`. */
  take(pages: bigint, what: string): bigint {
    const r = this.#alloc(pages);
    if (r === undefined) {
      throw new RangeError(
        `Cannot fit ${what} (${pages} pages) in the system region ${
          fmt(this.#region)
        }: grow it with \`system gpa A size S\``,
      );
    }
    return r;
  }

  /** One page for a page table. */
  tablePage(): bigint {
    const r = this.#alloc(1n);
    if (r === undefined) throw new TableSpaceError();
    return r;
  }

  /** Pages left for page tables. */
  tablePagesLeft(): bigint {
    let n = 0n;
    for (let p = this.#next; p < this.#region.gpa + this.#region.size; p += SIZE_4K) {
      if (!this.#reserved.some((r) => overlaps(r, { gpa: p, size: SIZE_4K }))) n++;
    }
    return n;
  }

  get region(): GpaRange {
    return this.#region;
  }

  #alloc(pages: bigint): bigint | undefined {
    const end = this.#region.gpa + this.#region.size;
    let start = this.#next;
    for (;;) {
      const want = { gpa: start, size: pages * SIZE_4K };
      if (want.gpa + want.size > end) return undefined;
      const hit = this.#reserved.find((r) => overlaps(r, want));
      if (!hit) break;
      start = roundUp(hit.gpa + hit.size, SIZE_4K);
    }
    this.#next = start + pages * SIZE_4K;
    return start;
  }
}

/** Thrown by the page allocator when the region is full; turned into a helpful message. */
class TableSpaceError extends RangeError {
  constructor() {
    super("Cannot allocate a page-table page");
  }
}

function buildTables(
  tables: PageTables,
  maps: readonly Mapping[],
  region: SystemRegion,
  allow1G: boolean,
): void {
  for (const m of maps) {
    try {
      tables.map(m);
    } catch (e) {
      if (!(e instanceof TableSpaceError)) throw e;
      const need = maps.reduce(
        (n, x) =>
          n + tablePagesUpperBound({ gpa: x.pa, size: x.size }, {
            allow1G,
            leaf4k: x.leaf === "4k",
          }),
        0n,
      );
      throw new RangeError(
        `Cannot fit the page tables for ${
          maps.map((x) => fmt({ gpa: x.pa, size: x.size })).join(", ")
        } in the system region ${fmt(region.region)} (up to ${
          need * SIZE_4K / 1024n
        } KiB of tables needed): shrink the range or grow the region with \`system gpa A size S\``,
      );
    }
  }
}

function identityMap(r: GpaRange, leaf: "auto" | "4k"): Mapping {
  return { va: r.gpa, pa: r.gpa, size: r.size, leaf };
}

/** The highest 2 MiB-aligned virtual block below 128 TiB that no identity range uses. */
function scratchVa(mapped: readonly GpaRange[]): bigint {
  for (let va = VA_LIMIT - SIZE_2M; va >= 0n; va -= SIZE_2M) {
    if (!mapped.some((r) => overlaps(r, { gpa: va, size: SIZE_2M }))) return va;
  }
  throw new RangeError("Cannot find unmapped virtual space for the scratch mapping");
}

function gdtBytes(tss: bigint): Uint8Array {
  const page = new Uint8Array(Number(SIZE_4K));
  const view = new DataView(page.buffer);
  const tssSeg = tssSegment64(tss);
  const entries = [
    0n,
    encodeDescriptor(codeSegment64()),
    encodeDescriptor(dataSegment64()),
    encodeDescriptor(tssSeg),
    encodeSystemDescriptorHigh(tssSeg),
  ];
  if (entries.length !== GDT_ENTRIES) throw new TypeError("unreachable: GDT size");
  entries.forEach((d, i) => view.setBigUint64(i * GDT_ENTRY_SIZE, d, true));
  // No I/O permission bitmap: the map base points past the TSS limit.
  view.setUint16(TSS_OFFSET + TSS_IOMAP_BASE_OFFSET, TSS_SIZE, true);
  return page;
}

function longModeState(o: {
  entry: bigint;
  cr3: bigint;
  gdt: bigint;
  tss: bigint;
  stackTop: bigint;
  index: number;
  vcpus: number;
  ucall: bigint;
}): VcpuBootState {
  const data = dataSegment64();
  return {
    gprs: {
      rdi: BigInt(o.index),
      rsi: BigInt(o.vcpus),
      r15: o.ucall,
      rsp: o.stackTop,
    },
    rip: o.entry,
    rflags: RFLAGS_RESET,
    cr0: LONG_MODE_CR0,
    cr3: o.cr3,
    cr4: LONG_MODE_CR4,
    efer: LONG_MODE_EFER,
    pat: PAT_RESET_VALUE,
    cs: codeSegment64(),
    ds: data,
    es: { ...data },
    fs: { ...data },
    gs: { ...data },
    ss: { ...data },
    tr: tssSegment64(o.tss),
    ldt: unusableSegment(),
    gdt: { base: o.gdt, limit: GDT_ENTRIES * GDT_ENTRY_SIZE - 1 },
    idt: { base: 0n, limit: 0 },
  };
}

function realModeState(
  entry: bigint,
  stackTop: bigint,
  index: number,
  vcpus: number,
  ucall: bigint,
): VcpuBootState {
  if (entry >= REAL_MODE_LIMIT) {
    throw new RangeError(`Cannot enter real mode at 0x${entry.toString(16)}: above 1 MiB`);
  }
  const csSel = Number((entry >> 4n) & REAL_SELECTOR_MASK);
  // SS:SP at the stack when it is reachable in real mode, else 0:0.
  let ss: SegmentState = realModeSegment(0, false);
  let sp = 0n;
  if (stackTop <= REAL_MODE_LIMIT) {
    const base = (stackTop - 1n) & ~(REAL_SEGMENT_SPAN - 1n);
    ss = realModeSegment(Number(base >> 4n), false);
    sp = (stackTop - base) & REAL_OFFSET_MASK;
  }
  const data = realModeSegment(0, false);
  const { tr, ldt } = realModeSystemSegments();
  return {
    gprs: { rdi: BigInt(index), rsi: BigInt(vcpus), r15: ucall, rsp: sp },
    rip: entry & REAL_OFFSET_MASK,
    rflags: RFLAGS_RESET,
    cr0: REAL_MODE_CR0,
    cr3: 0n,
    cr4: 0n,
    efer: 0n,
    pat: PAT_RESET_VALUE,
    cs: realModeSegment(csSel, true),
    ds: data,
    es: { ...data },
    fs: { ...data },
    gs: { ...data },
    ss,
    tr,
    ldt,
    gdt: { base: 0n, limit: 0xffff },
    idt: { base: 0n, limit: 0 },
  };
}

/**
 * Adds the file's bytes to the system region's writes: merged into them when
 * the file lies in the region (it occupies pages the layout skipped), as a
 * write of its own when it lies in one user memslot.
 */
function withFile(
  writes: BootImage["writes"],
  guest: Extract<GuestSpec, { kind: "file" }>,
  system: GpaRange,
  slots: readonly MemslotInfo[],
): BootImage["writes"] {
  const file = { gpa: guest.load, size: BigInt(guest.bytes.length) };
  if (file.size === 0n) return writes;
  const chunk = { gpa: guest.load, bytes: guest.bytes };
  if (contains(system, file)) return coalesce([...writes, chunk]);
  if (!slots.some((s) => contains(s, file))) {
    throw new RangeError(
      `Cannot load the guest file at ${fmt(file)}: not inside the system region or one memslot`,
    );
  }
  return [...writes, chunk];
}

/** Sorts chunks and merges touching ones, so each write is one contiguous copy. */
function coalesce(chunks: { gpa: bigint; bytes: Uint8Array }[]): BootImage["writes"] {
  const sorted = [...chunks].sort((a, b) => (a.gpa < b.gpa ? -1 : 1));
  const out: BootImage["writes"] = [];
  let run: { gpa: bigint; parts: Uint8Array[]; end: bigint } | undefined;
  const flush = () => {
    if (!run) return;
    const bytes = new Uint8Array(Number(run.end - run.gpa));
    let at = 0;
    for (const p of run.parts) {
      bytes.set(p, at);
      at += p.length;
    }
    out.push({ gpa: run.gpa, bytes });
  };
  for (const c of sorted) {
    if (run && c.gpa === run.end) {
      run.parts.push(c.bytes);
      run.end += BigInt(c.bytes.length);
    } else {
      flush();
      run = { gpa: c.gpa, parts: [c.bytes], end: c.gpa + BigInt(c.bytes.length) };
    }
  }
  flush();
  return out;
}

/** The smallest page-aligned range covering `r`. */
function pageRange(r: GpaRange): GpaRange {
  const start = r.gpa & ~(SIZE_4K - 1n);
  return { gpa: start, size: roundUp(r.gpa + r.size, SIZE_4K) - start };
}

function pagesFor(bytes: bigint): bigint {
  return roundUp(bytes, SIZE_4K) / SIZE_4K;
}

function roundUp(v: bigint, to: bigint): bigint {
  return (v + to - 1n) / to * to;
}

function overlaps(a: GpaRange, b: GpaRange): boolean {
  return a.gpa < b.gpa + b.size && b.gpa < a.gpa + a.size;
}

function contains(outer: GpaRange, inner: GpaRange): boolean {
  return inner.gpa >= outer.gpa && inner.gpa + inner.size <= outer.gpa + outer.size;
}

function fmt(r: GpaRange): string {
  return hexRange(r.gpa, r.size);
}
