/**
 * Modelled time's data: the cost table of the modelled kernel operations and
 * the shape of each constant's source. Nothing in the emulator uses it yet;
 * the time model (clocks per vCPU and for the VMM, resources in modelled
 * time) will.
 *
 * @example Read a cost
 * ```ts
 * import { COSTS, costNs } from "./mod.ts";
 * const ns = costNs("eptViolationFixed");
 * console.log(ns, COSTS.eptViolationFixed.source.kind);
 * ```
 *
 * @module
 */
export { type CostName, costNs, COSTS } from "./costs.ts";
export {
  CALIBRATION_DATE,
  CALIBRATION_HOST,
  type CostConstant,
  type CostSource,
  flagged,
  type FlaggedSource,
  measuredHere,
  type MeasuredSource,
  type PublishedSource,
} from "./source.ts";
