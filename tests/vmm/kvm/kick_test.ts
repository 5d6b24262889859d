/**
 * The SIGUSR2 kick handler outlives the isolate that installed it: Deno puts
 * a signal listened to with `addSignalListener` back to its default action
 * (kill) when that isolate ends, which killed `deno test --parallel` runs
 * when a later kvm test kicked a vCPU. The handler is now a C-level one.
 */
import { assertEquals, assertStringIncludes } from "@std/assert";
import { skipKvm } from "../../support/kvm_probe.ts";

const KICK_URL = new URL("../../../vmm/kvm/kick.ts", import.meta.url).href;
const WAIT_URL = new URL("../../support/wait.ts", import.meta.url).href;

Deno.test({
  name: "kick: SIGUSR2 stays handled after the isolate that installed the handler ends",
  ignore: skipKvm("kvm kick tests"),
}, async () => {
  // A Worker installs the handler and ends; then the process signals itself.
  const worker = `import { installKickHandler } from "${KICK_URL}";
installKickHandler();
postMessage("installed");`;
  const main = `import { releasedThreadsExited } from "${WAIT_URL}";
const url = URL.createObjectURL(new Blob([${JSON.stringify(worker)}], { type: "text/javascript" }));
const w = new Worker(url, { type: "module" });
await new Promise((resolve) => w.onmessage = resolve);
w.terminate();
// The worker's thread (and its isolate) must be gone before the signal, or nothing is tested.
if (!(await releasedThreadsExited())) throw new Error("the worker thread did not exit");
Deno.kill(Deno.pid, "SIGUSR2");
await new Promise((resolve) => setTimeout(resolve, 0));
console.log("alive");`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", main],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, text);
  assertStringIncludes(text, "alive");
});
