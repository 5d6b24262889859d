/**
 * The errno rules of proposals 1 and 2 as a script author meets them: each
 * rule is an `expect error` in a `.kvm` script, run through the interpreter.
 * The rules are the emulator's (the proposals never reached mainline); on
 * kvm the same requests are refused with a message naming the host's state.
 */
import { TEST_WATCHDOG_MS } from "../support/wait.ts";
import { assertEquals, assertStringIncludes } from "@std/assert";
import { MemoryOutput, parseScript, runScript } from "../../dsl/mod.ts";
import { skipKvm } from "../support/kvm_probe.ts";

const KVM = !skipKvm("proposals_scripts_test");

async function run(text: string, backend: "emu" | "kvm") {
  const output = new MemoryOutput();
  const summary = await runScript(parseScript(text, { file: "p.kvm" }), {
    output,
    backend,
    watchdogMs: TEST_WATCHDOG_MS,
  });
  const errors = output.events.flatMap((e) =>
    e.event === "error" ? [(e as { message: string }).message] : []
  );
  return { summary, errors };
}

Deno.test("proposal 1 errno rules hold as expect error steps (emu)", async () => {
  const { summary, errors } = await run(
    `
# off is refused once a memslot exists (EINVAL)
vm slots_exist {
  memslot ram gpa 0x100000 size 16M
}
expect error EINVAL { cap page_write_tracking off }

# ... and once an external tracker is registered (EINVAL)
vm tracker_registered {
  cap page_write_tracking on_demand
}
memslot ram gpa 0x100000 size 16M
track kvmgt gpa 0x100000 size 2M
expect error EINVAL { cap page_write_tracking off }
let $b = stat write_track_bytes
expect $b == 8192 else "on_demand allocated 2 B per page of the 16 MiB slot"
let $n0 = stat track_notifications
untrack kvmgt

# the seed refuses enabling too once a memslot exists (EINVAL)
vm slots_exist_on {
  memslot ram gpa 0x100000 size 16M
}
expect error EINVAL { cap page_write_tracking on }

# the shadow MMU needs write tracking for guest page tables (EBUSY)
vm shadow {
  mmu shadow
}
expect error EBUSY { cap page_write_tracking off }

# EBUSY comes before the memslot rule; enabling meets only the memslot rule
vm shadow_slots {
  mmu shadow
  memslot ram gpa 0x100000 size 16M
}
expect error EBUSY { cap page_write_tracking off }
expect error EINVAL { cap page_write_tracking on }

# with tracking off no external tracker can register (EINVAL)
vm off {
  cap page_write_tracking off
  memslot ram gpa 0x100000 size 16M
}
expect error EINVAL { track kvmgt gpa 0x100000 size 2M }
let $off = stat write_track_bytes
expect $off == 0
`,
    "emu",
  );
  assertEquals(errors, []);
  assertEquals(summary.failed, 0);
  assertEquals(summary.passed, 9);
  assertEquals(summary.outcome, "passed");
});

Deno.test("proposal 1: a tracked page's guest writes are reported (emu)", async () => {
  const { summary, errors } = await run(
    `
vm kvmgt {
  cap page_write_tracking on_demand
  memslot ram gpa 0x100000 size 4M
  guest write_sweep { slot ram  size 64K  stride 4K  passes 3 }
}
track gpu gpa 0x100000 size 64K
run until done
let $n = stat track_notifications
print "notifications", $n
expect $n == 48 else "16 tracked pages written once per pass, 3 passes"
let $e = stat pf_emulate
expect $e >= $n else "each tracked write is emulated"
`,
    "emu",
  );
  assertEquals(errors, []);
  assertEquals(summary.outcome, "passed");
});

Deno.test("proposal 2: zap policies and the mainline quirk are accepted as steps (emu)", async () => {
  const { summary, errors } = await run(
    `
vm z {
  cap memslot_zap_control zap_only_memslot
  memslot ram gpa 0x100000 size 16M
}
cap memslot_zap_control zap_all
quirk slot_zap_all off
`,
    "emu",
  );
  assertEquals(errors, []);
  assertEquals(summary.outcome, "passed");
});

Deno.test({
  name: "proposal 1 on kvm: a state the host cannot provide is refused, naming the host's",
  ignore: !KVM,
  async fn() {
    const { summary, errors } = await run(
      `vm k {\n  cap page_write_tracking off\n}\n`,
      "kvm",
    );
    assertEquals(summary.outcome, "backend_failed");
    assertEquals(errors.length, 1);
    assertStringIncludes(errors[0], "page_write_tracking");
    assertStringIncludes(errors[0], "this host uses");
  },
});
