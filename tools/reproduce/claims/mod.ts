/**
 * The claims of the reproduction report, in the seeds' order.
 *
 * @module
 */
import type { Claim } from "../claim.ts";
import { WRITE_TRACKING } from "./write_tracking.ts";
import { ZAP_CONTROL } from "./zap_control.ts";
import { NONCOHERENT_DMA } from "./noncoherent_dma.ts";
import { MEMORY_FAULT_EXITS } from "./memory_fault_exits.ts";
import { DIRTY_LOG_RECOVERY } from "./dirty_log_recovery.ts";

/** Every claim, one per proposal. */
export const CLAIMS: readonly Claim[] = [
  WRITE_TRACKING,
  ZAP_CONTROL,
  NONCOHERENT_DMA,
  MEMORY_FAULT_EXITS,
  DIRTY_LOG_RECOVERY,
];
