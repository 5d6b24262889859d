/**
 * The TDP (EPT-style) SPTE tree: lookup, install, split, write-protect,
 * zap and in-place huge-page recovery, with the `pages_4k/2m/1g` counters
 * kept as KVM's `kvm_update_page_stats` does (leaves currently mapped).
 * Callers decide on TLB flushes; every function here reports whether it
 * removed a permission or a mapping.
 *
 * @module
 */
import { M, PAGES_BY_LEVEL } from "../stats.ts";
import { ENTRY_PAGES, SPTE_HUGE, SPTE_MMU_WRITABLE, SPTE_R, SPTE_W, SpteTable } from "./spte.ts";

const NONLEAF = SPTE_R | SPTE_W | 4;

/** The SPTE tree of one VM (one root shared by every vCPU, as KVM shares roots of the same role). */
export class TdpMmu {
  #root: SpteTable = new SpteTable(4, 0);
  readonly #vm: Float64Array;
  /** Table of the last {@linkcode TdpMmu.lookup} (valid until the next change). */
  hitTable: SpteTable = this.#root;
  /** Index in {@linkcode TdpMmu.hitTable}. */
  hitIndex = 0;
  /**
   * Bumped whenever a mapping disappears (zaps, table replacement), so
   * callers may cache "this GFN resolves to that page for reads" until it moves.
   */
  epoch = 0;

  /**
   * Creates the instance.
   * @param vmStats the VM counters (`pages_*`, `sptes_zapped`, …)
   */
  constructor(vmStats: Float64Array) {
    this.#vm = vmStats;
  }

  /**
   * The flag word mapping `gfn`: the leaf if present, else the first
   * non-present entry on the path (0 or an MMIO SPTE). Sets
   * {@linkcode TdpMmu.hitTable}/{@linkcode TdpMmu.hitIndex}. Hot path.
   */
  lookup(gfn: number): number {
    const hi = Math.floor(gfn / 134217728);
    const lo = gfn - hi * 134217728;
    let t = this.#root;
    let idx = hi;
    for (;;) {
      const e = t.spte[idx];
      if ((e & SPTE_R) === 0 || t.level === 1 || (e & SPTE_HUGE) !== 0) {
        this.hitTable = t;
        this.hitIndex = idx;
        return e;
      }
      t = t.child![idx]!;
      idx = (lo >>> (9 * (t.level - 1))) & 511;
    }
  }

  /** Level of the leaf found by the last lookup. */
  get hitLevel(): number {
    return this.hitTable.level;
  }

  /**
   * Install a leaf at `level` for the frame containing `gfn` with `flags`
   * (no HUGE bit needed: added above 4K). A huge leaf above `level` on the
   * path is split (the rest of its range stays mapped); a table at `level`
   * is replaced, dropping its leaves. Leaves the leaf in hitTable/hitIndex.
   */
  map(gfn: number, level: number, flags: number): void {
    const hi = Math.floor(gfn / 134217728);
    this.#mapFrom(this.#root, hi, gfn - hi * 134217728, level, flags);
  }

  /**
   * {@linkcode TdpMmu.map} for the GFN of the last {@linkcode TdpMmu.lookup},
   * starting where that lookup stopped (the fault path's common case:
   * nothing changed in between).
   */
  mapAfterLookup(gfn: number, level: number, flags: number): void {
    const t = this.hitTable;
    if (t.level < level) return this.map(gfn, level, flags);
    const hi = Math.floor(gfn / 134217728);
    this.#mapFrom(t, this.hitIndex, gfn - hi * 134217728, level, flags);
  }

