/**
 * `demand uffd` on a real /dev/kvm: userfaultfd registration of a slot,
 * handler Workers serving first touches, `populate`, and release of the
 * handlers and fds on close. Skipped (with the reason printed) when
 * /dev/kvm or userfaultfd cannot be opened.
 */
import { TEST_WATCHDOG_MS } from "../../support/wait.ts";
import { assertEquals, assertGreater, assertLess, assertThrows } from "@std/assert";
import { MemoryOutput, parseScript, runScript } from "../../../dsl/mod.ts";
import { touchedPages } from "../../../guest/payloads/touch.ts";
import { skipKvm } from "../../support/kvm_probe.ts";
import { vmWithRam } from "../../support/kvm_slot_vm.ts";
import { ErrnoError, VmmError } from "../../../vmm/errors.ts";
import { KvmVm } from "../../../vmm/kvm/mod.ts";
import { probeUserfaultfd } from "../../../vmm/kvm/uffd.ts";
import { UFFD_SIZEOF, UFFDIO } from "../../../vmm/kvm/uapi.ts";
import { loadGuest } from "../../../vmm/builder.ts";

const ignore = skipKvm("kvm uffd tests", probeUserfaultfd);

const MIB = 1n << 20n;
const GIB = 1n << 30n;
const PAGE = 4096n;

Deno.test("uffd: ioctl numbers match linux/userfaultfd.h", () => {
  assertEquals(UFFDIO.UFFDIO_API, 0xc018aa3f);
  assertEquals(UFFDIO.UFFDIO_REGISTER, 0xc020aa00);
  assertEquals(UFFDIO.UFFDIO_UNREGISTER, 0x8010aa01);
  assertEquals(UFFDIO.UFFDIO_WAKE, 0x8010aa02);
  assertEquals(UFFDIO.UFFDIO_COPY, 0xc028aa03);
  assertEquals(UFFDIO.UFFDIO_ZEROPAGE, 0xc020aa04);
  assertEquals(UFFDIO.USERFAULTFD_IOC_NEW, 0xaa00);
  assertEquals(UFFD_SIZEOF.uffd_msg, 32);
});

/** A VM with an `absent` slot `ram` at 1 GiB. */
function vmWithAbsent(name: string, size: bigint, vcpus = 1): KvmVm {
  return vmWithRam(name, size, "absent", vcpus);
}

for (const handlers of [1, 2]) {
  Deno.test({
    name: `uffd: touch over an absent slot, ${handlers} handler(s): one fault per distinct page`,
    ignore,
  }, async () => {
    using vm = vmWithAbsent(`touch${handlers}`, 8n * MIB);
    vm.demandUffd("ram", handlers);
    const params = { slot: "ram", count: 1500n, pattern: "random", seed: 11n };
    loadGuest(vm, { kind: "payload", name: "touch", params });
    const pages = new Set(
      touchedPages({ gpa: GIB, size: 8n * MIB }, { ...params, pattern: "random" }),
    );
    assertEquals(vm.stat("uffd_faults"), 0n);
    // `done` also means the guest's own readback of its first page held.
    assertEquals((await vm.run({ watchdogMs: TEST_WATCHDOG_MS })).reason, "done");
    assertEquals(vm.stat("uffd_faults"), BigInt(pages.size));
    // The guest stored each page's GPA in its first word.
    for (const gpa of [...pages].slice(0, 50)) assertEquals(vm.readSlot("ram", gpa - GIB), gpa);
    assertEquals(vm.stat("uffd_faults"), BigInt(pages.size)); // those pages were present
    // A host read of an untouched page is a first touch too.
    const untouched = [...Array(2048).keys()].map((i) => GIB + BigInt(i) * PAGE)
      .find((g) => !pages.has(g))!;
    assertEquals(vm.readSlot("ram", untouched - GIB), 0n);
    assertEquals(vm.stat("uffd_faults"), BigInt(pages.size) + 1n);
    assertEquals(vm.statNames().includes("uffd_faults"), true);
  });
}

