/**
 * What becomes of a script's `plot` points at its end: the points grouped
 * into plots (one per title, one line per series), each plot as a small
 * table for people, as a {@linkcode Chart} for `renderSvgChart`, and as an
 * SVG file with a name made from its title (the CLI's `--plots DIR`).
 *
 * @module
 */
import type { PlotEvent } from "../output.ts";
import { formatValue, type Value } from "../values.ts";
import { type Chart, renderSvgChart } from "./svg.ts";

/** One point of a plot. */
export interface PlotPoint {
  /** Along the x axis. */
  x: Value;
  /** Along the y axis. */
  y: Value;
}

/** The points of one title, by series. */
export interface Plot {
  /** The title. */
  title: string;
  /** The x axis's label. */
  xLabel: string;
  /** The y axis's label. */
  yLabel: string;
  /** A logarithmic x axis. */
  logX: boolean;
  /** A logarithmic y axis. */
  logY: boolean;
  /** Whether the script named the series (`series EXPR`); else one line named after the y axis. */
  named: boolean;
  /** Points by series, each in the order they were added; series in order of first point. */
  series: Map<string, PlotPoint[]>;
}

/**
 * Groups points into plots by title, in order of each title's first point.
 * A plot's axes (labels, log scales) are those of its first point.
 *
 * @param events the `plot` events of a run
 * @returns the plots
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { collectPlots } from "./plots.ts";
 * const point = (x: bigint, series: string) => ({
 *   event: "plot" as const, title: "t", series, x, y: 2n * x, xLabel: "n", yLabel: "2n",
 *   logX: false, logY: false, location: { file: "a.kvm", line: 1, column: 1 },
 * });
 * const [plot] = collectPlots([point(1n, "a"), point(2n, "b"), point(3n, "a")]);
 * assertEquals([...plot.series.keys()], ["a", "b"]);
 * assertEquals(plot.series.get("a")?.length, 2);
 * ```
 */
export function collectPlots(events: Iterable<PlotEvent>): Plot[] {
  const plots = new Map<string, Plot>();
  for (const e of events) {
    let plot = plots.get(e.title);
    if (!plot) {
      plot = {
        title: e.title,
        xLabel: e.xLabel,
        yLabel: e.yLabel,
        logX: e.logX,
        logY: e.logY,
        named: false,
        series: new Map(),
      };
      plots.set(e.title, plot);
    }
    plot.named ||= e.series !== null;
    const name = e.series ?? plot.yLabel;
    let points = plot.series.get(name);
    if (!points) plot.series.set(name, points = []);
    points.push({ x: e.x, y: e.y });
  }
  return [...plots.values()];
}

/**
 * A plot as a table: a header naming it, then one row per point (grouped by
 * series), numbers aligned right.
 *
 * @param plot the plot
 * @returns the lines, without a trailing newline
 */
export function formatPlotTable(plot: Plot): string {
  const header = [...(plot.named ? ["series"] : []), plot.xLabel, plot.yLabel];
  const rows: string[][] = [];
  for (const [name, points] of plot.series) {
    for (const p of points) {
      rows.push([...(plot.named ? [name] : []), formatValue(p.x), formatValue(p.y)]);
    }
  }
  const numeric = header.map((_, i) => !(plot.named && i === 0));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    "  " + cells.map((c, i) => numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))
      .join("  ").trimEnd();
  return [`plot "${plot.title}"`, line(header), ...rows.map(line)].join("\n");
}

/**
 * A plot as a chart for {@linkcode renderSvgChart}: one line per series.
 *
 * @param plot the plot
 * @returns the chart
 */
export function plotChart(plot: Plot): Chart {
  return {
    title: plot.title,
    x: { label: plot.xLabel, log: plot.logX },
    y: { label: plot.yLabel, log: plot.logY },
    series: [...plot.series].map(([name, points]) => ({
      name,
      points: points.map((p) => ({ x: Number(p.x), y: Number(p.y) })),
    })),
  };
}

/**
 * A file name for a plot, from its title: lower case, runs of anything but
 * letters and digits as `_`, at most 60 characters, `.svg`; `_2`, `_3` …
 * when `taken` already holds it (the name is added to `taken`).
 *
 * @param title the plot's title
 * @param taken the names given so far
 * @returns the file name
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { plotFileName } from "./plots.ts";
 * const taken = new Set<string>();
 * assertEquals(plotFileName("Zap time / pages", taken), "zap_time_pages.svg");
 * assertEquals(plotFileName("zap time: pages", taken), "zap_time_pages_2.svg");
 * ```
 */
export function plotFileName(title: string, taken: Set<string>): string {
  const base = title.toLowerCase().replace(/[^a-z0-9]+/g, "_").slice(0, 60)
    .replace(/^_+|_+$/g, "") || "plot";
  let name = `${base}.svg`;
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}.svg`;
  taken.add(name);
  return name;
}

/**
 * Writes one SVG chart per plot into `dir` (created when missing).
 *
 * @param dir the directory
 * @param plots the plots, from {@linkcode collectPlots}
 * @returns the paths written, in the plots' order
 */
export function writePlotFiles(dir: string, plots: readonly Plot[]): string[] {
  Deno.mkdirSync(dir, { recursive: true });
  const taken = new Set<string>();
  return plots.map((plot) => {
    const path = `${dir.replace(/\/+$/, "")}/${plotFileName(plot.title, taken)}`;
    Deno.writeTextFileSync(path, renderSvgChart(plotChart(plot)));
    return path;
  });
}
