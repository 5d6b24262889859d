/**
 * The reproduction report (`deno task reproduce`) and the time model's
 * validation report (`deno task model-report`) as a library.
 *
 * @module
 */
export * from "./claim.ts";
export { CLAIMS } from "./claims/mod.ts";
export {
  type RecoveryFigures,
  type RecoveryRun,
  type RecoverySize,
  runRecovery,
} from "./claims/dirty_log_recovery.ts";
export { modelRates } from "./claims/memory_fault_exits.ts";
export { reproduce, type ReproduceOptions } from "./main.ts";
export { modelReport } from "./model_report.ts";
export { markdownTable, writeReport } from "./report.ts";
export * from "./run.ts";
