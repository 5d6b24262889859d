import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { type CliResult, runVmm } from "../support/cli.ts";
import { skipKvm } from "../support/kvm_probe.ts";

const KVM = !skipKvm("params_test");
const SWEEP = await Deno.readTextFile(new URL("../../examples/zap_sweep.kvm", import.meta.url));

function vmm(script: string, ...flags: string[]): Promise<CliResult> {
  return runVmm(["-A"], script, ...flags);
}

const PARAMS = `param $pages = 16   # pages to touch
param $bytes = $pages * 4K
param $mode = zap_all
print $pages, $bytes, $mode
`;

Deno.test("--set overrides a parameter; the JSON meta event lists every value", async () => {
  const r = await vmm(PARAMS, "--backend", "emu", "--set", "pages=2", "--set", '$mode="x"');
  assertEquals([r.code, r.stdout.split("\n")[0], r.stderr], [0, "2 8192 x", ""]);
  const json = await vmm(PARAMS, "--backend", "emu", "--set", "pages=1K", "--json");
  const meta = JSON.parse(json.stdout.split("\n")[0]);
  assertEquals([meta.event, meta.parameters], ["meta", {
    pages: 1024,
    bytes: 4194304,
    mode: "zap_all",
  }]);
});

Deno.test("--set of an undeclared name is an invalid script that lists the declared ones", async () => {
  const r = await vmm(PARAMS, "--backend", "emu", "--set", "page=2");
  assertEquals(r.code, 2);
  assertEquals(
    r.stderr.trim(),
    "t.kvm: error: the script has no parameter $page (it declares $pages, $bytes, $mode)",
  );
  assertMatch(r.stdout, /nothing ran: the script is invalid/);
  const json = await vmm(PARAMS, "--set", "page=2", "--json");
  const events = json.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assertEquals(events.map((e) => e.event), ["meta", "error", "summary"]);
  assertEquals([events[0].parameters, events[2].exitCode], [{}, 2]);
});

Deno.test("a --set value that is no literal, or of another type than the default, is exit 2", async () => {
  const cases: [string, string][] = [
    [
      "pages=64MB",
      "t.kvm: error: --set pages=64MB: '64MB' is not a value: invalid number '64MB' (sizes take K, M, G or T; durations ms, s or m) (at column 1)",
    ],
    [
      "pages=1+1",
      "t.kvm: error: --set pages=1+1: '1+1' is not a literal (give a number, size, word, string or list of them)",
    ],
    ["pages", "t.kvm: error: --set takes NAME=VALUE (a parameter's name), not 'pages'"],
    [
      "pages=many",
      "t.kvm: error: parameter $pages takes an integer like its default 16 (line 1), not a word (many)",
    ],
  ];
  for (const [setting, message] of cases) {
    const r = await vmm(PARAMS, "--backend", "emu", "--set", setting);
    assertEquals([r.code, r.stderr.trim()], [2, message], setting);
  }
});

Deno.test("--help-params lists the parameters with defaults and comments, running nothing", async () => {
  const r = await vmm(PARAMS, "--help-params");
  assertEquals(r.code, 0, r.stderr);
  assertEquals(
    r.stdout,
    [
      "Parameters of t.kvm (override with --set NAME=VALUE):",
      "  pages = 16                   # pages to touch",
      "  bytes = $pages * 4K (65536)",
      "  mode  = zap_all",
      "",
    ].join("\n"),
  );
  const broken = await vmm("param $x = (1\n", "--help-params");
  assertEquals(broken.code, 2);
  assertStringIncludes(broken.stderr, "t.kvm:1:14: error: expected ')' but found end of input");
});

for (const backend of ["emu", "kvm"] as const) {
  Deno.test({
    name: `examples/zap_sweep.kvm charts its sweep with --plots (${backend})`,
    ignore: backend === "kvm" && !KVM,
    async fn() {
      const dir = await Deno.makeTempDir();
      try {
        const r = await vmm(
          SWEEP,
          "--backend",
          backend,
          "--set",
          "moves=[1, 2, 4]",
          "--set",
          "touch=1M",
          "--plots",
          `${dir}/plots`,
        );
        assertEquals(r.code, 0, r.stderr);
        const path = `${dir}/plots/cost_of_moving_a_rom_slot_during_boot.svg`;
        assertStringIncludes(r.stdout, `chart written: ${path}\n`);
        assertStringIncludes(r.stdout, 'plot "Cost of moving a ROM slot during boot"\n');
        const svg = await Deno.readTextFile(path);
        // One line per series, in the legend too, and both axes labelled.
        assertEquals(svg.match(/<polyline /g)?.length, 2);
        assertStringIncludes(svg, ">zap_all</text>");
        assertStringIncludes(svg, ">zap_only_memslot</text>");
        assertStringIncludes(svg, ">ROM moves per boot</text>");
        assertMatch(
          svg,
          />(EPT violations \(pf_taken\)|shadow pages zapped \(mmu_shadow_zapped\))</,
        );
        // The table: zap_all's cost grows with the moves, zap_only_memslot's stays below it.
        const rows = r.stdout.split("\n").filter((l) => /^ {2}zap_/.test(l)).map((l) =>
          l.trim().split(/\s+/)
        );
        assertEquals(rows.map((c) => [c[0], c[1]]), [
          ["zap_all", "1"],
          ["zap_all", "2"],
          ["zap_all", "4"],
          ["zap_only_memslot", "1"],
          ["zap_only_memslot", "2"],
          ["zap_only_memslot", "4"],
        ]);
        const cost = rows.map((c) => Number(c[2]));
        assert(cost[0] < cost[1] && cost[1] < cost[2], `zap_all: ${cost}`);
        assert(cost[5] < cost[2], `zap_only_memslot: ${cost}`);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

Deno.test("--plots into a path that cannot be a directory is a usage error", async () => {
  const file = await Deno.makeTempFile();
  try {
    const r = await vmm('plot "t" x 1 y 1\n', "--plots", `${file}/sub`);
    assertEquals(r.code, 2);
    assertStringIncludes(r.stderr, `vmm: --plots ${file}/sub:`);
  } finally {
    await Deno.remove(file);
  }
});
