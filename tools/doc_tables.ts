/**
 * The docs' capability, quirk, stat, function and payload tables, generated
 * from the registries (`vmm/caps/mod.ts`, `vmm/stats.ts`, `dsl/functions.ts`,
 * `guest/payloads/mod.ts`). A doc marks each table with
 * `<!-- table:NAME -->` … `<!-- /table -->`; `deno run -A tools/doc_tables.ts`
 * rewrites what is between them, and `tests/tools/doc_tables_test.ts` fails
 * while a doc's rows differ from the registry's.
 *
 * @module
 */
import { type CapDef, CAPS, QUIRKS, VMM_PRIVATE } from "../vmm/caps/mod.ts";
import { type StatDef, STATS } from "../vmm/stats.ts";
import { FUNCTIONS } from "../dsl/functions.ts";
import { type ParamSpec, PAYLOADS } from "../guest/payloads/mod.ts";

/** A markdown table: a header and rows of cells (markdown, unescaped). */
export interface Table {
  /** Column titles. */
  header: string[];
  /** One row per registry entry. */
  rows: string[][];
}

function rawValue(v: bigint): string {
  if ((v & VMM_PRIVATE) !== 0n) return `0x${v.toString(16)} (VMM)`;
  return v.toString();
}

function values(def: CapDef): string {
  return Object.entries(def.values).map(([w, v]) => `\`${w}\` ${rawValue(v)}`).join(", ");
}

function capName(name: string, def: CapDef): string {
  return `\`cap ${name} ${Object.keys(def.values).join("|")}\``;
}

function provided(def: StatDef, backend: "kvm" | "emu"): string {
  const v = def[backend];
  if (v !== true) return `— (${v})`;
  if (backend === "emu") return "yes";
  return def.scope === "vmm" ? "VMM counter" : "stats fd";
}

function paramType(spec: ParamSpec): string {
  if (spec.type === "enum") return (spec.values ?? []).map((v) => `\`${v}\``).join(" | ");
  const range = [
    spec.min !== undefined ? `≥ ${spec.min}` : "",
    spec.multipleOf !== undefined ? `multiple of ${spec.multipleOf}` : "",
    spec.bits !== undefined ? `< 2^${spec.bits}` : "",
  ].filter((r) => r).join(", ");
  return range ? `${spec.type} (${range})` : spec.type;
}

function paramDefault(spec: ParamSpec): string {
  if (spec.required) return "required";
  if (spec.default === undefined) return "—";
  if (typeof spec.default === "string") return `\`${spec.default}\``;
  const v = spec.default;
  if (v > 0xffff_ffffn) return `\`0x${v.toString(16)}\``;
  return v >= 0x1000n && v % 0x400n === 0n ? `\`${sizeWord(v)}\`` : `\`${v}\``;
}

/** A size as the language writes it (`4K`, `2M`), or hex when no suffix fits. */
function sizeWord(v: bigint): string {
  for (const [suffix, unit] of [["T", 1n << 40n], ["G", 1n << 30n], ["M", 1n << 20n]] as const) {
    if (v % unit === 0n) return `${v / unit}${suffix}`;
  }
  return v % 0x400n === 0n ? `${v / 0x400n}K` : `0x${v.toString(16)}`;
}

/** One table per payload: its parameters (`params_<payload>`). */
function payloadParamTables(): Record<string, () => Table> {
  return Object.fromEntries(
    Object.entries(PAYLOADS).map(([name, def]) => [
      `params_${name}`,
      () => ({
        header: ["parameter", "type", "default", "meaning"],
        rows: Object.entries(def.params).map(([key, spec]) => [
          `\`${key}\``,
          paramType(spec),
          paramDefault(spec),
          spec.doc,
        ]),
      }),
    ]),
  );
}

