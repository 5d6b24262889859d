/**
 * One pass of a live migration's copy phase, as QEMU's precopy does it: for
 * each named slot, sync its dirty log (when the slot logs) and read every
 * page through the VMM's own mapping. Both backends run the same pass; the
 * emulator adds what only it can see (the guest's memory type of each page,
 * so reads of non-WB pages are hazards, or flushed first with `clflush`).
 *
 * @module
 */
import { bitsSet } from "./memory/bitmap.ts";
import { PAGE_BYTES } from "./memory/layout.ts";
import type { MemslotInfo } from "./types.ts";

/** What one migration pass did. */
export interface MigrationPass {
  /** Pages read. */
  pages: bigint;
  /** Bytes read. */
  bytes: bigint;
  /** Pages the dirty logs reported since the last pass (0 for slots that do not log). */
  dirty: bigint;
  /**
   * Pages read while the guest mapped them with a memory type other than WB
   * (emu only; absent where the backend cannot see guest memory types).
   */
  hazards?: bigint;
  /** Pages flushed (clflush) before being read (emu only, with `clflush`). */
  flushed?: bigint;
}

/** What a backend gives {@linkcode migrationPass}. */
export interface MigrationHost {
  /** The slot by name (throws the backend's error for an unknown one). */
  slot(name: string): MemslotInfo;
  /** Read one 4 KiB page at `gpa` through the VMM's mapping. */
  readPage(gpa: bigint): void;
  /** KVM_GET_DIRTY_LOG + clear of a logging slot: the bitmap. */
  dirtyLog(name: string): Uint8Array;
  /**
   * Before a page is read: whether the guest maps it non-WB. With `clflush`
   * the backend flushes it (and counts the flush), so it is no hazard.
   * Absent: the backend cannot tell.
   */
  beforeRead?(gpa: bigint, clflush: boolean): "hazard" | "flushed" | "ok";
}

/**
 * Runs one pass over every page of `slots` (each named once).
 *
 * @param host the backend's side of the pass
 * @param slots slot names, as a script names them (`ram`, `gpu.shm`)
 * @param clflush flush each non-WB page before reading it
 * @returns the counts
 */
export function migrationPass(
  host: MigrationHost,
  slots: readonly string[],
  clflush: boolean,
): MigrationPass {
  const infos = [...new Set(slots)].map((name) => host.slot(name));
  let pages = 0n, dirty = 0n, hazards = 0n, flushed = 0n;
  for (const s of infos) {
    if (s.flags.includes("dirty_log")) dirty += BigInt(bitsSet(host.dirtyLog(s.name)));
    for (let gpa = s.gpa; gpa < s.gpa + s.size; gpa += PAGE_BYTES) {
      const seen = host.beforeRead?.(gpa, clflush);
      if (seen === "hazard") hazards++;
      else if (seen === "flushed") flushed++;
      host.readPage(gpa);
      pages++;
    }
  }
  const pass: MigrationPass = { pages, bytes: pages * PAGE_BYTES, dirty };
  if (host.beforeRead !== undefined) {
    pass.hazards = hazards;
    pass.flushed = flushed;
  }
  return pass;
}
