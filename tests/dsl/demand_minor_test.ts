/**
 * `demand uffd NAME [minor] [handlers N]`: parsing of `minor`, and its run on
 * the emulator (MINOR faults of a memfd slot; the located error for any
 * other backing). The kvm side is tests/vmm/kvm/uffd_minor_test.ts.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { MemoryOutput, parseScript, runScript } from "../../dsl/mod.ts";
import type { Step } from "../../dsl/ast.ts";

function step(text: string): Step {
  const s = parseScript(`vm v { memslot ram gpa 1G size 1M }\n${text}\n`, { file: "t.kvm" });
  const last = s.body[s.body.length - 1];
  return last as Step;
}

Deno.test("parseScript() reads demand uffd with and without minor", () => {
  const plain = step("demand uffd ram handlers 4");
  assert(plain.kind === "demand" && !plain.minor && plain.handlers !== undefined);
  const minor = step("demand uffd ram minor handlers 2");
  assert(minor.kind === "demand" && minor.minor && minor.slot.text === "ram");
  assert(minor.handlers !== undefined);
  const bare = step("demand uffd ram minor");
  assert(bare.kind === "demand" && bare.minor && bare.handlers === undefined);
  // Keywords are contextual: a slot may be called `minor`.
  const named = step("demand uffd minor minor");
  assert(named.kind === "demand" && named.slot.text === "minor" && named.minor);
});

async function runEmu(text: string) {
  const output = new MemoryOutput();
  const summary = await runScript(parseScript(text, { file: "minor.kvm" }), {
    output,
    backend: "emu",
  });
  return { summary, events: output.events };
}

Deno.test("demand uffd minor on the emulator: one minor fault per page, bytes kept", async () => {
  const { summary, events } = await runEmu(`vm lazy {
  memslot ram gpa 1G size 4M backing memfd
  guest touch { slot ram  count 16  write on }
}
memslot ram write offset 0x200008 value 0x1234
demand uffd ram minor handlers 2
run until done timeout 120s
expect $exit.reason == done
let $u = stat uffd_faults
expect $u == 16
let $v = memslot ram read offset 0x200008
expect $v == 0x1234
`);
  const failed = events.filter((e) => e.event === "expect" && !e.ok);
  assertEquals(failed, []);
  assertEquals(summary.outcome, "passed");
});

Deno.test("demand uffd minor without backing memfd is a located error", async () => {
  const { summary, events } = await runEmu(`vm v {
  memslot ram gpa 1G size 4M backing absent
}
demand uffd ram minor
`);
  assertEquals(summary.outcome, "backend_failed");
  const error = events.find((e) => e.event === "error");
  assert(error?.event === "error");
  assertStringIncludes(error.diagnostic ?? "", "minor.kvm:4:1: error: demand uffd ram minor");
  assertStringIncludes(error.message, "give the slot `backing memfd` (it is absent)");
});
