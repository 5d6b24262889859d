/**
 * The cost table's shape: every constant has a positive value, a unit, a
 * well-formed source, and a note that keeps it apart from the proposals'
 * headline figures (the figures the time model is checked against).
 */
import { assert, assertEquals, assertGreater } from "../../../support/std_assert.ts";
import {
  CALIBRATION_DATE,
  type CostConstant,
  costNs,
  COSTS,
  type CostSource,
} from "../../../../vmm/emu/time/mod.ts";

const entries = Object.entries(COSTS) as [string, CostConstant][];

/** The operations the issue lists, each of which must have a constant. */
const REQUIRED = [
  "guestInsnNative",
  "guestInsnKvmPvm",
  "eptViolationFixed",
  "spteInstall",
  "hugePageSplit",
  "spteZap",
  "tlbFlushLocal",
  "tlbFlushRemotePerVcpu",
  "writeProtectSpte",
  "dirtyLogGetPerWord",
  "dirtyLogClearPerWord",
  "userspaceExitRoundTrip",
  "uffdFaultToHandlerWake",
  "uffdioCopy4k",
  "uffdioContinue4k",
  "uffdVcpuWake",
  "memoryFaultExitServed",
  "hostPopulate4k",
  "hostPopulate2m",
  "mmuLockUncontended",
  "memslotCreate",
  "memslotDelete",
  "memslotMove",
  "waiterWake",
  "waitQueueScanPerWaiter",
];

/**
 * The proposals' headline figures (seeds 001, 003, 004 and the uffd table of
 * figures.md 3(a)): no constant may be derived from or cite them.
 */
const HEADLINES: readonly RegExp[] = [
  /\b150\b/, // uffd-only rate at 1 vCPU, thousands of pages/s
  /\b36\s?k\b|\b36,000\b/, // uffd-only rate at 256 vCPUs
  /\b340\b|\b4,?012\b|\b4,?134\b/, // the same table with the exit caps
  /\b111\s?[x×]/, // its 256-vCPU gain
  /\b10\s?[x×]/i, // "up to 10x" fault rate
  /\b45\s?s\b/, // dirty-log stop time before in-place recovery
  /[-−]\s?14\s?%|\b14\s?%/, // EPT violations during boot, THP on
  /[-−]\s?7\s?%/, // the same, THP off
  /[-−]\s?50\s?%|\b50\s?%/, // EPT violations during boot, large VM
  /\b25\s?%/, // boot time, large VM
];

/** Every text a constant carries. */
function texts(c: CostConstant): string[] {
  const src = (s: CostSource) => Object.values(s).map(String);
  return [c.what, c.per, c.note, ...src(c.source), ...c.informedBy.flatMap(src)];
}

function checkSource(name: string, s: CostSource): void {
  const filled = (v: string, field: string) =>
    assert(v.trim().length > 0, `${name}: source field ${field} is empty`);
  switch (s.kind) {
    case "measured":
      filled(s.command, "command");
      filled(s.host, "host");
      filled(s.figure, "figure");
      filled(s.arithmetic, "arithmetic");
      assert(/^\d{4}-\d{2}-\d{2}$/.test(s.date), `${name}: date ${s.date} is not ISO`);
      break;
    case "published":
      filled(s.figure, "figure");
      filled(s.arithmetic, "arithmetic");
      // A citation names a lore thread, a commit, or a dated mail, as figures.md gives them.
      assert(
        /lore:\S+|commit [0-9a-f]{7,}|\d{4}-\d{2}-\d{2}/.test(s.citation),
        `${name}: citation "${s.citation}" names no lore link, commit or date`,
      );
      break;
    case "flag":
      assert(s.reasoning.trim().length > 40, `${name}: a FLAG needs its reasoning`);
      break;
    default:
      throw new Error(`${name}: unknown source kind ${(s as { kind: string }).kind}`);
  }
}

Deno.test("costs: every listed operation has a constant", () => {
  for (const name of REQUIRED) assert(name in COSTS, `no constant for ${name}`);
});

Deno.test("costs: positive finite values with a unit and an operation", () => {
  for (const [name, c] of entries) {
    assert(Number.isFinite(c.ns), `${name}: ${c.ns} is not finite`);
    assertGreater(c.ns, 0, `${name}: cost must be positive`);
    assert(c.per.length > 0 && c.what.length > 0, `${name}: unit and operation must be named`);
    assertEquals(costNs(name as keyof typeof COSTS), c.ns);
  }
});

Deno.test("costs: every source and measurement beside it is well formed", () => {
  for (const [name, c] of entries) {
    checkSource(name, c.source);
    for (const m of c.informedBy) {
      assertEquals(m.kind, "measured", `${name}: informedBy holds measurements only`);
      checkSource(`${name} (informedBy)`, m);
    }
  }
  const dated = entries.flatMap(([, c]) => [c.source, ...c.informedBy])
    .filter((s) => s.kind === "measured");
  assert(dated.length > 0, "some constant must be informed by a measurement");
  for (const s of dated) if (s.kind === "measured") assertEquals(s.date, CALIBRATION_DATE);
});

Deno.test("costs: notes state independence and never mention a headline figure", () => {
  for (const [name, c] of entries) {
    assert(
      c.note.includes("Independent of the headline figures"),
      `${name}: the note must say the constant is independent of the headline figures`,
    );
    for (const t of texts(c)) {
      for (const h of HEADLINES) {
        assert(!h.test(t), `${name}: "${t}" mentions a headline figure (${h})`);
      }
    }
  }
});

Deno.test("costs: the headline check catches a headline", () => {
  // The check above must be able to fail: each pattern matches its figure.
  const samples = ["150", "36 k", "340", "111x", "10x", "45 s", "-14%", "-7%", "50%", "25%"];
  samples.forEach((s, i) => assert(HEADLINES[i].test(s), `pattern ${i} misses "${s}"`));
});

Deno.test("costs: docs/calibration.md lists every constant with its value and source kind", async () => {
  const doc = await Deno.readTextFile(new URL("../../../../docs/calibration.md", import.meta.url));
  const listed = new Map<string, { ns: number; kind: string }>();
  for (const m of doc.matchAll(/^\|\s*`(\w+)`\s*\|\s*([\d,.]+)\s*\|[^|]*\|\s*(\w+)\s*\|/gm)) {
    listed.set(m[1], { ns: Number(m[2].replaceAll(",", "")), kind: m[3] });
  }
  for (const [name, c] of entries) {
    const row = listed.get(name);
    assert(row, `docs/calibration.md has no row for ${name}`);
    assertEquals(row.ns, c.ns, `docs/calibration.md: ${name} value`);
    assertEquals(row.kind, c.source.kind === "flag" ? "FLAG" : c.source.kind, `${name} kind`);
  }
  assertEquals(listed.size, entries.length, "docs/calibration.md lists a constant costs.ts lacks");
});
