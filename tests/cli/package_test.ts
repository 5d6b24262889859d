/**
 * The package as others use it: another project with its own deno.json
 * (none of this repository's import map) imports the library by file URL and
 * type-checks; `deno publish --dry-run` finds nothing to object to (the
 * LICENSE among others).
 */
import { assertEquals } from "@std/assert";

const ROOT = new URL("../../", import.meta.url);
const decoder = new TextDecoder();

async function deno(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  return { code: out.code, output: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}

Deno.test("another project imports dsl/mod.ts and vmm/mod.ts by file URL and type-checks", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify({ imports: {} }));
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      `import { MemoryOutput, parseScript, runScript, type RunSummary } from "${new URL(
        "dsl/mod.ts",
        ROOT,
      )}";
import { createVm, type Vm } from "${new URL("vmm/mod.ts", ROOT)}";
const script = parseScript("vm a { memslot ram gpa 1M size 64K }", { file: "a.kvm" });
const summary: RunSummary = await runScript(script, { backend: "emu", output: new MemoryOutput() });
const vm: Vm = createVm({ backend: "emu" });
vm.close();
export const outcome: string = summary.outcome;
`,
    );
    const r = await deno(["check", "main.ts"], dir);
    assertEquals(r.code, 0, r.output);
    // And it runs: the outcome a library user gets.
    const run = await deno([
      "eval",
      "--ext=ts",
      `import { outcome } from "./main.ts"; console.log(outcome);`,
    ], dir);
    assertEquals([run.code, run.output.trim().split("\n").at(-1)], [0, "passed"], run.output);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno publish --dry-run passes (license, exports, no slow types)", async () => {
  const r = await deno(["publish", "--dry-run", "--allow-dirty"], ROOT.pathname);
  assertEquals(r.code, 0, r.output);
});
