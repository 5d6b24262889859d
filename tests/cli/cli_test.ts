import { skipKvm } from "../support/kvm_probe.ts";
import { type CliResult, runVmm } from "../support/cli.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";

const VMM = new URL("../../vmm.ts", import.meta.url).pathname;
const KVM = !skipKvm("cli_test");
const decoder = new TextDecoder();

async function vmm(script: string, ...flags: string[]): Promise<CliResult> {
  return await runVmm(["-A"], script, ...flags);
}

/** Runs the CLI with the given Deno permission flags. */
const vmmWith = runVmm;

const SLOT = "vm a { memslot ram gpa 1M size 64K }\n";
const OK = SLOT + `memslot ram write offset 8 value 0xffff_ffff_ffff_ffff
let $v = memslot ram read offset 8
expect $v == 0xffff_ffff_ffff_ffff
print "read", hex($v)
`;

for (const backend of ["emu", "kvm"] as const) {
  const ignore = backend === "kvm" && !KVM;

  Deno.test({
    name: `vmm.ts exits 0 when every expectation holds (${backend})`,
    ignore,
    async fn() {
      const r = await vmm(OK, "--backend", backend);
      assertEquals(r.code, 0, r.stderr);
      const lines = r.stdout.trimEnd().split("\n");
      assertEquals(lines[0], "read 0xffffffffffffffff");
      assertMatch(
        lines.at(-1)!,
        new RegExp(`^1 expectation passed, 0 failed; backend ${backend}; \\d+\\.\\d\\d s$`),
      );
      assertEquals(r.stderr, "");
    },
  });

  Deno.test({
    name: `vmm.ts exits 1 when an expectation fails, after finishing the script (${backend})`,
    ignore,
    async fn() {
      const r = await vmm(
        SLOT +
          'let $v = memslot ram read offset 8\nexpect $v == 1 else "fresh memory reads zero"\nprint "after"\n',
        "--backend",
        backend,
      );
      assertEquals(r.code, 1);
      assertEquals(
        r.stderr,
        `t.kvm:3:8: error: fresh memory reads zero: $v == 1 ($v = 0)
expect $v == 1 else "fresh memory reads zero"
       ^~~~~~~
`,
      );
      assertStringIncludes(r.stdout, "after\n0 expectations passed, 1 failed;");
    },
  });

  Deno.test({
    name: `vmm.ts exits 3 when a step fails without 'expect error' (${backend})`,
    ignore,
    async fn() {
      const r = await vmm(
        SLOT + 'memslot other gpa 1M size 4K\nprint "not reached"\n',
        "--backend",
        backend,
      );
      assertEquals(r.code, 3);
      const [first, source, caret] = r.stderr.split("\n");
      assertMatch(
        first,
        /t\.kvm:2:1: error: KVM_SET_USER_MEMORY_REGION failed: EEXIST \(.*other.*ram.*\)$/,
      );
      assertEquals([source, caret], ["memslot other gpa 1M size 4K", "^~~~~~~"]);
      assert(!r.stdout.includes("not reached"));
      assert(!r.stderr.includes("    at "), "no stack trace without --debug");
      assertMatch(r.stdout, new RegExp(`0 expectations passed, 0 failed; backend ${backend}; `));
    },
  });
}

Deno.test("vmm.ts exits 2 on an invalid script and runs nothing", async () => {
  const r = await vmm(
    'print "ran"\nvm a {\n  memslot ram gpa 0x100800 size 4K\n}\nmemslot rom delete\n',
  );
  assertEquals(r.code, 2);
  assertEquals(
    r.stdout,
    "0 expectations passed, 0 failed; backend none (nothing ran: the script is invalid); " +
      r.stdout.split("; ").at(-1),
  );
  assertStringIncludes(
    r.stderr,
    "t.kvm:3:19: error: memslot 'ram': gpa 0x100800 is not page aligned (4 KiB)\n" +
      "  memslot ram gpa 0x100800 size 4K\n                  ^~~~~~~~\n",
  );
  assertStringIncludes(r.stderr, "t.kvm:5:9: error: unknown memslot 'rom' (vm 'a' has ram)\n");
});

