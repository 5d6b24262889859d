/**
 * The assembler's program as items, and its assembly: layout at an origin,
 * branch relaxation (rel8 → rel32 where a target is out of reach), label
 * resolution and fixups (RIP-relative displacements, label addresses).
 * Private to `guest/`.
 *
 * @module
 */

import { fitsSigned, le } from "./encoding.ts";

/** Looks up a label's address (throws for an undefined label). */
export type Resolve = (label: string) => bigint;

/** One piece of the program, in order. */
export type Item =
  | { kind: "bytes"; bytes: Uint8Array }
  | { kind: "label"; name: string }
  | { kind: "align"; to: number; fill: number }
  | {
    kind: "fixup";
    bytes: Uint8Array;
    /** Patches `out` (a copy of `bytes` placed at `addr`) once labels are known. */
    patch: (out: Uint8Array, addr: bigint, resolve: Resolve) => void;
  }
  | {
    kind: "branch";
    /** Opcode of the rel8 form, or null when there is none (call). */
    short: readonly number[] | null;
    /** Opcode of the rel32 form, or null when there is none (loop). */
    near: readonly number[] | null;
    target: string;
    /** Whether the rel32 form is used. */
    long: boolean;
    /** Whether the size was forced (never relaxed). */
    forced: boolean;
  };

/** The result of {@linkcode Assembler.assemble}. */
export interface Assembled {
  /** The machine code and data, to be loaded at `origin`. */
  bytes: Uint8Array;
  /** Every label's absolute address. */
  labels: ReadonlyMap<string, bigint>;
}

const REL8_SIZE = 1;
const REL32_SIZE = 4;

/**
 * Lays out `items` at `origin`, sizes the branches (rel8 where it reaches
 * unless forced) and resolves labels. Does not change `items`.
 *
 * @param program the items
 * @param strings the literal pool: text → label, emitted after the items
 * @param origin the load address of the first byte
 * @returns the bytes and every label's address
 * @throws {RangeError} for an undefined label or a forced rel8 out of reach
 */
export function assembleItems(
  program: readonly Item[],
  strings: ReadonlyMap<string, string>,
  origin: bigint,
): Assembled {
  const items: Item[] = program.map((it) => it.kind === "branch" ? { ...it } : it);
  for (const [text, name] of strings) {
    items.push({ kind: "label", name });
    const bytes = new Uint8Array(text.length + 1);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    items.push({ kind: "bytes", bytes });
  }
  // Relaxation: branches only ever grow (rel8 → rel32), so this terminates.
  let addrs: bigint[];
  let labels: Map<string, bigint>;
  for (;;) {
    ({ addrs, labels } = layout(items, origin));
    let grown = false;
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      if (it.kind !== "branch" || it.long || it.forced) continue;
      const disp = target(labels, it.target) - (addrs[i] + BigInt(it.short!.length + REL8_SIZE));
      if (!fitsSigned(disp, 8)) {
        if (!it.near) throw new RangeError(`Cannot reach "${it.target}" with rel8`);
        it.long = true;
        grown = true;
      }
    }
    if (!grown) break;
  }
  const end = addrs.length ? addrs[addrs.length - 1] : origin;
  const out = new Uint8Array(Number(end - origin));
  const resolve = (name: string) => target(labels, name);
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    const at = Number(addrs[i] - origin);
    switch (it.kind) {
      case "bytes":
        out.set(it.bytes, at);
        break;
      case "fixup": {
        const bytes = it.bytes.slice();
        it.patch(bytes, addrs[i], resolve);
        out.set(bytes, at);
        break;
      }
      case "align":
        out.fill(it.fill, at, Number(addrs[i + 1] - origin));
        break;
      case "branch": {
        const op = it.long ? it.near! : it.short!;
        const size = it.long ? REL32_SIZE : REL8_SIZE;
        const next = addrs[i] + BigInt(op.length + size);
        const disp = resolve(it.target) - next;
        if (!fitsSigned(disp, size * 8)) {
          throw new RangeError(`Cannot reach "${it.target}" with rel${size * 8}`);
        }
        out.set([...op, ...le(disp, size)], at);
        break;
      }
      case "label":
        break;
    }
  }
  return { bytes: out, labels };
}

function layout(items: Item[], origin: bigint): { addrs: bigint[]; labels: Map<string, bigint> } {
  const addrs: bigint[] = [];
  const labels = new Map<string, bigint>();
  let pc = origin;
  for (const it of items) {
    addrs.push(pc);
    switch (it.kind) {
      case "bytes":
      case "fixup":
        pc += BigInt(it.bytes.length);
        break;
      case "label":
        labels.set(it.name, pc);
        break;
      case "align": {
        const to = BigInt(it.to);
        pc = (pc + to - 1n) / to * to;
        break;
      }
      case "branch":
        pc += BigInt(it.long ? it.near!.length + REL32_SIZE : it.short!.length + REL8_SIZE);
        break;
    }
  }
  addrs.push(pc);
  return { addrs, labels };
}

function target(labels: Map<string, bigint>, name: string): bigint {
  const addr = labels.get(name);
  if (addr === undefined) throw new RangeError(`Cannot resolve label "${name}": not defined`);
  return addr;
}
