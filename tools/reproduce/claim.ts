/**
 * What a claim module gives the report: the seed's statement, the
 * reproduced figures, their ratio to the seed's, and what differs and why.
 *
 * @module
 */
import type { Chart, Plot } from "../../dsl/mod.ts";
import { plotChart } from "../../dsl/mod.ts";

/** How large the experiments are: the seeds' size where it fits, a quick pass, or a test size. */
export type Scale = "full" | "quick" | "tiny";

/** A table in the report. */
export interface Table {
  /** Column titles. */
  header: string[];
  /** Rows of cells (markdown). */
  rows: string[][];
}

/** One claim's section of the report. */
export interface ClaimResult {
  /** Short id, used for the SVG file names. */
  id: string;
  /** The section's title. */
  title: string;
  /** The seed's statement, quoted. */
  seed: string;
  /** The size the experiment ran at, and why when it is not the seed's. */
  size: string;
  /** The reproduced figures (one SVG each). */
  charts: Chart[];
  /** The figures beside the seed's, with ratios. */
  table: Table;
  /** The ratio in one sentence. */
  ratio: string;
  /** What differs from the seed and why. */
  differs: string;
  /** The commands that reproduce the figures. */
  commands: string[];
}

/** A claim: runs its experiments at a scale. */
export interface Claim {
  /** Short id. */
  id: string;
  /** Runs the experiments. */
  run(scale: Scale, kvm: boolean): Promise<ClaimResult>;
}

/**
 * A script's plot as a chart, its series renamed with a prefix, plus extra
 * series (the seed's figures).
 *
 * @param plot the plot
 * @param prefix put before each series name
 * @param extra series to add
 * @returns the chart
 */
export function chartOf(
  plot: Plot,
  prefix = "",
  extra: Chart["series"] = [],
): Chart {
  const chart = plotChart(plot);
  return {
    ...chart,
    series: [...chart.series.map((s) => ({ ...s, name: prefix + s.name })), ...extra],
  };
}

/** A plot of a run by title. */
export function plotNamed(plots: readonly Plot[], title: string): Plot {
  const p = plots.find((q) => q.title === title);
  if (!p) throw new Error(`no plot "${title}"`);
  return p;
}

/** A number for a table: up to 3 significant digits, thousands separated. */
export function num(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString("en-US");
  if (a >= 0.001) return String(Number(v.toPrecision(3)));
  return v.toExponential(2);
}

/** A ratio prediction / figure, as `0.52×`. */
export function ratio(model: number, figure: number): string {
  if (figure === 0) return model === 0 ? "= (both 0)" : "— (figure 0)";
  return `${num(model / figure)}×`;
}
