/**
 * Running the CLI (`vmm.ts`) as users do: in a subprocess, on a script
 * written to a temporary folder.
 *
 * @module
 */

import { CLI_WATCHDOG } from "./wait.ts";

const VMM = new URL("../../vmm.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

/** What a CLI run printed and returned. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `vmm.ts t.kvm FLAGS…` on `script` with the given Deno permission flags,
 * with the test watchdog (`--watchdog 120s`): a failure bound, not a deadline.
 *
 * @param permissions e.g. `["-A"]`
 * @param script the script's text (written as `t.kvm` in a fresh folder, the cwd)
 * @param flags the CLI's flags
 * @returns exit code and output
 */
export async function runVmm(
  permissions: string[],
  script: string,
  ...flags: string[]
): Promise<CliResult> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/t.kvm`, script);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...permissions, VMM, "t.kvm", ...CLI_WATCHDOG, ...flags],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
