/**
 * `spin`: loops forever (`pause; jmp`), for watchdog and timeout tests.
 *
 * @module
 */

import type { PayloadDef } from "./payload.ts";

/** The `spin` payload. */
export const SPIN: PayloadDef = {
  name: "spin",
  doc: "Loops forever on `pause; jmp`; never reports.",
  params: {},
  syncLabels: [],
  check: () => [],
  needs: () => ({ identity: [] }),
  emit(a) {
    const l = a.newLabel("spin");
    a.label(l);
    a.pause();
    a.jmp(l);
  },
};
