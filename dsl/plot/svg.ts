/**
 * Charts as SVG: axes with ticks and labels (units in the axis titles), one
 * polyline with markers per series, a legend; linear or logarithmic axes.
 * A pure function of its input, with no dependencies, so that `plot`
 * statements (and anyone else) can write a chart a browser shows as is.
 *
 * @example
 * ```ts
 * import { assertStringIncludes } from "@std/assert";
 * import { renderSvgChart } from "./svg.ts";
 * const svg = renderSvgChart({
 *   title: "EPT violations",
 *   x: { label: "memory", unit: "MiB" },
 *   y: { label: "rate", unit: "1/s" },
 *   series: [{ name: "tdp", points: [{ x: 1, y: 10 }, { x: 2, y: 30 }] }],
 * });
 * assertStringIncludes(svg, "<polyline");
 * ```
 *
 * @module
 */

/** An axis: what it shows and in which unit. */
export interface ChartAxis {
  /** What is measured, e.g. `memory`. */
  label: string;
  /** Its unit, e.g. `MiB` (shown in parentheses). */
  unit?: string;
  /** A logarithmic axis (non-positive values are left out). */
  log?: boolean;
}

/** One point. */
export interface ChartPoint {
  /** Along the x axis, in its unit. */
  x: number;
  /** Along the y axis, in its unit. */
  y: number;
}

/** One line of the chart. */
export interface ChartSeries {
  /** Its name in the legend. */
  name: string;
  /** Its points (drawn in order of x). */
  points: readonly ChartPoint[];
}

/** What {@linkcode renderSvgChart} draws. */
export interface Chart {
  /** Shown above the plot. */
  title: string;
  /** The horizontal axis. */
  x: ChartAxis;
  /** The vertical axis. */
  y: ChartAxis;
  /** The lines, in legend order (each takes the next of {@linkcode SERIES_COLORS}). */
  series: readonly ChartSeries[];
}

/** Series colours (colour-blind friendly, Okabe–Ito order, then a few more). */
export const SERIES_COLORS: readonly string[] = [
  "#0072b2",
  "#d55e00",
  "#009e73",
  "#cc79a7",
  "#e69f00",
  "#56b4e9",
  "#000000",
  "#8c564b",
];

const WIDTH = 760;
const HEIGHT = 460;
const PLOT = { left: 80, top: 50, right: 560, bottom: 390 };
const LEGEND_X = 580;

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A tick label: short, with SI suffixes for large values. */
export function formatTick(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  const units: [number, string][] = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
  for (const [scale, suffix] of units) {
    if (a >= scale) return `${trim(v / scale)}${suffix}`;
  }
  if (a < 1e-3) return v.toExponential(0);
  return trim(v);
}

function trim(v: number): string {
  return String(Number(v.toPrecision(3)));
}

/** Linear ticks at 1, 2 or 5 × 10^n steps covering [lo, hi]. */
function linearTicks(lo: number, hi: number): number[] {
  const raw = (hi - lo) / 6;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push(Math.abs(t) < step * 1e-9 ? 0 : Number(t.toPrecision(12)));
  }
  return ticks;
}

/** Log ticks: powers of ten, with 2 and 5 between them when the range is short. */
function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  const decades = Math.log10(hi) - Math.log10(lo);
  const mults = decades < 2 ? [1, 2, 5] : [1];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of mults) {
      const t = m * 10 ** e;
      if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) ticks.push(Number(t.toPrecision(12)));
    }
  }
  return ticks;
}

interface Scale {
  ticks: number[];
  at: (v: number) => number;
}

/** The scale of one axis over `values`, mapped onto [from, to] pixels. */
function scaleOf(values: number[], log: boolean, from: number, to: number): Scale {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (values.length === 0) [lo, hi] = log ? [1, 10] : [0, 1];
  if (log) {
    // Whole decades around the data.
    lo = 10 ** Math.floor(Math.log10(lo));
    hi = 10 ** Math.ceil(Math.log10(hi));
    if (lo === hi) hi = lo * 10;
  } else {
    if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
    // Start at zero when the data is near it, then round out to the ticks.
    if (lo > 0 && lo < (hi - lo)) lo = 0;
    const step = linearTicks(lo, hi);
    const d = step.length > 1 ? step[1] - step[0] : 1;
    lo = Math.floor(lo / d) * d;
    hi = Math.ceil(hi / d) * d;
  }
  const f = log ? Math.log10 : (v: number) => v;
  const [a, b] = [f(lo), f(hi)];
  return {
    ticks: log ? logTicks(lo, hi) : linearTicks(lo, hi),
    at: (v) => from + ((f(v) - a) / (b - a)) * (to - from),
  };
}

