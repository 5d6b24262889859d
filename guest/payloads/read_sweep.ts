/**
 * `read_sweep`: reads and sums one 8-byte word per stride over a range.
 *
 * @module
 */

import { rangeOf } from "./_common.ts";
import { checkSweep, emitSweep, SWEEP_PARAMS } from "./_sweep.ts";
import type { PayloadDef } from "./payload.ts";

/** The `read_sweep` payload. */
export const READ_SWEEP: PayloadDef = {
  name: "read_sweep",
  doc:
    'Reads one 8-byte word per stride over [slot.gpa+offset, +size) and sums them (wrapping at 64 bits); after each pass `sync "sum" <sum of that pass>`; then `done`. `value` is ignored.',
  params: SWEEP_PARAMS,
  syncLabels: ["sum"],
  check: (p) => checkSweep("read_sweep", p),
  needs: (p) => ({ identity: [rangeOf(p)] }),
  emit(a, p) {
    emitSweep(a, rangeOf(p), {
      stride: p.int("stride"),
      passes: p.int("passes"),
      label: "sum",
      mode: { kind: "read" },
    });
  },
};
