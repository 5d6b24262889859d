/**
 * Guests that misbehave end with a clear, located message and the exit code
 * the spec gives, on both backends: a triple fault, page tables rewritten
 * into nonsense, an instruction the emulator does not implement, a slot
 * beyond the guest-physical address width. Run through the CLI, as a user would.
 */
import { assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { skipKvm } from "../support/kvm_probe.ts";
import { CLI_WATCHDOG } from "../support/wait.ts";

const VMM = new URL("../../vmm.ts", import.meta.url).pathname;
const KVM = !skipKvm("bad_input_test");
const BACKENDS = KVM ? ["emu", "kvm"] as const : ["emu"] as const;

/** Machine code for the flat binaries (64-bit mode, loaded at 0x200000). */
const BINARIES: Record<string, number[]> = {
  // mov rax, 0x400000000000; jmp rax — a GVA the page tables do not map
  "jump_unmapped.bin": [0x48, 0xb8, 0, 0, 0, 0, 0, 0x40, 0, 0, 0xff, 0xe0],
  // mov rax, cr3; mov rbx, -1; mov [rax], rbx; mov cr3, rax; hlt
  // — PML4[0] full of reserved bits, then a TLB flush: the next fetch faults
  "trash_page_tables.bin": [
    0x0f,
    0x20,
    0xd8,
    0x48,
    0xc7,
    0xc3,
    0xff,
    0xff,
    0xff,
    0xff,
    0x48,
    0x89,
    0x18,
    0x0f,
    0x22,
    0xd8,
    0xf4,
  ],
  // ud2: outside the emulated subset; on KVM #UD with no IDT is a triple fault
  "ud2.bin": [0x0f, 0x0b],
};

function script(binary: string, until: "done" | "exit"): string {
  return `vm bad {
  memslot ram gpa 0x200000 size 2M
  guest file "${binary}" { load 0x200000 entry 0x200000 mode long }
}
run until ${until} timeout 120s
print $exit.reason, hex($exit.rip)
`;
}

async function cli(
  dir: string,
  text: string,
  backend: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  await Deno.writeTextFile(`${dir}/t.kvm`, text);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", VMM, "t.kvm", "--backend", backend, ...CLI_WATCHDOG],
    cwd: dir,
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function withBinaries(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "vmm-bad-input-" });
  try {
    for (const [name, bytes] of Object.entries(BINARIES)) {
      await Deno.writeFile(`${dir}/${name}`, new Uint8Array(bytes));
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

for (const backend of BACKENDS) {
  Deno.test(`bad input (${backend}): a triple fault is a located guest crash, exit code 3`, () =>
    withBinaries(async (dir) => {
      const r = await cli(dir, script("jump_unmapped.bin", "done"), backend);
      assertEquals(r.code, 3, r.stderr);
      assertStringIncludes(
        r.stderr,
        "t.kvm:5:1: error: vCPU 0 at RIP 0x400000000000: guest crashed: triple fault",
      );
      assertStringIncludes(r.stderr, "run until done timeout 120s\n^~~");
      assertEquals(r.stderr.includes("    at "), false, "no stack trace without --debug");
    }));

  Deno.test(`bad input (${backend}): 'run … until exit' lets a script inspect the crash`, () =>
    withBinaries(async (dir) => {
      const r = await cli(dir, script("jump_unmapped.bin", "exit"), backend);
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes(r.stdout, "shutdown 0x400000000000\n");
    }));

  for (const mmu of backend === "emu" ? ["tdp", "shadow"] : [""]) {
    Deno.test(
      `bad input (${backend}${
        mmu ? ` ${mmu}` : ""
      }): page tables written into nonsense end in a triple fault`,
      () =>
        withBinaries(async (dir) => {
          const text = script("trash_page_tables.bin", "exit")
            .replace("vm bad {", `vm bad {${mmu ? `\n  mmu ${mmu}` : ""}`)
            .replace("print $exit.reason", "print $mmu, $exit.reason");
          const r = await cli(dir, text, backend);
          assertEquals(r.code, 0, r.stderr);
          // Under a shadow MMU (this host's KVM, or the emulator's model) the write to a
          // shadowed PML4 zaps its translations at once, so the fetch of the very next
          // instruction (`mov cr3, rax` at 0x20000d) faults. With TDP the guest TLB keeps
          // the old translation until `mov cr3` flushes it, and the fetch after it faults.
          // Both are architectural: the TLB may be flushed at any time.
          const shadow = r.stdout.startsWith("shadow");
          assertStringIncludes(r.stdout, `shutdown ${shadow ? "0x20000d" : "0x200010"}\n`);
        }),
    );
  }

  Deno.test(`bad input (${backend}): an instruction the guest cannot run is exit code 3`, () =>
    withBinaries(async (dir) => {
      const r = await cli(dir, script("ud2.bin", "done"), backend);
      assertEquals(r.code, 3, r.stderr);
      assertMatch(r.stderr, /^t\.kvm:5:1: error: vCPU 0 at RIP 0x200000: /);
      // The emulator names the bytes; real KVM raises #UD, which with no IDT is a triple fault.
      assertStringIncludes(
        r.stderr,
        backend === "emu" ? "unsupported instruction (bytes 0f 0b" : "triple fault",
      );
    }));

  Deno.test(`bad input (${backend}): a slot beyond the guest-physical width is EINVAL`, () =>
    withBinaries(async (dir) => {
      const r = await cli(
        dir,
        `vm big {\n  memslot ram gpa 0x200000 size 2M\n}\n` +
          `expect error EINVAL { memslot huge gpa 0x10000000000000 size 1T }\n`,
        backend,
      );
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes(r.stdout, "1 expectation passed, 0 failed");
    }));
}
