/**
 * Modelled time: the cost table of the modelled kernel operations (with each
 * constant's source), the clocks per vCPU and for the VMM, and the shared
 * resources in modelled time that the MMU charges through {@linkcode Charger}.
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
export { ModelClock, T, T_PARTS, T_STATS } from "./clock.ts";
export { HORIZON_NS, Mutex, Pool, RwLock } from "./resources.ts";
export { UffdQueue, type UffdService } from "./uffd.ts";
export { type Charger, TimeModel } from "./model.ts";
