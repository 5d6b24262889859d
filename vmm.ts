/**
 * The command line's entry, kept at the root so `deno run -A vmm.ts x.kvm`
 * works; the CLI itself lives in `cli/`.
 *
 * @module
 */
import { runCli } from "./cli/main.ts";
if (import.meta.main) await runCli();
