/**
 * Resource release: fds and mappings return to the baseline after many VMs,
 * after a failed construction and after a failed run.
 *
 * `deno test --parallel` may run other test modules (with their own VMs) in
 * this process, so each scenario runs in a fresh `deno eval` subprocess
 * whose /proc/self counts only its own resources.
 */
import { skipKvm } from "../../support/kvm_probe.ts";
import { assertEquals, assertLess } from "@std/assert";
import {} from "../../../vmm/kvm/mod.ts";

const ignore = skipKvm("kvm cleanup tests");

const VM_URL = new URL("../../../vmm/kvm/vm.ts", import.meta.url).href;
const TESTING_URL = new URL("../../support/kvm_guests.ts", import.meta.url).href;
const WAIT_URL = new URL("../../support/wait.ts", import.meta.url).href;

/** Counters the subprocess reports before and after its scenario. */
interface Counts {
  fds: number;
  kvmFds: number;
  maps: number;
  kvmMaps: number;
  vmSizeKiB: number;
}

const PRELUDE = `
import { KvmVm } from "${VM_URL}";
import { flatLongModeImage, spinGuest } from "${TESTING_URL}";
import { releasedThreadsExited } from "${WAIT_URL}";
const OURS = /kvm|memfd:kvm-slot/;
function counts() {
  let fds = 0, kvmFds = 0;
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    fds++;
    try { if (OURS.test(Deno.readLinkSync("/proc/self/fd/" + e.name))) kvmFds++; } catch {}
  }
  const lines = Deno.readTextFileSync("/proc/self/maps").split("\\n");
  const m = /^VmSize:\\s+(\\d+) kB/m.exec(Deno.readTextFileSync("/proc/self/status"));
  return { fds, kvmFds, maps: lines.length, kvmMaps: lines.filter((l) => OURS.test(l)).length,
    vmSizeKiB: Number(m[1]) };
}
// Warm up what exists once per process: libc, the signal handler, a worker, the runtime's signal driver.
{
  using w = new KvmVm({ name: "warm", vcpus: 2 });
  w.loadImage(flatLongModeImage({ code: spinGuest(), vcpus: 2 }));
  await w.run({ timeoutMs: 10 });
}
new KvmVm({ name: "warm1" }).close();
// The runtime's signal driver (a socket pair, once per process) comes up lazily, some time after
// the first vCPU threads; bring it up now so it is not counted as the scenario's.
{ const f = () => {}; Deno.addSignalListener("SIGWINCH", f); Deno.removeSignalListener("SIGWINCH", f); }
await releasedThreadsExited();
const before = counts();
`;

async function scenario(body: string): Promise<{ before: Counts; after: Counts }> {
  const code = `${PRELUDE}\n${body}\nawait releasedThreadsExited();\n` +
    `console.log(JSON.stringify({ before, after: counts() }));\n`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
  if (!out.success) {
    const how = out.signal ? `signal ${out.signal}` : `exit code ${out.code}`;
    const dec = new TextDecoder();
    throw new Error(
      `scenario failed (${how}):\n${dec.decode(out.stdout)}\n${dec.decode(out.stderr)}`,
    );
  }
  return JSON.parse(text);
}

Deno.test({ name: "cleanup: 200 VMs leave no fd or mapping behind", ignore }, async () => {
  const { before, after } = await scenario(`
for (let i = 0; i < 200; i++) {
  const vm = new KvmVm({ name: "vm" + i });
  vm.addMemslot({ name: "ram", gpa: 1n << 30n, size: 2n << 20n, backing: "memfd" });
  // 1 GiB of NORESERVE address space each: 200 leaks would add 200 GiB of VmSize.
  vm.addMemslot({ name: "anon", gpa: 2n << 30n, size: 1n << 30n });
  vm.writeSlot("ram", 0n, 1n);
  vm.writeSlot("anon", 0n, 1n);
  vm.close();
  vm.close(); // idempotent
}`);
  assertEquals(after.fds, before.fds);
  assertEquals(after.kvmFds, before.kvmFds);
  assertEquals(after.kvmMaps, before.kvmMaps);
  // V8 may map a little on its own; 200 leaked VMs would be 600+ mappings.
  assertLess(after.maps - before.maps, 40);
  assertLess(after.vmSizeKiB - before.vmSizeKiB, 8 << 20);
});

Deno.test(
  { name: "cleanup: a constructor failing halfway releases what it made", ignore },
  async () => {
    const { before, after } = await scenario(`
for (let i = 0; i < 20; i++) {
  // A misaligned system region fails at KVM_SET_USER_MEMORY_REGION, after the VM fd exists.
  try { new KvmVm({ name: "bad", system: { gpa: 0n, size: 0x1800n } }); throw new Error("no error"); }
  catch (e) { if (e.errno !== "EINVAL") throw e; }
}`);
    assertEquals(after.fds, before.fds);
    assertEquals(after.kvmMaps, before.kvmMaps);
  },
);

Deno.test(
  { name: "cleanup: a failed run (watchdog) then close releases everything", ignore },
  async () => {
    const { before, after } = await scenario(`
for (const vcpus of [1, 2, 1, 2]) {
  const vm = new KvmVm({ name: "fail", vcpus });
  vm.loadImage(flatLongModeImage({ code: spinGuest(), vcpus }));
  try { await vm.run({ watchdogMs: 100 }); throw new Error("no watchdog"); }
  catch (e) { if (e.name !== "WatchdogError") throw e; }
  vm.close();
}`);
    assertEquals(after.fds, before.fds);
    assertEquals(after.kvmFds, before.kvmFds);
    assertEquals(after.kvmMaps, before.kvmMaps);
  },
);
