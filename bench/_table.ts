/**
 * Small helpers shared by the benchmark scripts in `bench/`:
 * command-line values, medians, number formatting and a plain-text table.
 *
 * @module
 */

/**
 * The value following a `--flag` on the command line.
 *
 * @param name the flag, e.g. `--rounds`
 * @returns the next argument, or undefined when the flag is absent
 */
export function argValue(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

/**
 * The median of a list (the mean of the two middle values for an even count).
 *
 * @param xs the values (not modified)
 * @returns the median, or NaN for an empty list
 */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * The median of per-round ratios `num[i] / den[i]` (pairing rounds cancels
 * drift in the host's load).
 *
 * @param num numerators, one per round
 * @param den denominators, one per round
 * @returns the median ratio
 */
export function medianRatio(num: readonly number[], den: readonly number[]): number {
  return median(num.map((x, i) => x / den[i]));
}

/**
 * A number in a short human form: 3 significant digits, with k/M/G suffixes
 * from 10 000 up.
 *
 * @param x the value
 * @returns the text
 */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1e10) return `${(x / 1e9).toFixed(1)}G`;
  if (a >= 1e7) return `${(x / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${(x / 1e3).toFixed(1)}k`;
  if (Number.isInteger(x)) return String(x);
  return a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/**
 * A byte count with a binary unit (B, KiB, MiB, GiB).
 *
 * @param n bytes
 * @returns the text
 */
export function bytes(n: number): string {
  const a = Math.abs(n);
  if (a >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (a >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (a >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

/**
 * Formats rows as an aligned text table (first column left-aligned, the
 * others right-aligned), with a rule under the header.
 *
 * @param header the column titles
 * @param rows the cells, as text
 * @returns the table's lines
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const w = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (r: readonly string[]) =>
    r.map((cell, c) => c === 0 ? cell.padEnd(w[c]) : cell.padStart(w[c])).join("  ").trimEnd();
  return [line(header), w.map((n) => "-".repeat(n)).join("  "), ...rows.map(line)];
}
