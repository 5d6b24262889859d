/**
 * `plot TITLE x EXPR [as LABEL] y EXPR [as LABEL] [series EXPR]
 * [log x] [log y]`: adds one point to the plot of that title. The points
 * go out as `plot` events; what becomes of them at the end of the script (a
 * table for people, an SVG chart with `--plots DIR`) is `plot/plots.ts`'s.
 *
 * An axis is labelled with its expression's text without the `$`
 * (`x $pages` → `pages`; a number: `x`, `y`), or with the value after `as`, which is where a
 * unit goes (`y $elapsed * 1000 as "zap time (ms)"`).
 *
 * @module
 */
import type { Expr, Loc } from "../ast.ts";
import { TYPE_NAMES } from "../check_expr.ts";
import { nodes, tok, tokLoc, toks } from "../cst.ts";
import { ScriptRuntimeError } from "../evaluate.ts";
import type { Interpreter } from "../interpreter.ts";
import { formatValue, typeName, type Value } from "../values.ts";
import type { StepDef } from "./statement.ts";

/** One axis of a `plot` step. */
export interface PlotAxis {
  /** The value along the axis. */
  expr: Expr;
  /** The axis's label (`as EXPR`); without one, the expression's text without `$`. */
  label?: Expr;
  /** A logarithmic axis (`log x`, `log y`). */
  log: boolean;
}

/** A `plot` step. */
export interface PlotStmt {
  kind: "plot";
  loc: Loc;
  title: Expr;
  x: PlotAxis;
  y: PlotAxis;
  /** Which line of the plot the point belongs to (one line when absent). */
  series?: Expr;
}

/** A number for an axis, else a located error. */
function coordinate(r: Interpreter, axis: PlotAxis, name: string): Value {
  const value = r.eval(axis.expr);
  if (typeof value === "bigint" || typeof value === "number") return value;
  throw new ScriptRuntimeError(
    axis.expr.loc,
    `plot ${name} needs a number but '${axis.expr.source}' is a ${typeName(value)}`,
  );
}

/** An axis's label: its `as` value, else its expression's text without `$` (a number: the axis's name). */
function label(r: Interpreter, axis: PlotAxis, name: string): string {
  if (axis.label) return formatValue(r.eval(axis.label));
  const kind = axis.expr.kind;
  return kind === "int" || kind === "float" ? name : axis.expr.source.replaceAll("$", "");
}

/** The `plot` step. */
export const PLOT: StepDef<PlotStmt> = {
  kinds: { plot: true },
  reserved: ["plot"],
  words: ["x", "y", "as", "series", "log"],
  needsVm: false,
  grammar({ g, K, expression }) {
    const axis = g.RULE("plotAxis", () => {
      g.SUBRULE(expression);
      g.OPTION(() => {
        g.CONSUME(K.as);
        g.SUBRULE2(expression, { LABEL: "label" });
      });
    });
    return g.RULE("plotStep", () => {
      g.CONSUME(K.plot);
      g.SUBRULE(expression, { LABEL: "title" });
      g.CONSUME(K.x);
      g.SUBRULE(axis, { LABEL: "xAxis" });
      g.CONSUME(K.y);
      g.SUBRULE2(axis, { LABEL: "yAxis" });
      g.OPTION(() => {
        g.CONSUME(K.series);
        g.SUBRULE2(expression, { LABEL: "series" });
      });
      g.MANY(() => {
        g.CONSUME(K.log);
        g.OR([
          { ALT: () => g.CONSUME2(K.x, { LABEL: "logAxis" }) },
          { ALT: () => g.CONSUME2(K.y, { LABEL: "logAxis" }) },
        ]);
      });
    });
  },
  expected: { plotAxis: "a value" },
  build: {
    plotStep(ctx, b): PlotStmt {
      const logs = toks(ctx, "logAxis").map((t) => t.image);
      const axis = (key: string, name: string): PlotAxis => ({
        ...(b.visit(nodes(ctx, key)[0]) as Omit<PlotAxis, "log">),
        log: logs.includes(name),
      });
      return {
        kind: "plot",
        loc: tokLoc(tok(ctx, "Kw_plot")),
        title: b.expr(nodes(ctx, "title")[0]),
        x: axis("xAxis", "x"),
        y: axis("yAxis", "y"),
        series: b.optExpr(ctx, "series"),
      };
    },
    plotAxis(ctx, b): Omit<PlotAxis, "log"> {
      return { expr: b.expr(nodes(ctx, "expression")[0]), label: b.optExpr(ctx, "label") };
    },
  },
  check(step, c) {
    const title = c.expr(step.title);
    if (title !== "string" && title !== "word" && title !== "unknown") {
      c.error(step.title.loc, `a plot's title must be a string, not ${TYPE_NAMES[title]}`);
    }
    for (const [name, axis] of [["x", step.x], ["y", step.y]] as const) {
      const t = c.expr(axis.expr);
      if (t !== "int" && t !== "float" && t !== "unknown") {
        c.error(axis.expr.loc, `plot ${name} needs a number, not ${TYPE_NAMES[t]}`);
      }
      if (axis.label) c.expr(axis.label);
    }
    if (step.series) c.expr(step.series);
  },
  exec(step, r) {
    const x = coordinate(r, step.x, "x");
    const y = coordinate(r, step.y, "y");
    r.options.output.emit({
      event: "plot",
      title: formatValue(r.eval(step.title)),
      series: step.series ? formatValue(r.eval(step.series)) : null,
      x,
      y,
      xLabel: label(r, step.x, "x"),
      yLabel: label(r, step.y, "y"),
      logX: step.x.log,
      logY: step.y.log,
      location: r.location(step.loc),
    });
  },
};