Deno.test("vmm.ts exits 2 on a parse error, reporting every recoverable error", async () => {
  const r = await vmm("run until done timeout 10\nprint (1 +\nexpect $x == 1\n");
  assertEquals(r.code, 2);
  assertEquals(r.stderr.match(/error:/g)?.length, 2);
});

Deno.test("vmm.ts --json writes one event per line and ends with the summary", async () => {
  const r = await vmm(OK + "expect 1 == 2\nstats\n", "--json", "--backend", "emu");
  assertEquals(r.code, 1);
  const [meta, ...events] = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
  assertEquals(meta.event, "meta");
  assertEquals(events.map((e) => e.event), ["expect", "print", "expect", "stats", "summary"]);
  assertEquals(events[1], {
    event: "print",
    text: "read 0xffffffffffffffff",
    values: ["read", "0xffffffffffffffff"],
  });
  assertEquals(events[2].ok, false);
  assertEquals(events[2].location.line, 6);
  assertEquals(events[3].mark, null);
  const summary = events[4];
  assertEquals([summary.passed, summary.failed, summary.backend, summary.exitCode], [
    1,
    1,
    "emu",
    1,
  ]);
  assertEquals(r.stderr, "");
});

Deno.test("vmm.ts --json reports script errors as error events", async () => {
  const r = await vmm("memslot a delete\n", "--json");
  assertEquals(r.code, 2);
  const [meta, ...events] = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
  assertEquals(meta.event, "meta");
  assertEquals(events.map((e) => e.event), ["error", "summary"]);
  assertEquals(events[0].location, { file: "t.kvm", line: 1, column: 1 });
  assertEquals(events[1].exitCode, 2);
});

Deno.test("vmm.ts --debug shows the stack of a runtime error", async () => {
  const r = await vmm(SLOT + "memslot other gpa 1M size 4K\n", "--debug", "--backend", "emu");
  assertEquals(r.code, 3);
  assertStringIncludes(r.stderr, "    at ");
});

Deno.test("vmm.ts --help prints usage; bad flags exit 2", async () => {
  const help = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", VMM, "--help"] })
    .output();
  assertEquals(help.code, 0);
  assertStringIncludes(decoder.decode(help.stdout), "Usage: deno run -A vmm.ts SCRIPT.kvm");
  const bad = await vmm(OK, "--backend", "qemu");
  assertEquals(bad.code, 2);
  assertStringIncludes(bad.stderr, "--backend must be auto, kvm or emu, not 'qemu'");
});

// Without FFI, `/dev/kvm` cannot be opened: a real host condition, reached
// without replacing any part of the VMM.
const NO_FFI = ["--allow-read", "--allow-env"];

Deno.test("vmm.ts exits 3 when --backend kvm cannot open, naming the probe's reason", async () => {
  const r = await vmmWith(NO_FFI, OK, "--backend", "kvm");
  assertEquals(r.code, 3);
  const [first, source, caret] = r.stderr.split("\n");
  assertMatch(first, /^t\.kvm:1:1: error: backend kvm is not available: .*ffi/);
  assertEquals([source, caret], ["vm a { memslot ram gpa 1M size 64K }", "^~"]);
  assertMatch(r.stdout, /^0 expectations passed, 0 failed; backend none; /);
});

Deno.test("vmm.ts falls back to emu for auto when kvm cannot open", async () => {
  const r = await vmmWith(NO_FFI, OK);
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /backend emu; /);
});

Deno.test("a vm block's 'backend kvm' never falls back either", async () => {
  const r = await vmmWith(NO_FFI, "vm a {\n  backend kvm\n}\n");
  assertEquals(r.code, 3);
  assertStringIncludes(r.stderr, "t.kvm:2:3: error: backend kvm is not available");
});
