/**
 * The fuzzer's worker: runs scripts with {@linkcode executeInline} one at a
 * time, so the main thread can end a script that hangs by terminating it.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { executeInline } from "./execute.ts";

self.onmessage = async (e: MessageEvent<{ text: string; file: string }>) => {
  self.postMessage(await executeInline(e.data.text, { file: e.data.file }));
};