Deno.test(
  { name: "uffd: an absent slot without demand uffd faults in zero pages", ignore },
  async () => {
    using vm = vmWithAbsent("plain", 4n * MIB);
    loadGuest(vm, { kind: "payload", name: "touch", params: { slot: "ram", count: 512n } });
    assertEquals((await vm.run({ watchdogMs: TEST_WATCHDOG_MS })).reason, "done");
    assertEquals(vm.stat("uffd_faults"), 0n);
    assertEquals(vm.readSlot("ram", 7n * PAGE), GIB + 7n * PAGE);
    assertEquals(vm.readSlot("ram", 600n * PAGE), 0n);
  },
);

Deno.test(
  { name: "uffd: populate before the run leaves 0 faults in the range", ignore },
  async () => {
    using vm = vmWithAbsent("pop", 4n * MIB);
    vm.demandUffd("ram", 1);
    // The whole touched range [0, 512 pages), in two calls; the second overlaps.
    vm.populate("ram", 0n, 300n * PAGE);
    vm.populate("ram", 256n * PAGE, 256n * PAGE);
    loadGuest(vm, { kind: "payload", name: "touch", params: { slot: "ram", count: 512n } });
    assertEquals((await vm.run({ watchdogMs: TEST_WATCHDOG_MS })).reason, "done");
    assertEquals(vm.stat("uffd_faults"), 0n);
    assertEquals(vm.readSlot("ram", 511n * PAGE), GIB + 511n * PAGE);
  },
);

Deno.test(
  { name: "uffd: populate of part of the range, then touch the rest", ignore },
  async () => {
    using vm = vmWithAbsent("half", 4n * MIB);
    vm.demandUffd("ram", 2);
    vm.populate("ram", 0n, 100n * PAGE);
    loadGuest(vm, { kind: "payload", name: "touch", params: { slot: "ram", count: 400n } });
    assertEquals((await vm.run({ watchdogMs: TEST_WATCHDOG_MS })).reason, "done");
    assertEquals(vm.stat("uffd_faults"), 300n);
    // populate over pages that are already present is a no-op (EEXIST skipped).
    vm.populate("ram");
    assertEquals(vm.stat("uffd_faults"), 300n);
    assertEquals(vm.readSlot("ram", 399n * PAGE), GIB + 399n * PAGE);
    assertEquals(vm.readSlot("ram", 1000n * PAGE), 0n);
    assertEquals(vm.stat("uffd_faults"), 300n);
  },
);

Deno.test({ name: "uffd: pages are served from a source buffer", ignore }, async () => {
  using vm = vmWithAbsent("src", 2n * MIB);
  const pages = 16;
  const source = new Uint8Array(pages * 4096 - 100); // a partial last page
  const dv = new DataView(source.buffer);
  for (let i = 0; i < pages - 1; i++) dv.setBigUint64(i * 4096, BigInt(i + 1) * 0x1111n, true);
  vm.demandUffd("ram", 1, { source });
  loadGuest(vm, {
    kind: "payload",
    name: "read_sweep",
    params: { slot: "ram", size: BigInt(pages) * PAGE + 4n * PAGE },
  });
  let sum = -1n;
  const exit = await vm.run({
    watchdogMs: TEST_WATCHDOG_MS,
    handledSyncLabels: new Set(["sum"]),
    onExit: (e) => {
      if (e.reason === "sync") sum = e.value;
    },
  });
  assertEquals(exit.reason, "done");
  let want = 0n;
  for (let i = 0; i < pages - 1; i++) want += BigInt(i + 1) * 0x1111n;
  assertEquals(sum, want);
  assertEquals(vm.stat("uffd_faults"), BigInt(pages + 4));
  assertEquals(vm.readSlot("ram", 3n * PAGE), 4n * 0x1111n);
  // populate copies the source too.
  using vm2 = vmWithAbsent("src2", 2n * MIB);
  vm2.demandUffd("ram", 1, { source });
  vm2.populate("ram", 0n, 8n * PAGE);
  assertEquals(vm2.readSlot("ram", 5n * PAGE), 6n * 0x1111n);
  assertEquals(vm2.stat("uffd_faults"), 0n);
});

Deno.test({ name: "uffd: two vCPUs fault concurrently", ignore }, async () => {
  using vm = vmWithAbsent("dw", 4n * MIB, 2);
  vm.demandUffd("ram", 2);
  loadGuest(vm, { kind: "payload", name: "dirty_writer", params: { slot: "ram", iterations: 2n } });
  const exit = await vm.run({
    watchdogMs: TEST_WATCHDOG_MS,
    handledSyncLabels: new Set(["iter"]),
    onExit: () => {},
  });
  assertEquals(exit.reason, "done");
  assertEquals(vm.stat("uffd_faults"), 1024n);
});

