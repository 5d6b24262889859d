/**
 * The CLI, as `vmm.ts` runs it, plus a report of what the process still
 * holds when it exits: open fds and mappings of KVM objects and
 * userfaultfds. `signal_test.ts` signals it and reads the report (the last
 * stderr line) to check that an interrupted run released its VMs.
 *
 * @module
 */
import { runCli } from "../../cli/main.ts";

/** Whether a path names a KVM object or a userfaultfd (not /dev/kvm itself: that is a probe's). */
function isVmResource(target: string): boolean {
  return /anon_inode:(\[?)(kvm-|userfaultfd)/.test(target);
}

globalThis.addEventListener("unload", () => {
  const fds: string[] = [];
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      const target = Deno.readLinkSync(`/proc/self/fd/${e.name}`);
      if (isVmResource(target)) fds.push(target);
    } catch {
      // closed meanwhile (the readDir's own fd)
    }
  }
  const maps = Deno.readTextFileSync("/proc/self/maps").split("\n").filter(isVmResource);
  const report = JSON.stringify({ fds, maps });
  Deno.stderr.writeSync(new TextEncoder().encode(`resources: ${report}\n`));
});

await runCli();
