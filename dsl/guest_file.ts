/**
 * Loading the bytes of `guest file "x.bin" { … }`, defensively: the path is
 * relative to the script's directory and confined to it (or to a directory
 * the user allowed), only a regular file is read, its size is checked
 * before reading against the room the layout has at the load address, the
 * read is bounded by that size, and the whole load by a time limit.
 *
 * @module
 */
import { dirname, isAbsolute, relative, resolve } from "node:path";
import type { Loc } from "./ast.ts";
import { ScriptRuntimeError } from "./evaluate.ts";

/** Largest guest file, whatever the layout allows (a flat binary, not a disk image). */
export const MAX_GUEST_FILE_BYTES = 256 * 1024 * 1024;

/** How long loading a guest file may take (a regular file on a stuck mount must not hang the VMM). */
export const GUEST_FILE_LOAD_MS = 10_000;

/** A guest-physical range the file may be loaded into. */
export interface LoadRegion {
  /** Its first guest-physical address. */
  gpa: bigint;
  /** Its size in bytes. */
  size: bigint;
}

/** Where and how a guest file is read. */
export interface GuestFileRequest {
  /** The path as the script writes it. */
  path: string;
  /** The path's location in the script, for errors. */
  loc: Loc;
  /** The script's file name (the path is relative to its directory). */
  scriptFile: string;
  /** Directories outside the script's directory the file may also lie in. */
  allowPaths?: readonly string[];
  /** The load address. */
  load: bigint;
  /** The system region and the memslots: the file must fit in one of them from `load`. */
  regions: readonly LoadRegion[];
}

/** Bytes the layout has room for at `load`: to the end of the region holding it (0 when none). */
export function roomAt(load: bigint, regions: readonly LoadRegion[]): bigint {
  let room = 0n;
  for (const r of regions) {
    if (load >= r.gpa && load < r.gpa + r.size && r.gpa + r.size - load > room) {
      room = r.gpa + r.size - load;
    }
  }
  return room;
}

function realDir(dir: string): string {
  try {
    return Deno.realPathSync(dir);
  } catch {
    return resolve(dir);
  }
}

function inside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/**
 * Reads a guest file under the rules of this module.
 *
 * @param request the path, the script, the allowed directories and the layout
 * @returns the file's bytes
 * @throws {ScriptRuntimeError} at the path for every refusal (outside the allowed
 *   directories, not a regular file, larger than the room, too slow)
 */
export async function readGuestFile(request: GuestFileRequest): Promise<Uint8Array> {
  const fail = (message: string): never => {
    throw new ScriptRuntimeError(request.loc, `guest file '${request.path}': ${message}`);
  };
  const scriptDir = dirname(resolve(request.scriptFile));
  const wanted = resolve(scriptDir, request.path);
  let real = "";
  try {
    real = await Deno.realPath(wanted);
  } catch (e) {
    fail(`cannot read ${wanted}: ${(e as Error).message}`);
  }
  // Symlinks resolved on both sides: a link inside the directory cannot lead out of it.
  const allowed = [scriptDir, ...(request.allowPaths ?? [])].map(realDir);
  if (!allowed.some((dir) => inside(real, dir))) {
    fail(
      `${real} is outside the script's directory ${
        allowed[0]
      } (the CLI's --allow-path DIR allows more)`,
    );
  }
  const room = roomAt(request.load, request.regions);
  if (room === 0n) {
    fail(
      `load address 0x${request.load.toString(16)} is not inside the system region or a memslot`,
    );
  }
  const limit = Number(room < BigInt(MAX_GUEST_FILE_BYTES) ? room : MAX_GUEST_FILE_BYTES);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ScriptRuntimeError(
            request.loc,
            `guest file '${request.path}': loading took longer than ${GUEST_FILE_LOAD_MS / 1000} s`,
          ),
        ),
      GUEST_FILE_LOAD_MS,
    );
  });
  try {
    return await Promise.race([readBounded(real, limit, request.load, fail), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Checks the type and size (stat, before any read), then reads at most `limit` bytes. */
async function readBounded(
  path: string,
  limit: number,
  load: bigint,
  fail: (message: string) => never,
): Promise<Uint8Array> {
  const info = await Deno.stat(path);
  // Opening a FIFO would block until a writer comes; a device never ends.
  if (!info.isFile) fail(`${path} is not a regular file`);
  const tooLarge = (size: number) =>
    fail(
      `${path} is ${size} bytes; at most ${limit} fit at 0x${load.toString(16)}` +
        (limit === MAX_GUEST_FILE_BYTES ? " (the guest file limit)" : " (the end of its region)"),
    );
  if (info.size > limit) tooLarge(info.size);
  using file = await Deno.open(path, { read: true });
  // The file may have been replaced between stat and open: check what was opened.
  const opened = await file.stat();
  if (!opened.isFile) fail(`${path} is not a regular file`);
  if (opened.size > limit) tooLarge(opened.size);
  const bytes = new Uint8Array(opened.size);
  let filled = 0;
  while (filled < bytes.length) {
    const n = await file.read(bytes.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  // A file that grew after the stat is not read past the size it had.
  return bytes.subarray(0, filled);
}
