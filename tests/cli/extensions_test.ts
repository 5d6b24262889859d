/** The CLI side of the extensions in dsl/README.md: the invalid summary and output order. */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { CLI_WATCHDOG } from "../support/wait.ts";

const VMM = new URL("../../vmm.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

/** Runs the CLI with stderr and stdout going to one pipe, as on one terminal. */
async function merged(script: string, ...flags: string[]): Promise<{ code: number; out: string }> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/t.kvm`, script);
    const quoted = [Deno.execPath(), "run", "-A", VMM, "t.kvm", ...CLI_WATCHDOG, ...flags]
      .map((a) => `'${a.replaceAll("'", `'\\''`)}'`)
      .join(" ");
    const out = await new Deno.Command("sh", {
      args: ["-c", `${quoted} 2>&1`],
      cwd: dir,
      stdout: "piped",
      stderr: "null",
    }).output();
    return { code: out.code, out: decoder.decode(out.stdout) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("vmm.ts says nothing ran for an invalid script, after its diagnostics", async () => {
  const { code, out } = await merged(`let $backend = kvm\nprint $nope\n`);
  assertEquals(code, 2);
  const lines = out.trimEnd().split("\n");
  assertEquals(lines[0], "t.kvm:1:5: error: $backend is read-only");
  assertEquals(lines[3], "t.kvm:2:7: error: variable '$nope' is used before any 'let' assigns it");
  assert(
    /^0 expectations passed, 0 failed; backend none \(nothing ran: the script is invalid\); \d+\.\d\d s$/
      .test(lines.at(-1)!),
    lines.at(-1),
  );
});

Deno.test("vmm.ts writes a run's diagnostics before its summary", async () => {
  const { code, out } = await merged(
    `vm a { }\nprint "before"\nexpect 1 == 2\nprint "after"\n`,
    "--backend",
    "emu",
  );
  assertEquals(code, 1);
  const lines = out.trimEnd().split("\n");
  assertEquals(lines[0], "before");
  assertStringIncludes(lines[1], "t.kvm:3:8: error: expectation failed: 1 == 2");
  assertEquals(lines.at(-2), "after");
  assert(lines.at(-1)!.startsWith("0 expectations passed, 1 failed"), lines.at(-1));
});

Deno.test("vmm.ts --json keeps backend none for an invalid script", async () => {
  const { code, out } = await merged(`print $nope\n`, "--json");
  assertEquals(code, 2);
  const summary = JSON.parse(out.trimEnd().split("\n").at(-1)!);
  assertEquals([summary.event, summary.backend, summary.exitCode], ["summary", "none", 2]);
});