function axisTitle(axis: ChartAxis): string {
  return escapeXml(axis.unit ? `${axis.label} (${axis.unit})` : axis.label);
}

function round(v: number): string {
  return String(Math.round(v * 10) / 10);
}

/**
 * Renders a chart as a standalone SVG document.
 *
 * @param chart title, axes and series
 * @returns the SVG text
 */
export function renderSvgChart(chart: Chart): string {
  const usable = (p: ChartPoint) =>
    Number.isFinite(p.x) && Number.isFinite(p.y) && (!chart.x.log || p.x > 0) &&
    (!chart.y.log || p.y > 0);
  const series = chart.series.map((s) => ({
    name: s.name,
    points: s.points.filter(usable).toSorted((a, b) => a.x - b.x),
  }));
  const all = series.flatMap((s) => s.points);
  const xs = scaleOf(all.map((p) => p.x), chart.x.log ?? false, PLOT.left, PLOT.right);
  const ys = scaleOf(all.map((p) => p.y), chart.y.log ?? false, PLOT.bottom, PLOT.top);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" ` +
    `viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${(PLOT.left + PLOT.right) / 2}" y="28" text-anchor="middle" font-size="16" ` +
    `font-weight="bold">${escapeXml(chart.title)}</text>`,
  ];
  for (const t of xs.ticks) {
    const x = round(xs.at(t));
    out.push(
      `<line x1="${x}" y1="${PLOT.top}" x2="${x}" y2="${PLOT.bottom}" stroke="#e0e0e0"/>`,
      `<line x1="${x}" y1="${PLOT.bottom}" x2="${x}" y2="${PLOT.bottom + 5}" stroke="#333"/>`,
      `<text x="${x}" y="${PLOT.bottom + 18}" text-anchor="middle">${formatTick(t)}</text>`,
    );
  }
  for (const t of ys.ticks) {
    const y = round(ys.at(t));
    out.push(
      `<line x1="${PLOT.left}" y1="${y}" x2="${PLOT.right}" y2="${y}" stroke="#e0e0e0"/>`,
      `<line x1="${PLOT.left - 5}" y1="${y}" x2="${PLOT.left}" y2="${y}" stroke="#333"/>`,
      `<text x="${PLOT.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${
        formatTick(t)
      }</text>`,
    );
  }
  out.push(
    `<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" ` +
      `height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#333"/>`,
    `<text x="${(PLOT.left + PLOT.right) / 2}" y="${PLOT.bottom + 42}" text-anchor="middle">${
      axisTitle(chart.x)
    }${chart.x.log ? " [log]" : ""}</text>`,
    `<text transform="translate(22 ${(PLOT.top + PLOT.bottom) / 2}) rotate(-90)" ` +
      `text-anchor="middle">${axisTitle(chart.y)}${chart.y.log ? " [log]" : ""}</text>`,
  );
  if (all.length === 0) {
    out.push(
      `<text x="${(PLOT.left + PLOT.right) / 2}" y="${(PLOT.top + PLOT.bottom) / 2}" ` +
        `text-anchor="middle" fill="#777">no data</text>`,
    );
  }
  series.forEach((s, i) => {
    const color = SERIES_COLORS[i % SERIES_COLORS.length];
    const pts = s.points.map((p) => `${round(xs.at(p.x))},${round(ys.at(p.y))}`);
    out.push(`<g stroke="${color}" fill="${color}"><title>${escapeXml(s.name)}</title>`);
    if (pts.length > 1) {
      out.push(`<polyline points="${pts.join(" ")}" fill="none" stroke-width="2"/>`);
    }
    for (const p of pts) {
      const [x, y] = p.split(",");
      out.push(`<circle cx="${x}" cy="${y}" r="3.5"/>`);
    }
    out.push("</g>");
    const ly = PLOT.top + 10 + i * 22;
    out.push(
      `<line x1="${LEGEND_X}" y1="${ly}" x2="${LEGEND_X + 24}" y2="${ly}" stroke="${color}" ` +
        `stroke-width="2"/>`,
      `<circle cx="${LEGEND_X + 12}" cy="${ly}" r="3.5" fill="${color}"/>`,
      `<text x="${LEGEND_X + 32}" y="${ly}" dominant-baseline="middle">${escapeXml(s.name)}</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
