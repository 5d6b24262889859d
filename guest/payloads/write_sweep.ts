/**
 * `write_sweep`: writes one 8-byte word per stride over a range of a slot.
 *
 * @module
 */

import { sweepPayload } from "./_sweep.ts";
import type { PayloadDef } from "./payload.ts";

/** The `write_sweep` payload. */
export const WRITE_SWEEP: PayloadDef = sweepPayload(
  "write_sweep",
  'Writes one 8-byte word per stride over [slot.gpa+offset, +size), `passes` times; after pass n (from 1) `sync "pass" n`; then `done`. The word is `value`, or n when `value` is not given.',
  "pass",
  (p) => ({ kind: "write", value: p.has("value") ? p.int("value") : undefined }),
);
