/**
 * `deno task reproduce` at the tests' size (`--tiny`): every claim has a
 * section with a figure, and the report and its SVGs exist.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { reproduce } from "../../tools/reproduce/main.ts";
import { CLAIMS } from "../../tools/reproduce/claims/mod.ts";

Deno.test("reproduce --tiny writes the report with one figure per claim", async () => {
  const out = await Deno.makeTempDir({ prefix: "reproduce-" });
  try {
    const { results } = await reproduce({ out, scale: "tiny" });
    assertEquals(results.map((r) => r.id), CLAIMS.map((c) => c.id));
    const report = await Deno.readTextFile(`${out}/report.md`);
    for (const r of results) {
      assertStringIncludes(report, `## ${r.title}`);
      assert(r.charts.length > 0, `${r.id} has a figure`);
      assert(r.table.rows.length > 0, `${r.id} has figures beside the seed's`);
      const svg = await Deno.readTextFile(`${out}/${r.id}.svg`);
      assertStringIncludes(svg, "<svg");
      assertStringIncludes(svg, "<polyline");
      assertStringIncludes(report, `](${r.id}.svg)`);
    }
    // The two modelled sweeps carry their points: exits beat one userfaultfd at 4 vCPUs.
    const mf = results.find((r) => r.id === "memory_fault_exits")!;
    const row4 = mf.table.rows.find((row) => row[0] === "4")!;
    assert(Number(row4[4].replace(/,/g, "")) > Number(row4[1].replace(/,/g, "")));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