Deno.test({ name: "uffd: delete stops the handlers and keeps the count", ignore }, async () => {
  using vm = vmWithAbsent("del", 2n * MIB);
  vm.demandUffd("ram", 1);
  loadGuest(vm, { kind: "payload", name: "touch", params: { slot: "ram", count: 10n } });
  assertEquals((await vm.run({ watchdogMs: TEST_WATCHDOG_MS })).reason, "done");
  vm.deleteMemslot("ram");
  assertEquals(vm.stat("uffd_faults"), 10n);
  // The name is free again; a new slot can be demand paged.
  vm.addMemslot({ name: "ram", gpa: GIB, size: 2n * MIB, backing: "absent" });
  vm.demandUffd("ram", 1);
  vm.writeSlot("ram", 0n, 5n);
  assertEquals(vm.stat("uffd_faults"), 11n);
});

Deno.test({ name: "uffd: argument and state errors", ignore }, () => {
  using vm = vmWithAbsent("errs", 2n * MIB);
  assertThrows(() => vm.demandUffd("nope", 1), VmmError, 'no memslot named "nope"');
  assertThrows(() => vm.demandUffd("ram", 0), RangeError, "handlers must be 1..64");
  assertThrows(
    () => vm.demandUffd("ram", 1, { source: new Uint8Array(3 << 20) }),
    RangeError,
    "larger than the slot",
  );
  vm.demandUffd("ram", 1);
  assertThrows(() => vm.demandUffd("ram", 1), VmmError, "already served");
  // A misaligned populate is madvise's EINVAL, as on the emulator.
  assertEquals(assertThrows(() => vm.populate("ram", 1n), ErrnoError).errno, "EINVAL");
  vm.close();
  assertThrows(() => vm.stat("uffd_faults"), VmmError, "closed");
  assertThrows(() => vm.demandUffd("ram", 1), VmmError, "closed");
});

Deno.test({ name: "uffd: the DSL's demand uffd gives the emulator's counts", ignore }, async () => {
  const text = `
vm dp {
  memslot ram gpa 0x40000000 size 8M backing absent
  guest touch { slot ram  count 1000  pattern random  seed 7 }
}
demand uffd ram handlers 2
memslot ram populate size 64K
run until done
expect $exit.reason == done
let $f = stat uffd_faults
print $f
`;
  const printed: Record<string, string[]> = {};
  for (const backend of ["kvm", "emu"] as const) {
    const output = new MemoryOutput();
    const summary = await runScript(parseScript(text, { file: "uffd.kvm" }), {
      output,
      backend,
      watchdogMs: TEST_WATCHDOG_MS,
    });
    assertEquals(
      summary.outcome,
      "passed",
      JSON.stringify(output.events, (_, v) => typeof v === "bigint" ? String(v) : v),
    );
    printed[backend] = output.printed;
  }
  // 804 distinct pages, 6 of them among the 16 populated ones.
  assertEquals(printed.kvm, ["798"]);
  assertEquals(printed.emu, printed.kvm);
});

// --- release (fresh subprocesses, as in kvm_cleanup_test.ts) -----------------

const VM_URL = new URL("../../../vmm/kvm/vm.ts", import.meta.url).href;
const TESTING_URL = new URL("../../support/kvm_guests.ts", import.meta.url).href;
const BUILDER_URL = new URL("../../../vmm/builder.ts", import.meta.url).href;
const WAIT_URL = new URL("../../support/wait.ts", import.meta.url).href;

interface Counts {
  fds: number;
  uffds: number;
  threads: number;
}

