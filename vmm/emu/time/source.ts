/**
 * The shape of a cost constant's source (`costs.ts`): a measurement, a
 * published figure with its arithmetic, or a FLAG with its reasoning.
 *
 * @module
 */

/** A figure measured on a named host. */
export interface MeasuredSource {
  /** Marks the variant. */
  readonly kind: "measured";
  /** The command that produced the figure (and the row of its output). */
  readonly command: string;
  /** The host it ran on. */
  readonly host: string;
  /** ISO date of the run. */
  readonly date: string;
  /** The figure as the command printed it. */
  readonly figure: string;
  /** How the per-operation cost follows from the figure. */
  readonly arithmetic: string;
}

/** A published figure, as `shared/reference/figures.md` cites it. */
export interface PublishedSource {
  /** Marks the variant. */
  readonly kind: "published";
  /** Who, where: the figures.md entry and its lore link or commit. */
  readonly citation: string;
  /** The figure as published. */
  readonly figure: string;
  /** How the per-operation cost follows from the figure. */
  readonly arithmetic: string;
}

/** No measurement or publication exists: the value is reasoned. */
export interface FlaggedSource {
  /** Marks the variant (printed as FLAG). */
  readonly kind: "flag";
  /** Why this value. */
  readonly reasoning: string;
}

/** Where a cost constant comes from. */
export type CostSource = MeasuredSource | PublishedSource | FlaggedSource;

/** One modelled kernel operation's cost. */
export interface CostConstant {
  /** The cost in nanoseconds, per {@linkcode CostConstant.per}. */
  readonly ns: number;
  /** The unit of work the cost is for. */
  readonly per: string;
  /** The kernel operation. */
  readonly what: string;
  /** Where the value comes from. */
  readonly source: CostSource;
  /** Measurements on this project's host (or its peers) shown beside the constant. */
  readonly informedBy: readonly MeasuredSource[];
  /** What the constant covers and leaves out, and its independence from the headlines. */
  readonly note: string;
}

/** The host of every measurement below. */
export const CALIBRATION_HOST: string =
  "kvmmu dev VM: 2 vCPUs, Intel Xeon (model hidden), Linux 6.18.44, KVM module kvm_pvm " +
  "(nested, shadow paging, every guest instruction emulated)";
/** The day the measurements below were taken. */
export const CALIBRATION_DATE = "2026-11-26";

/**
 * A measurement on {@linkcode CALIBRATION_HOST} on {@linkcode CALIBRATION_DATE}.
 *
 * @param command the command and its load
 * @param figure the figure as printed
 * @param arithmetic how the cost follows from it
 * @returns the source
 */
export function measuredHere(command: string, figure: string, arithmetic: string): MeasuredSource {
  return {
    kind: "measured",
    command,
    host: CALIBRATION_HOST,
    date: CALIBRATION_DATE,
    figure,
    arithmetic,
  };
}

/**
 * A FLAG: no measurement or publication exists.
 *
 * @param reasoning why the value
 * @returns the source
 */
export function flagged(reasoning: string): FlaggedSource {
  return { kind: "flag", reasoning };
}
