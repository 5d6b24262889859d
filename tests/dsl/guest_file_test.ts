/**
 * `guest file` loading: confined to the script's directory (or `allowPaths`),
 * regular files only, the size checked before any read, the read bounded.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { MemoryOutput, parseScript, runScript } from "../../dsl/mod.ts";
import { MAX_GUEST_FILE_BYTES, readGuestFile, roomAt } from "../../dsl/guest_file.ts";
import { exitCodeFor } from "../../cli/exit_codes.ts";

/** A guest of one `hlt`. */
const HLT = new Uint8Array([0xf4]);

function script(path: string): string {
  return `vm a {
  memslot ram gpa 0x200000 size 2M
  guest file "${path}" { load 0x200000 }
}
run until exit timeout 120s
print $exit.reason
`;
}

/** Runs a script written at `dir/t.kvm` on the emulator. */
async function run(dir: string, text: string, allowPaths?: string[]) {
  const output = new MemoryOutput();
  const summary = await runScript(parseScript(text, { file: `${dir}/t.kvm` }), {
    output,
    backend: "emu",
    allowPaths,
  });
  const error = output.events.find((e) => e.event === "error");
  return {
    code: exitCodeFor(summary.outcome),
    printed: output.printed,
    error: error?.event === "error" ? error : undefined,
  };
}

async function withDirs(fn: (dir: string, outside: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "vmm-guest-file-" });
  const outside = await Deno.makeTempDir({ prefix: "vmm-guest-file-outside-" });
  try {
    await Deno.mkdir(`${dir}/bin`);
    await Deno.writeFile(`${dir}/bin/hlt.bin`, HLT);
    await Deno.writeFile(`${outside}/hlt.bin`, HLT);
    await fn(dir, outside);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
}

Deno.test("guest file: a path relative to the script's directory loads and runs", async () => {
  await withDirs(async (dir) => {
    const r = await run(dir, script("bin/hlt.bin"));
    assertEquals(r.code, 0, r.error?.diagnostic);
    assertEquals(r.printed, ["hlt"]);
  });
});

Deno.test("guest file: outside the script's directory is refused unless allowed", async () => {
  await withDirs(async (dir, outside) => {
    await Deno.symlink(`${outside}/hlt.bin`, `${dir}/link.bin`);
    for (
      const path of [
        `${outside}/hlt.bin`,
        "../" + outside.split("/").pop() + "/hlt.bin",
        "link.bin",
      ]
    ) {
      const r = await run(dir, script(path));
      assertEquals(r.code, 3, path);
      assertEquals([r.error?.location?.line, r.error?.location?.column], [3, 14]);
      assertStringIncludes(r.error!.message, "is outside the script's directory");
      assertStringIncludes(r.error!.message, "--allow-path");
    }
    const allowed = await run(dir, script(`${outside}/hlt.bin`), [outside]);
    assertEquals(allowed.code, 0, allowed.error?.diagnostic);
    assertEquals(allowed.printed, ["hlt"]);
  });
});

Deno.test("guest file: a FIFO or a device is refused before it is opened", async () => {
  await withDirs(async (dir) => {
    const fifo = `${dir}/fifo.bin`;
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert(made.success, "mkfifo");
    // Opening it would block forever: the refusal must come from the stat.
    const r = await run(dir, script("fifo.bin"));
    assertEquals(r.code, 3);
    assertStringIncludes(r.error!.message, "is not a regular file");
    await Deno.symlink("/dev/zero", `${dir}/zero.bin`);
    const zero = await run(dir, script("zero.bin"), ["/dev"]);
    assertEquals(zero.code, 3);
    assertStringIncludes(zero.error!.message, "/dev/zero is not a regular file");
  });
});

Deno.test("guest file: a file larger than its region is refused by size, unread", async () => {
  await withDirs(async (dir) => {
    // 3 GiB and sparse: reading it would take the memory the old loader took.
    const big = `${dir}/big.bin`;
    using file = await Deno.open(big, { create: true, write: true });
    await file.truncate(3 * 1024 ** 3);
    const r = await run(dir, script("big.bin"));
    assertEquals(r.code, 3);
    assertStringIncludes(r.error!.message, "is 3221225472 bytes; at most 2097152 fit at 0x200000");
  });
});

Deno.test("guest file: the room is the rest of the region holding the load address", () => {
  const regions = [{ gpa: 0n, size: 0x100000n }, { gpa: 0x200000n, size: 0x200000n }];
  assertEquals(roomAt(0x200000n, regions), 0x200000n);
  assertEquals(roomAt(0x3ff000n, regions), 0x1000n);
  assertEquals(roomAt(0x100000n, regions), 0n);
});

Deno.test("guest file: a load address outside every region is a located error", async () => {
  await withDirs(async (dir) => {
    await assertRejectsMessage(
      readGuestFile({
        path: "bin/hlt.bin",
        loc: { line: 1, column: 1, offset: 0, length: 1 },
        scriptFile: `${dir}/t.kvm`,
        load: 0x900000n,
        regions: [{ gpa: 0n, size: 0x100000n }],
      }),
      "load address 0x900000 is not inside the system region or a memslot",
    );
    assert(MAX_GUEST_FILE_BYTES >= 1024 * 1024);
  });
});

async function assertRejectsMessage(p: Promise<unknown>, text: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    assertStringIncludes((e as Error).message, text);
    return;
  }
  throw new Error(`did not reject: ${text}`);
}
