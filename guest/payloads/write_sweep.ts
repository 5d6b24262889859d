/**
 * `write_sweep`: writes one 8-byte word per stride over a range of a slot.
 *
 * @module
 */

import { rangeOf } from "./_common.ts";
import { checkSweep, emitSweep, SWEEP_PARAMS } from "./_sweep.ts";
import type { PayloadDef } from "./payload.ts";

/** The `write_sweep` payload. */
export const WRITE_SWEEP: PayloadDef = {
  name: "write_sweep",
  doc:
    'Writes one 8-byte word per stride over [slot.gpa+offset, +size), `passes` times; after pass n (from 1) `sync "pass" n`; then `done`. The word is `value`, or n when `value` is not given.',
  params: SWEEP_PARAMS,
  syncLabels: ["pass"],
  check: (p) => checkSweep("write_sweep", p),
  needs: (p) => ({ identity: [rangeOf(p)] }),
  emit(a, p) {
    emitSweep(a, rangeOf(p), {
      stride: p.int("stride"),
      passes: p.int("passes"),
      label: "pass",
      mode: { kind: "write", value: p.has("value") ? p.int("value") : undefined },
    });
  },
};
