/**
 * `read_sweep`: reads and sums one 8-byte word per stride over a range.
 *
 * @module
 */

import { sweepPayload } from "./_sweep.ts";
import type { PayloadDef } from "./payload.ts";

/** The `read_sweep` payload. */
export const READ_SWEEP: PayloadDef = sweepPayload(
  "read_sweep",
  'Reads one 8-byte word per stride over [slot.gpa+offset, +size) and sums them (wrapping at 64 bits); after each pass `sync "sum" <sum of that pass>`; then `done`. `value` is ignored.',
  "sum",
  () => ({ kind: "read" }),
);
