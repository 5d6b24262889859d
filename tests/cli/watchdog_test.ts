/** `vmm.ts --watchdog`: the bound of runs without a `timeout`, raised or lowered per invocation. */
import { assertEquals, assertMatch } from "@std/assert";

const VMM = new URL("../../vmm.ts", import.meta.url).pathname;
const SPIN = "vm s { guest spin { } }\nrun\n";

async function vmm(...flags: string[]): Promise<{ code: number; stderr: string }> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/t.kvm`, SPIN);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", VMM, "t.kvm", "--backend", "emu", ...flags],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("vmm.ts --watchdog sets the bound the error names", async () => {
  const r = await vmm("--watchdog", "300ms");
  assertEquals(r.code, 3);
  assertMatch(r.stderr, /t\.kvm:2:1: error: watchdog: vCPU 0 still running after 0\.3 s/);
});

Deno.test("vmm.ts --watchdog takes only a duration above 0", async () => {
  const bad = ["0s", "5", "1h", "1.5s"];
  const results = await Promise.all(bad.map((b) => vmm("--watchdog", b)));
  results.forEach((r, i) => {
    assertEquals(r.code, 2, bad[i]);
    assertMatch(r.stderr, /--watchdog must be a duration above 0/, bad[i]);
  });
});
