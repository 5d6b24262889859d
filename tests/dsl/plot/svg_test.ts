import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { CLI_WATCHDOG } from "../../support/wait.ts";
import { type Chart, formatTick, renderSvgChart, SERIES_COLORS } from "../../../dsl/plot/svg.ts";
import { decodePng } from "../../support/png.ts";
import { TEST_WATCHDOG_MS } from "../../support/wait.ts";

const VMM = new URL("../../../vmm.ts", import.meta.url).pathname;

const CHART: Chart = {
  title: "EPT violations per second <by memory>",
  x: { label: "guest memory", unit: "MiB", log: true },
  y: { label: "violations", unit: "1/s" },
  series: [
    { name: "tdp", points: [1, 4, 16, 64, 256].map((x) => ({ x, y: 1000 + 40 * x })) },
    { name: "shadow", points: [1, 4, 16, 64, 256].map((x) => ({ x, y: 500 + 90 * x })) },
  ],
};

Deno.test("renderSvgChart() draws axes, ticks, one polyline per series and a legend", () => {
  const svg = renderSvgChart(CHART);
  assertEquals(svg.match(/<polyline /g)?.length, 2);
  assertEquals(svg.match(/<circle /g)?.length, 10 + 2); // markers + legend markers
  assertStringIncludes(svg, ">guest memory (MiB) [log]</text>");
  assertStringIncludes(svg, ">violations (1/s)</text>");
  assertStringIncludes(svg, "&#60;by memory&#62;"); // escaped title
  for (const tick of [">1</text>", ">10</text>", ">100</text>", ">1k</text>"]) {
    assertStringIncludes(svg, tick);
  }
  assertStringIncludes(svg, ">shadow</text>");
  assertStringIncludes(svg, `stroke="${SERIES_COLORS[1]}"`);
});

Deno.test("renderSvgChart() leaves out points a log axis cannot show and says when none is left", () => {
  const svg = renderSvgChart({
    title: "t",
    x: { label: "x" },
    y: { label: "y", log: true },
    series: [{ name: "s", points: [{ x: 1, y: 0 }, { x: 2, y: -1 }] }],
  });
  assertStringIncludes(svg, ">no data</text>");
  assert(!svg.includes("NaN") && !svg.includes("Infinity"));
});

Deno.test("formatTick() is short", () => {
  assertEquals([0, 0.5, 12, 1500, 2_000_000, 3e9].map(formatTick), [
    "0",
    "0.5",
    "12",
    "1.5k",
    "2M",
    "3G",
  ]);
});

/** Chromium, if installed (`.ci/run` installs it from Debian's packages). */
function chromium(): string | undefined {
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    const r = new Deno.Command("sh", { args: ["-c", `command -v ${name}`], stdout: "piped" })
      .outputSync();
    if (r.code === 0) return new TextDecoder().decode(r.stdout).trim();
  }
  return undefined;
}

const CHROMIUM = chromium();
if (!CHROMIUM) {
  // deno-lint-ignore no-console
  console.warn("svg_test: skipping the browser rendering: chromium is not installed");
}

/** Chromium's screenshot of an SVG file, decoded (the page is the chart's size). */
async function screenshot(svgPath: string, dir: string): Promise<ReturnType<typeof decodePng>> {
  const out = await new Deno.Command(CHROMIUM!, {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--hide-scrollbars",
      `--user-data-dir=${dir}/profile`,
      `--screenshot=${dir}/chart.png`,
      "--window-size=760,460",
      `file://${svgPath}`,
    ],
    stdout: "piped",
    stderr: "piped",
    // A failure bound only: a hung browser must not hang the suite.
    signal: AbortSignal.timeout(TEST_WATCHDOG_MS),
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  return decodePng(await Deno.readFile(`${dir}/chart.png`));
}

/**
 * Checks a screenshot is drawn on: mostly white, yet with ink (axes, text),
 * and at least `minPerSeries` pixels in each of the first two series' colours.
 */
function assertDrawn(png: ReturnType<typeof decodePng>, minPerSeries: number): void {
  const seriesRgb = SERIES_COLORS.slice(0, 2).map((c) =>
    [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16))
  );
  let ink = 0;
  const perSeries = [0, 0];
  for (let p = 0; p < png.rgba.length; p += 4) {
    const [r, g, b] = png.rgba.subarray(p, p + 3);
    if (r < 250 || g < 250 || b < 250) ink++;
    seriesRgb.forEach(([sr, sg, sb], i) => {
      if (Math.abs(r - sr) + Math.abs(g - sg) + Math.abs(b - sb) < 30) perSeries[i]++;
    });
  }
  const total = png.width * png.height;
  assert(ink > total * 0.01 && ink < total * 0.5, `ink ${ink} of ${total}`);
  for (const n of perSeries) assert(n > minPerSeries, `series pixels: ${perSeries}`);
}

/** Runs `test` in a fresh temporary directory, removed afterwards. */
async function inTempDir(test: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await test(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "a browser draws the chart: lines in the series' colours on a white page",
  ignore: !CHROMIUM,
  fn: () =>
    inTempDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/chart.svg`, renderSvgChart(CHART));
      const png = await screenshot(`${dir}/chart.svg`, dir);
      assertEquals([png.width, png.height], [760, 460]);
      // Mostly white, yet drawn on: axes, text, and each series' line.
      assertDrawn(png, 300);
    }),
});

Deno.test({
  name: "a browser draws the chart the CLI's --plots wrote for a real run (emu)",
  ignore: !CHROMIUM,
  fn: () =>
    inTempDir(async (dir) => {
      const example = new URL("../../../examples/zap_sweep.kvm", import.meta.url).pathname;
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", VMM, example, "--backend", "emu", "--set", "moves=[1, 2, 4]"]
          .concat(["--set", "touch=1M", "--plots", `${dir}/plots`], CLI_WATCHDOG),
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      const png = await screenshot(`${dir}/plots/cost_of_moving_a_rom_slot_during_boot.svg`, dir);
      // Not blank: both policies' lines are drawn, each in its own colour.
      assertDrawn(png, 100);
    }),
});
