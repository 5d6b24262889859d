/**
 * The limits through the CLI: `--allow-path`, diagnostics of a script with
 * thousands of errors, `--json` for a literal that used to crash the lexer.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { CLI_WATCHDOG } from "../support/wait.ts";

const VMM = new URL("../../vmm.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

async function vmm(dir: string, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", VMM, ...args, ...CLI_WATCHDOG],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "vmm-cli-limits-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("cli: --allow-path lets a guest file outside the script's directory load", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/scripts`);
    await Deno.mkdir(`${dir}/bins`);
    await Deno.writeFile(`${dir}/bins/hlt.bin`, new Uint8Array([0xf4]));
    await Deno.writeTextFile(
      `${dir}/scripts/t.kvm`,
      `vm a {
  memslot ram gpa 0x200000 size 2M
  guest file "../bins/hlt.bin" { load 0x200000 }
}
run until exit timeout 120s
expect $exit.reason == hlt
`,
    );
    const refused = await vmm(dir, "scripts/t.kvm", "--backend", "emu");
    assertEquals(refused.code, 3);
    assertStringIncludes(refused.stderr, "scripts/t.kvm:3:14: error: guest file '../bins/hlt.bin'");
    assertStringIncludes(refused.stderr, "is outside the script's directory");
    const allowed = await vmm(dir, "scripts/t.kvm", "--backend", "emu", "--allow-path", "bins");
    assertEquals(allowed.code, 0, allowed.stderr);
  });
});

Deno.test("cli: 16,000 bad names give 50 diagnostics and a count of the rest", async () => {
  await withDir(async (dir) => {
    const text = Array.from({ length: 16_000 }, (_, i) => `print $v${i};`).join(" ") + "\n";
    await Deno.writeTextFile(`${dir}/t.kvm`, text);
    const r = await vmm(dir, "t.kvm", "--backend", "emu");
    assertEquals(r.code, 2);
    assertEquals(r.stderr.match(/^t\.kvm:1:\d+: error: /gm)?.length, 51);
    assertStringIncludes(r.stderr, "too many errors: 15950 more not shown");
    assert(r.stderr.length < 40_000, `${r.stderr.length} bytes of diagnostics`);
  });
});

Deno.test("cli: --json reports 0x_ as a located error event (exit 2)", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/t.kvm`, "print 0x_\n");
    const r = await vmm(dir, "t.kvm", "--json", "--backend", "emu");
    assertEquals(r.code, 2);
    const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(events[0].event, "meta");
    const error = events.find((e) => e.event === "error");
    assertEquals(error.location, { file: "t.kvm", line: 1, column: 7 });
    assertStringIncludes(error.message, "invalid number '0x_'");
    assertEquals(events.at(-1).exitCode, 2);
  });
});