const PRELUDE = `
import { KvmVm } from "${VM_URL}";
import { flatLongModeImage, spinGuest } from "${TESTING_URL}";
import { loadGuest } from "${BUILDER_URL}";
import { ownThreadCount, releasedThreadsExited, TEST_WATCHDOG_MS } from "${WAIT_URL}";
function counts() {
  let fds = 0, uffds = 0;
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    fds++;
    try { if (Deno.readLinkSync("/proc/self/fd/" + e.name).includes("userfaultfd")) uffds++; } catch {}
  }
  return { fds, uffds, threads: ownThreadCount() };
}
const GIB = 1n << 30n;
// Warm up what exists once per process: libc, the signal handler, a worker, the runtime's signal driver.
{
  using w = new KvmVm({ name: "warm", vcpus: 2 });
  w.loadImage(flatLongModeImage({ code: spinGuest(), vcpus: 2 }));
  await w.run({ timeoutMs: 10 });
  w.addMemslot({ name: "ram", gpa: GIB, size: 1n << 20n, backing: "absent" });
  w.demandUffd("ram", 1);
}
// The runtime's signal driver (a socket pair, once per process) comes up lazily, some time after
// the first vCPU threads; bring it up now so it is not counted as the scenario's.
{ const f = () => {}; Deno.addSignalListener("SIGWINCH", f); Deno.removeSignalListener("SIGWINCH", f); }
await releasedThreadsExited();
const before = counts();
`;

async function scenario(body: string): Promise<{ before: Counts; during: Counts; after: Counts }> {
  const code = `${PRELUDE}\nlet during = counts();\n${body}\n` +
    `await releasedThreadsExited();\n` +
    `console.log(JSON.stringify({ before, during, after: counts() }));\n`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const how = out.signal ? `signal ${out.signal}` : `exit code ${out.code}`;
    const dec = new TextDecoder();
    throw new Error(
      `scenario failed (${how}):\n${dec.decode(out.stdout)}\n${dec.decode(out.stderr)}`,
    );
  }
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
  return JSON.parse(text);
}

Deno.test(
  { name: "uffd: close releases the userfaultfds and handler threads", ignore },
  async () => {
    const { before, during, after } = await scenario(`
for (const handlers of [1, 2, 4]) {
  for (let i = 0; i < 5; i++) {
    const vm = new KvmVm({ name: "c" + i });
    vm.addMemslot({ name: "ram", gpa: GIB, size: 4n << 20n, backing: "absent" });
    vm.addMemslot({ name: "ram2", gpa: 2n * GIB, size: 4n << 20n, backing: "absent" });
    vm.demandUffd("ram", handlers);
    vm.demandUffd("ram2", 1);
    loadGuest(vm, { kind: "payload", name: "touch", params: { slot: "ram", count: 64n } });
    const exit = await vm.run({ watchdogMs: TEST_WATCHDOG_MS });
    if (exit.reason !== "done") throw new Error("run: " + exit.reason);
    if (vm.stat("uffd_faults") !== 64n) throw new Error("faults " + vm.stat("uffd_faults"));
    if (i === 0 && handlers === 4) during = counts();
    vm.close();
    vm.close();
  }
}`);
    assertEquals(during.uffds - before.uffds, 2);
    assertGreater(during.threads - before.threads, 4);
    assertEquals(after.uffds, before.uffds);
    assertEquals(after.fds, before.fds);
    assertEquals(after.threads, before.threads);
  },
);

Deno.test(
  { name: "uffd: a VM closed after a failed run (watchdog) releases the handlers", ignore },
  async () => {
    const { before, after } = await scenario(`
for (const vcpus of [1, 2, 1, 2]) {
  const vm = new KvmVm({ name: "wd", vcpus });
  vm.addMemslot({ name: "ram", gpa: GIB, size: 4n << 20n, backing: "absent" });
  vm.demandUffd("ram", 2);
  vm.writeSlot("ram", 0n, 1n);
  vm.loadImage(flatLongModeImage({ code: spinGuest(), vcpus }));
  try { await vm.run({ watchdogMs: 100 }); throw new Error("no watchdog"); }
  catch (e) { if (e.name !== "WatchdogError") throw e; }
  vm.close();
}
// Closed without ever running, and a constructor-time failure next to it.
new KvmVm({ name: "idle" }).close();
{
  const vm = new KvmVm({ name: "idle2" });
  vm.addMemslot({ name: "ram", gpa: GIB, size: 1n << 20n, backing: "absent" });
  vm.demandUffd("ram", 3);
  vm.close();
}`);
    assertEquals(after.uffds, before.uffds);
    assertEquals(after.fds, before.fds);
    assertEquals(after.threads, before.threads);
    assertLess(after.fds, before.fds + 1);
  },
);
