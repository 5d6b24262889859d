import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import {
  checkScript,
  collectPlots,
  formatPlotTable,
  HumanOutput,
  MemoryOutput,
  parseScript,
  plotChart,
  type PlotEvent,
  plotFileName,
  runScript,
  writePlotFiles,
} from "../../../dsl/mod.ts";

const SWEEP = `param $sizes = [1, 2, 4]
for $n in $sizes {
  plot "Work by size" x $n y $n * $n as "work (units)" series "square" log y
  plot "Work by size" x $n y $n * 3 series "linear"
}
plot "Alone" x 1.5 y 2
`;

async function plotEvents(source: string): Promise<PlotEvent[]> {
  const output = new MemoryOutput();
  const summary = await runScript(parseScript(source, { file: "p.kvm" }), {
    backend: "emu",
    output,
  });
  assertEquals(summary.outcome, "passed");
  return output.events.filter((e): e is PlotEvent => e.event === "plot");
}

Deno.test("plot emits one event per point, with its axes' labels and scales", async () => {
  const events = await plotEvents(SWEEP);
  assertEquals(events.length, 7);
  const { location: _, ...first } = events[0];
  assertEquals(first, {
    event: "plot",
    title: "Work by size",
    series: "square",
    x: 1n,
    y: 1n,
    xLabel: "n",
    yLabel: "work (units)",
    logX: false,
    logY: true,
  });
  assertEquals(events[1].yLabel, "n * 3");
  assertEquals(events[6].series, null);
  assertEquals(events[6].location, { file: "p.kvm", line: 6, column: 1 });
});

Deno.test("collectPlots() groups points by title and series; the first point sets the axes", async () => {
  const plots = collectPlots(await plotEvents(SWEEP));
  assertEquals(plots.map((p) => p.title), ["Work by size", "Alone"]);
  const [work, alone] = plots;
  assertEquals([work.yLabel, work.logY, work.named], ["work (units)", true, true]);
  assertEquals([...work.series.keys()], ["square", "linear"]);
  assertEquals(work.series.get("linear")?.map((p) => p.y), [3n, 6n, 12n]);
  // Without series, one line named after the y axis.
  assertEquals([alone.named, [...alone.series.keys()]], [false, ["y"]]);
  assertEquals(plotChart(work).series[0].points, [{ x: 1, y: 1 }, { x: 2, y: 4 }, {
    x: 4,
    y: 16,
  }]);
  assertEquals(plotChart(work).y, { label: "work (units)", log: true });
});

Deno.test("formatPlotTable() is a titled table, numbers aligned right", async () => {
  const [work, alone] = collectPlots(await plotEvents(SWEEP));
  assertEquals(
    formatPlotTable(work),
    [
      'plot "Work by size"',
      "  series  n  work (units)",
      "  square  1             1",
      "  square  2             4",
      "  square  4            16",
      "  linear  1             3",
      "  linear  2             6",
      "  linear  4            12",
    ].join("\n"),
  );
  assertEquals(formatPlotTable(alone), ['plot "Alone"', "    x  y", "  1.5  2"].join("\n"));
});

Deno.test("people get each plot's table at the end, just before the summary", async () => {
  const lines: string[] = [];
  await runScript(parseScript('plot "t" x 1 y 2\nprint "after"'), {
    backend: "emu",
    output: new HumanOutput({ write: (l) => lines.push(l) }),
  });
  assertEquals(lines.slice(0, 2), ["after", 'plot "t"\n  x  y\n  1  2']);
  assert(lines[2].startsWith("0 expectations passed"));
});

Deno.test("plot's axes must be numbers: statically where known, else at run time", async () => {
  const problems = checkScript(parseScript('plot 1 x "a" y [1]', { file: "p.kvm" }))
    .map((d) => `${d.column}: ${d.message}`);
  assertEquals(problems, [
    "6: a plot's title must be a string, not an integer",
    "10: plot x needs a number, not a string",
    "16: plot y needs a number, not a list",
  ]);
  const output = new MemoryOutput();
  const summary = await runScript(
    parseScript('for $v in [1, "b"] { plot "t" x 1 y $v }', { file: "p.kvm" }),
    { backend: "emu", output },
  );
  assertEquals(summary.outcome, "backend_failed");
  const error = output.events.find((e) => e.event === "error");
  assertStringIncludes(
    error?.event === "error" ? error.diagnostic : "",
    "p.kvm:1:37: error: plot y needs a number but '$v' is a string",
  );
});

Deno.test("plotFileName() sanitises titles and keeps names apart", () => {
  const taken = new Set<string>();
  assertEquals(
    ["Cost / size", "cost: size", "", "../../etc/passwd", "x".repeat(80)].map((t) =>
      plotFileName(t, taken)
    ),
    ["cost_size.svg", "cost_size_2.svg", "plot.svg", "etc_passwd.svg", `${"x".repeat(60)}.svg`],
  );
});

Deno.test("writePlotFiles() writes one SVG per plot into a new directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const paths = writePlotFiles(`${dir}/charts`, collectPlots(await plotEvents(SWEEP)));
    assertEquals(paths, [`${dir}/charts/work_by_size.svg`, `${dir}/charts/alone.svg`]);
    const svg = await Deno.readTextFile(paths[0]);
    assertEquals(svg.match(/<polyline /g)?.length, 2);
    assertStringIncludes(svg, ">work (units) [log]</text>");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
