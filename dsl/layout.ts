/**
 * Guest-physical layout rules of a VM: page alignment, non-empty slots, no
 * overlap between slots or with the system region. Used by the checker on
 * constant layouts and by the interpreter on layouts computed at run time,
 * so both report the same words. Every overlap names both parties.
 *
 * @module
 */
import type { Expr, Loc, VmStmt } from "./ast.ts";
import { DEFAULT_SYSTEM_REGION } from "../guest/boot.ts";
import { SIZE_4K as PAGE_SIZE } from "../guest/page_tables.ts";
import { deviceShmSlot } from "./payloads.ts";
import { formatHex } from "./values.ts";

/** A region to place: a memslot, a device's shm region or the system region. */
export interface Region {
  /** How messages name it: `memslot 'ram'`, `the system region`. */
  label: string;
  /** The memslot it becomes (`ram`, a device's `gpu.shm`); absent for the system region. */
  slot?: string;
  gpa: bigint;
  size: bigint;
  /** Where the region is named (the overlap caret). */
  loc: Loc;
  /** Where its address is written (the alignment caret). */
  gpaLoc: Loc;
  /** Where its size is written. */
  sizeLoc: Loc;
}

/** A layout violation. */
export interface LayoutProblem {
  loc: Loc;
  message: string;
}

function range(r: Region): string {
  return `[${formatHex(r.gpa)}, ${formatHex(r.gpa + r.size)})`;
}

/**
 * Checks one region on its own (alignment, size).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { checkRegion } from "./layout.ts";
 * const loc = { line: 1, column: 1, offset: 0, length: 1 };
 * const r = { label: "memslot 'a'", gpa: 0x1800n, size: 4096n, loc, gpaLoc: loc, sizeLoc: loc };
 * assertEquals(checkRegion(r).map((p) => p.message), [
 *   "memslot 'a': gpa 0x1800 is not page aligned (4 KiB)",
 * ]);
 * ```
 */
export function checkRegion(region: Region): LayoutProblem[] {
  const problems: LayoutProblem[] = [];
  if (region.gpa < 0n || region.gpa % PAGE_SIZE !== 0n) {
    problems.push({
      loc: region.gpaLoc,
      message: `${region.label}: gpa ${formatHex(region.gpa)} is not page aligned (4 KiB)`,
    });
  }
  if (region.size <= 0n) {
    problems.push({ loc: region.sizeLoc, message: `${region.label}: size must be greater than 0` });
  } else if (region.size % PAGE_SIZE !== 0n) {
    problems.push({
      loc: region.sizeLoc,
      message: `${region.label}: size ${
        formatHex(region.size)
      } is not a multiple of the page size (4 KiB)`,
    });
  }
  if (region.gpa + region.size > 1n << 64n) {
    problems.push({
      loc: region.sizeLoc,
      message: `${region.label}: ${range(region)} ends beyond the 64-bit address space`,
    });
  }
  return problems;
}

/**
 * Checks a VM's layout: each region on its own, then every pair for
 * overlap. `system` is the VMM's reserved region; `regions` are the slots
 * in the order they were declared (a later one is reported as overlapping
 * an earlier one).
 */
export function checkLayout(system: Region, regions: readonly Region[]): LayoutProblem[] {
  const problems = [...checkRegion(system)];
  for (let i = 0; i < regions.length; i++) {
    const r = regions[i];
    problems.push(...checkRegion(r));
    const end = r.gpa + r.size;
    if (r.gpa < system.gpa + system.size && system.gpa < end) {
      problems.push({
        loc: r.loc,
        message: `${r.label} ${range(r)} overlaps ${system.label} ${range(system)}`,
      });
    }
    for (let j = 0; j < i; j++) {
      const other = regions[j];
      if (r.gpa < other.gpa + other.size && other.gpa < end) {
        problems.push({
          loc: r.loc,
          message: `${r.label} ${range(r)} overlaps ${other.label} ${range(other)}`,
        });
      }
    }
  }
  return problems;
}

/** The regions a vm block declares, with the system region. */
export interface DeclaredLayout {
  system: Region;
  /** Memslots and device shm regions, in declaration order. */
  regions: Region[];
  /** False when some address or size is not known (the checker's view of a variable). */
  complete: boolean;
}

/**
 * Collects the regions of a vm block: its system region (or the default),
 * memslots and device shm regions, in declaration order.
 *
 * @param stmt the vm block
 * @param value an address or size, or undefined when not known
 * @returns the layout, with `complete` false when a value was unknown
 */
export function declaredLayout(
  stmt: VmStmt,
  value: (expr: Expr, what: string) => bigint | undefined,
): DeclaredLayout {
  let complete = true;
  let system: Region = {
    label: "the system region",
    ...DEFAULT_SYSTEM_REGION,
    loc: stmt.name.loc,
    gpaLoc: stmt.name.loc,
    sizeLoc: stmt.name.loc,
  };
  const regions: Region[] = [];
  const region = (
    label: string,
    slot: string | undefined,
    loc: Loc,
    gpaExpr: Expr,
    sizeExpr: Expr,
  ): Region | undefined => {
    const gpa = value(gpaExpr, "gpa");
    const size = value(sizeExpr, "size");
    if (gpa === undefined || size === undefined) {
      complete = false;
      return undefined;
    }
    return { label, slot, gpa, size, loc, gpaLoc: gpaExpr.loc, sizeLoc: sizeExpr.loc };
  };
  for (const d of stmt.decls) {
    if (d.kind === "system") {
      system = region("the system region", undefined, d.loc, d.gpa, d.size) ?? system;
    } else if (d.kind === "memslot") {
      const name = d.slot.name;
      const r = region(`memslot '${name.text}'`, name.text, name.loc, d.slot.gpa, d.slot.size);
      if (r) regions.push(r);
    } else if (d.kind === "device" && d.shmGpa && d.shmSize) {
      const r = region(
        `device '${d.name.text}' shm region`,
        deviceShmSlot(d.name.text),
        d.name.loc,
        d.shmGpa,
        d.shmSize,
      );
      if (r) regions.push(r);
    }
  }
  return { system, regions, complete };
}
