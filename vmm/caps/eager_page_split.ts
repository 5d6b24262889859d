/**
 * `cap eager_page_split on|off`: the kvm module parameter (mainline, default
 * on): enabling dirty logging splits a slot's huge pages at once; off (the
 * era of seed 004) leaves each huge page to be split by its first write
 * fault under dirty logging. It is no capability, so args[0] is the VMM's
 * own: 1 on, 0 off.
 *
 * @module
 */
import { type CapDef, onlyBits, unknownValue, wordOf } from "./cap.ts";
import { UnsupportedError } from "../errors.ts";

const NAME = "eager_page_split";
const VALUES = { on: 1n, off: 0n };

/** `eager_page_split`: when a dirty-logged slot's huge pages are split. */
export const EAGER_PAGE_SPLIT: CapDef = {
  values: VALUES,
  emu(mmu, arg0) {
    onlyBits(NAME, arg0, VALUES.on);
    mmu.caps.eagerPageSplit = arg0 === VALUES.on;
  },
  kvm(host, arg0) {
    const value = wordOf(VALUES, arg0);
    if (value === undefined) throw unknownValue(NAME, VALUES, arg0);
    const param = host.eagerPageSplit();
    if (param === undefined) {
      throw new UnsupportedError(
        `cap ${NAME} ${value}: the host's module parameter cannot be read`,
      );
    }
    if ((value === "on") === param.on) return;
    throw new UnsupportedError(
      `cap ${NAME} ${value}: a host module parameter, and this host's is ${
        param.on ? "on" : "off"
      } (${param.source})`,
    );
  },
  doc: {
    proposal: "the `eager_page_split` kvm module parameter (mainline, default on)",
    rules: "`args[0] & ~1` → EINVAL (the VMM's own encoding: a module parameter)",
    emu:
      "`on` (default): enabling dirty logging splits the slot's huge SPTEs to 4K; `off`: it only write-protects them, and a write fault splits its huge page",
    kvm:
      "the host's module parameter (`/sys/module/kvm/parameters/eager_page_split`): its value is accepted, the other is UnsupportedError naming it",
  },
};
