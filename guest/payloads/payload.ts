/**
 * The shape of a built-in payload: its parameter schema, the sync labels it
 * reports, what the boot image must map for it, and the code it emits. Each
 * payload is one module (`guest/payloads/<name>.ts`) exporting one
 * {@linkcode PayloadDef}, plus one line in the `PAYLOADS` registry of
 * `guest/payloads/mod.ts`.
 *
 * @module
 */

import type { Assembler } from "../assembler.ts";
import type { GpaRange } from "../image.ts";
import type { ParamSchema, ResolvedParams } from "./params.ts";

/** A range mapped with 4 KiB PTEs that select one PAT entry. */
export interface PatRange extends GpaRange {
  /** PAT index 0–7, encoded as the PTE's PAT/PCD/PWT bits. */
  patIndex: number;
}

/** What a payload needs the boot image to provide besides the system region. */
export interface PayloadNeeds {
  /** Ranges to identity-map with the largest page size allowed. */
  identity: GpaRange[];
  /** Ranges to identity-map with 4 KiB PTEs using a PAT index. */
  pat?: PatRange[];
  /**
   * Scratch mapping per vCPU (pt_write): a 4 KiB guest-virtual page whose PTE
   * lives in a page-table page the guest can write, and two 4 KiB data pages
   * in the system region (the PTE starts pointing at the first).
   */
  scratchPtePerVcpu?: boolean;
}

/** Addresses the boot image chose, given to the code emitter. */
export interface PayloadLayout {
  /** Number of vCPUs (each runs the same code; rdi = its index). */
  vcpus: number;
  /** With `scratchPtePerVcpu`: vCPU i uses `va + i*4K`, its PTE at `pteGpa + i*8`, pages `pages + i*8K` and `+4K`. */
  scratch?: { va: bigint; pteGpa: bigint; pages: bigint };
}

/** A built-in guest payload. */
export interface PayloadDef {
  /** The name scripts use (`guest NAME { … }`). */
  readonly name: string;
  /** One paragraph: what it does, in which order it reports. */
  readonly doc: string;
  /** Its parameters: types, defaults, ranges, docs (the one declaration of them). */
  readonly params: ParamSchema;
  /** The labels of the `sync` ucalls it makes (`run until sync "L"`, `on sync "L"`). */
  readonly syncLabels: readonly string[];
  /**
   * Checks the schema cannot express, once types, names and ranges
   * resolved (ranges inside slots, alignment, parameters that depend on
   * each other), as messages naming the parameter. `vcpus` is known when
   * the boot image is built, not always when a script is checked.
   */
  check(p: ResolvedParams, vcpus?: number): string[];
  /** What to map, given valid parameters. */
  needs(p: ResolvedParams, vcpus: number): PayloadNeeds;
  /** Emits the code; execution starts at the first byte. */
  emit(a: Assembler, p: ResolvedParams, layout: PayloadLayout): void;
}