/** Every generated table by marker name. */
export const TABLES: Readonly<Record<string, () => Table>> = {
  /** docs/language.md, dsl/README.md: the script's functions. */
  functions: () => ({
    header: ["function", "value"],
    rows: Object.values(FUNCTIONS).map((def) => [`\`${def.usage}\``, def.doc]),
  }),
  /** docs/language.md: the built-in payloads. */
  payloads: () => ({
    header: ["payload", "sync labels", "what it does"],
    rows: Object.entries(PAYLOADS).map(([name, def]) => [
      `[\`${name}\`](#${name})`,
      def.syncLabels.map((l) => `\`"${l}"\``).join(", ") || "—",
      def.doc,
    ]),
  }),
  ...payloadParamTables(),
  /** docs/backends.md: what each capability is on each backend. */
  caps: () => ({
    header: ["DSL", "words → args[0]", "proposal", "errno rules (emu)", "emu", "kvm"],
    rows: Object.entries(CAPS).map(([name, def]: [string, CapDef]) => [
      capName(name, def),
      values(def),
      def.doc.proposal,
      def.doc.rules,
      def.doc.emu,
      def.doc.kvm,
    ]),
  }),
  /** dsl/README.md: what a script may write. */
  dsl_caps: () => ({
    header: ["DSL", "words → args[0]", "errno rules (emu)"],
    rows: Object.entries(CAPS).map(([name, def]: [string, CapDef]) => [
      capName(name, def),
      values(def),
      def.doc.rules,
    ]),
  }),
  quirks: () => ({
    header: ["quirk", "bit", "what it changes"],
    rows: Object.entries(QUIRKS).map(([name, def]) => [
      `\`${name}\``,
      `0x${def.bit.toString(16)}`,
      def.doc,
    ]),
  }),
  stats: () => ({
    header: ["stat", "scope", "unit", "kvm", "emu", "counts", "parity"],
    rows: Object.entries(STATS).map(([name, def]: [string, StatDef]) => [
      `\`${name}\``,
      def.scope,
      def.unit,
      provided(def, "kvm"),
      provided(def, "emu"),
      def.description,
      def.parity ?? "",
    ]),
  }),
};

/** The docs that hold generated tables, with the tables each must hold. */
export const DOCS: Readonly<Record<string, readonly string[]>> = {
  "docs/backends.md": ["caps", "quirks", "stats"],
  "dsl/README.md": ["dsl_caps", "functions"],
  "docs/language.md": [
    "functions",
    "payloads",
    ...Object.keys(PAYLOADS).map((p) => `params_${p}`),
    "dsl_caps",
    "quirks",
    "stats",
  ],
};

function escapeCell(cell: string): string {
  return cell.replaceAll("|", "\\|");
}

/**
 * A table as markdown, columns padded as `deno fmt` pads them.
 *
 * @param table the table
 * @returns its lines, joined by newlines, without a trailing newline
 */
export function renderTable(table: Table): string {
  const all = [table.header, ...table.rows].map((r) => r.map(escapeCell));
  const widths = table.header.map((_, i) => Math.max(3, ...all.map((r) => [...r[i]].length)));
  const line = (r: string[]) =>
    `| ${r.map((c, i) => c + " ".repeat(widths[i] - [...c].length)).join(" | ")} |`;
  return [line(all[0]), line(widths.map((w) => "-".repeat(w))), ...all.slice(1).map(line)].join(
    "\n",
  );
}

const BLOCK = /(<!-- table:(\w+) -->)([\s\S]*?)(<!-- \/table -->)/g;

/**
 * A doc with every marked table regenerated.
 *
 * @param text the doc
 * @returns the doc with each `<!-- table:NAME -->` block replaced
 */
export function updateDoc(text: string): string {
  return text.replace(BLOCK, (all, open: string, name: string, _body: string, close: string) => {
    const table = TABLES[name];
    return table ? `${open}\n\n${renderTable(table())}\n\n${close}` : all;
  });
}

/**
 * The marked tables of a doc, each as rows of trimmed cells (the header
 * first, the separator dropped; pipes stay escaped).
 *
 * @param text the doc
 * @returns table name → rows
 */
export function docTables(text: string): Map<string, string[][]> {
  const out = new Map<string, string[][]>();
  for (const m of text.matchAll(BLOCK)) {
    const rows = m[3].split("\n").filter((l) => l.trim().startsWith("|"))
      .map((l) => l.trim().slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim()))
      .filter((r) => !r.every((c) => /^:?-+:?$/.test(c)));
    out.set(m[2], rows);
  }
  return out;
}

/**
 * The rows a marked table must have: the header, then one per registry entry.
 *
 * @param name the table's marker name
 * @returns rows of cells, pipes escaped
 */
export function expectedRows(name: string): string[][] {
  const t = TABLES[name]();
  return [t.header, ...t.rows].map((r) => r.map(escapeCell));
}

if (import.meta.main) {
  const root = new URL("../", import.meta.url);
  for (const path of Object.keys(DOCS)) {
    const url = new URL(path, root);
    const before = Deno.readTextFileSync(url);
    const after = updateDoc(before);
    if (after !== before) Deno.writeTextFileSync(url, after);
    // deno-lint-ignore no-console
    console.log(`${path}: ${after === before ? "up to date" : "rewritten"}`);
  }
}