  #mapFrom(t: SpteTable, idx: number, lo: number, level: number, flags: number): void {
    while (t.level > level) {
      const e = t.spte[idx];
      if ((e & SPTE_R) === 0) {
        const c = new SpteTable(t.level - 1, t.baseGfn + idx * ENTRY_PAGES[t.level]);
        t.child![idx] = c;
        t.spte[idx] = NONLEAF;
      } else if ((e & SPTE_HUGE) !== 0) {
        this.#split(t, idx);
      }
      t = t.child![idx]!;
      idx = (lo >>> (9 * (t.level - 1))) & 511;
    }
    const old = t.spte[idx];
    if ((old & SPTE_R) !== 0) {
      if (level > 1 && (old & SPTE_HUGE) === 0) {
        this.#vm[M.sptes_zapped] += this.#dropSubtree(t.child![idx]!);
        t.child![idx] = undefined;
        this.epoch++;
      } else {
        this.#vm[PAGES_BY_LEVEL[level]]--;
      }
    }
    t.spte[idx] = level > 1 ? flags | SPTE_HUGE : flags;
    this.#vm[PAGES_BY_LEVEL[level]]++;
    this.hitTable = t;
    this.hitIndex = idx;
  }

  /** Replace the huge leaf at `t.spte[idx]` by a table of 512 smaller leaves with its permissions. */
  #split(t: SpteTable, idx: number): SpteTable {
    const e = t.spte[idx];
    const c = new SpteTable(t.level - 1, t.baseGfn + idx * ENTRY_PAGES[t.level]);
    c.spte.fill(c.level > 1 ? e : e & ~SPTE_HUGE);
    t.child![idx] = c;
    t.spte[idx] = NONLEAF;
    this.#vm[PAGES_BY_LEVEL[t.level]]--;
    this.#vm[PAGES_BY_LEVEL[c.level]] += 512;
    return c;
  }

  /** Split the leaf covering `gfn` until it is at most `level`. */
  splitTo(gfn: number, level: number): void {
    for (;;) {
      this.lookup(gfn);
      const t = this.hitTable;
      if (t.level <= level || (t.spte[this.hitIndex] & SPTE_R) === 0) return;
      this.#split(t, this.hitIndex);
    }
  }

  /** Count and drop every leaf under `t`. */
  #dropSubtree(t: SpteTable): number {
    let n = 0;
    for (let i = 0; i < 512; i++) {
      const e = t.spte[i];
      if ((e & SPTE_R) === 0) continue;
      if (t.level === 1 || (e & SPTE_HUGE) !== 0) {
        n++;
        this.#vm[PAGES_BY_LEVEL[t.level]]--;
      } else {
        n += this.#dropSubtree(t.child![i]!);
      }
    }
    return n;
  }

  /**
   * Visit the present entries of every table intersecting `[start, end)`;
   * `fn` gets (table, index) for leaves (huge ones too) and for tables at
   * `tableLevel` and above when `tables` is set, bottom-up.
   */
  #visit(
    t: SpteTable,
    start: number,
    end: number,
    fn: (t: SpteTable, i: number, leaf: boolean) => void,
  ): void {
    const ep = ENTRY_PAGES[t.level];
    const i0 = Math.max(0, Math.floor((start - t.baseGfn) / ep));
    const i1 = Math.min(511, Math.floor((end - 1 - t.baseGfn) / ep));
    for (let i = i0; i <= i1; i++) {
      const e = t.spte[i];
      if ((e & SPTE_R) === 0) continue;
      if (t.level === 1 || (e & SPTE_HUGE) !== 0) fn(t, i, true);
      else {
        this.#visit(t.child![i]!, start, end, fn);
        fn(t, i, false);
      }
    }
  }

  /** Zap the leaf SPTEs in `[start, end)` (KVM's zap_leafs); returns how many. */
  zapRange(start: number, end: number): number {
    let n = 0;
    this.epoch++;
    this.#visit(this.#root, start, end, (t, i, leaf) => {
      if (!leaf) return;
      t.spte[i] = 0;
      this.#vm[PAGES_BY_LEVEL[t.level]]--;
      n++;
    });
    this.#vm[M.sptes_zapped] += n;
    return n;
  }

  /** Make the root obsolete and start a new one (kvm_mmu_zap_all_fast); returns leaves dropped. */
  zapAll(): number {
    const n = this.#vm[M.pages_4k] + this.#vm[M.pages_2m] + this.#vm[M.pages_1g];
    this.#root = new SpteTable(4, 0);
    this.hitTable = this.#root;
    this.epoch++;
    this.#vm[M.pages_4k] = 0;
    this.#vm[M.pages_2m] = 0;
    this.#vm[M.pages_1g] = 0;
    this.#vm[M.sptes_zapped] += n;
    return n;
  }

  /** Split every huge leaf in `[start, end)` down to 4K (eager_page_split); returns splits. */
  splitRange(start: number, end: number): number {
    let n = 0;
    const again = (t: SpteTable, i: number): void => {
      const c = this.#split(t, i);
      n++;
      if (c.level > 1) { for (let j = 0; j < 512; j++) again(c, j); }
    };
    this.#visit(this.#root, start, end, (t, i, leaf) => {
      if (leaf && t.level > 1) again(t, i);
    });
    return n;
  }

  /**
   * Clear W on every leaf in `[start, end)`; with `hard` also the
   * MMU-writable bit (write tracking, as `spte_write_protect(pt_protect)`).
   * Returns the number of leaves that lost W.
   */
  writeProtectRange(start: number, end: number, hard: boolean): number {
    let n = 0;
    const clear = hard ? SPTE_W | SPTE_MMU_WRITABLE : SPTE_W;
    this.#visit(this.#root, start, end, (t, i, leaf) => {
      if (!leaf) return;
      const e = t.spte[i];
      if (e & SPTE_W) n++;
      t.spte[i] = e & ~clear;
    });
    return n;
  }

  /** Clear W on the leaf mapping `gfn` (huge or not); returns whether it was writable. */
  writeProtectGfn(gfn: number, hard: boolean): boolean {
    const e = this.lookup(gfn);
    if ((e & SPTE_R) === 0) return false;
    this.hitTable.spte[this.hitIndex] = e & ~(hard ? SPTE_W | SPTE_MMU_WRITABLE : SPTE_W);
    return (e & SPTE_W) !== 0;
  }

  /**
   * Disabling dirty logging with `zap` (kvm_mmu_zap_collapsible_sptes): drop
   * each table above 4K whose range `maxLevel` allows as one huge page, so
   * the guest refaults it huge. Returns the leaves dropped.
   */
  zapCollapsible(start: number, end: number, maxLevel: (gfn: number) => number): number {
    let n = 0;
    this.epoch++;
    this.#visit(this.#root, start, end, (t, i, leaf) => {
      if (leaf || !collapsible(t, i, start, end, maxLevel)) return;
      n += this.#dropSubtree(t.child![i]!);
      t.child![i] = undefined;
      t.spte[i] = 0;
    });
    this.#vm[M.sptes_zapped] += n;
    return n;
  }

  /**
   * Disabling dirty logging in place: walking top-down (1G before 2M, as the
   * TDP iterator does), put one huge leaf over each present table whose
   * range `maxLevel` allows huge; the table need not be fully mapped.
   * `fresh(gfn)` gives the leaf's flags (seed 004's `try_promote_lpage`
   * builds a new SPTE for any present table); without it the leaf is the
   * first present child leaf made huge (6.13's `tdp_mmu_make_huge_spte`),
   * and a table with none stays. Returns the huge leaves created.
   */
  recoverRange(
    start: number,
    end: number,
    maxLevel: (gfn: number) => number,
    fresh?: (gfn: number) => number,
  ): number {
    let n = 0;
    const walk = (t: SpteTable): void => {
      const ep = ENTRY_PAGES[t.level];
      const i0 = Math.max(0, Math.floor((start - t.baseGfn) / ep));
      const i1 = Math.min(511, Math.floor((end - 1 - t.baseGfn) / ep));
      for (let i = i0; i <= i1; i++) {
        const e = t.spte[i];
        if ((e & SPTE_R) === 0 || t.level === 1 || (e & SPTE_HUGE) !== 0) continue;
        const c = t.child![i]!;
        if (collapsible(t, i, start, end, maxLevel)) {
          const huge = fresh ? fresh(t.baseGfn + i * ep) : firstLeaf(c);
          if (huge !== 0) {
            this.#dropSubtree(c); // replaced, not zapped: no sptes_zapped
            t.child![i] = undefined;
            t.spte[i] = huge | SPTE_HUGE;
            this.#vm[PAGES_BY_LEVEL[t.level]]++;
            n++;
            continue;
          }
        }
        walk(c);
      }
    };
    walk(this.#root);
    return n;
  }
}

/** The flags of the first present leaf under `t` (pre-order), 0 if none. */
function firstLeaf(t: SpteTable): number {
  for (let i = 0; i < 512; i++) {
    const e = t.spte[i];
    if ((e & SPTE_R) === 0) continue;
    if (t.level === 1 || (e & SPTE_HUGE) !== 0) return e;
    const f = firstLeaf(t.child![i]!);
    if (f !== 0) return f;
  }
  return 0;
}

/**
 * Whether the table under `t.spte[i]` (a 2M or 1G range) lies inside
 * `[start, end)` and `maxLevel` allows that range as one huge page.
 */
function collapsible(
  t: SpteTable,
  i: number,
  start: number,
  end: number,
  maxLevel: (gfn: number) => number,
): boolean {
  if (t.level < 2 || t.level > 3) return false;
  const gfn = t.baseGfn + i * ENTRY_PAGES[t.level];
  return gfn >= start && gfn + ENTRY_PAGES[t.level] <= end && maxLevel(gfn) >= t.level;
}
