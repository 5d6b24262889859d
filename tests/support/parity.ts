/**
 * Shared helpers of the parity suite (`parity_payloads_test.ts`,
 * `parity_examples_test.ts`): run one configuration on a backend and record
 * what must be identical on both — per-vCPU exit sequences, ucall values,
 * dirty bitmaps at each step, hashes of every slot's bytes (the system region too: page tables with
 * their A/D bits, stacks, ucall slots) — plus the
 * counters whose meaning matches. See docs/backends.md for the differences
 * the suite tolerates and why.
 *
 * @module
 */
import { createVm, type CreateVmOptions, type VcpuExit, type Vm } from "../../vmm/mod.ts";
import { skipKvm } from "./kvm_probe.ts";
import { TEST_WATCHDOG_MS } from "./wait.ts";

/** `ignore` for the kvm half of a parity test. */
export const NO_KVM: boolean = skipKvm("parity: kvm half");

/** Every sync label a built-in payload uses (all are handled, so each is recorded). */
export const SYNC_LABELS: ReadonlySet<string> = new Set(["pass", "sum", "remap", "iter", "file"]);

/**
 * Counters compared between backends (their meaning matches on this host):
 * the VMM's own counters, and the exits to userspace that kvm_pvm counts
 * (`mmio_exits`, `halt_exits`; it keeps `io_exits` at 0).
 */
export const COMPARED_STATS = [
  "ucalls",
  "dirty_pages",
  "write_track_bytes",
  "mmio_exits",
  "halt_exits",
] as const;

/** Counters recorded for the documented-direction assertions only. */
export const RECORDED_STATS = ["pf_taken", "exits", "io_exits"] as const;

/**
 * One exit, written without the fields that are not part of the contract
 * (`timeout`'s RIP: where a spinning vCPU is stopped is timing).
 */
export function exitKey(e: VcpuExit): string {
  switch (e.reason) {
    case "sync":
      return `sync ${e.label} ${e.value}`;
    case "fail":
      return `fail ${e.message} ${e.value}`;
    case "io":
      return `io ${e.port} ${e.size} ${e.isWrite ? "w" : "r"} ${e.data}`;
    case "mmio":
      return `mmio 0x${e.gpa.toString(16)} ${e.len} ${e.isWrite ? "w" : "r"} ${e.data}`;
    case "memory_fault":
      return `memory_fault 0x${e.gpa.toString(16)} ${e.len} ${e.flags.join("|")}`;
    case "shutdown":
      return `shutdown 0x${e.rip.toString(16)}`;
    case "internal_error":
      return `internal_error ${e.suberror}`;
    case "fail_entry":
      return `fail_entry ${e.hardwareReason}`;
    case "system_event":
      return `system_event ${e.type}`;
    default:
      return e.reason;
  }
}

/** A dirty bitmap as ranges of set page indices, e.g. `0-4095,5000`. */
export function bitmapRanges(bitmap: Uint8Array): string {
  const out: string[] = [];
  let start = -1;
  const n = bitmap.length * 8;
  for (let i = 0; i <= n; i++) {
    const set = i < n && (bitmap[i >> 3] >> (i & 7)) & 1;
    if (set && start < 0) start = i;
    if (!set && start >= 0) {
      out.push(start === i - 1 ? `${start}` : `${start}-${i - 1}`);
      start = -1;
    }
  }
  return out.join(",") || "none";
}

const HASH_CHUNK = 1 << 20;

/**
 * SHA-256 over guest memory `[gpa, gpa+size)`, read in 1 MiB chunks (each
 * chunk digested, then the digests), so no read is larger than 1 MiB.
 */
export async function hashGuest(vm: Vm, gpa: bigint, size: bigint): Promise<string> {
  const digests: Uint8Array[] = [];
  for (let off = 0n; off < size; off += BigInt(HASH_CHUNK)) {
    const len = Number(size - off < BigInt(HASH_CHUNK) ? size - off : BigInt(HASH_CHUNK));
    const bytes = new Uint8Array(vm.readGuest(gpa + off, len));
    digests.push(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
  }
  const all = new Uint8Array(digests.length * 32);
  digests.forEach((d, i) => all.set(d, i * 32));
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return Array.from(h.subarray(0, 12), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** What one backend did with one configuration. */
export interface Trace {
  /** Exit keys per vCPU, in the order that vCPU produced them (handled syncs and the final exit). */
  exits: string[][];
  /** The exit `run` returned (its vCPU is not compared when vcpus > 1). */
  final: string;
  /** `step: slot: ranges` for every dirty-log fetch, in step order. */
  dirty: string[];
  /** Slot name (`system` for slot 0) → hash of its bytes after the run. */
  hashes: Record<string, string>;
  /** Counter values (undefined when the backend cannot provide it). */
  stats: Record<string, bigint | undefined>;
  /** Free-form values a scenario records (e.g. host reads). */
  values: string[];
}

/** Recording context handed to a scenario's hooks. */
export class Recorder {
  readonly trace: Trace;
  constructor(readonly vm: Vm) {
    this.trace = {
      exits: Array.from({ length: vm.vcpuCount }, () => []),
      final: "",
      dirty: [],
      hashes: {},
      stats: {},
      values: [],
    };
  }
  /** Records an exit under its vCPU. */
  exit(e: VcpuExit): void {
    this.trace.exits[e.vcpu].push(exitKey(e));
  }
  /** Fetches (and with `clear`, clears) every dirty-logging slot's bitmap, recorded under `step`. */
  dirty(step: string, clear: boolean): void {
    for (const s of this.vm.memslots()) {
      if (!s.flags.includes("dirty_log")) continue;
      const bm = this.vm.getDirtyLog(s.name, clear);
      this.trace.dirty.push(`${step}: ${s.name}: ${bitmapRanges(bm)}`);
    }
  }
}

/** One configuration run on both backends. */
export interface Scenario {
  /** Test name. */
  name: string;
  /** The VM (backend filled in per run). */
  vm: Omit<CreateVmOptions, "backend">;
  /** The `run` timeout (a `timeout` exit, not an error). */
  timeoutMs?: number;
  /** Fetch and clear the dirty logs at every handled sync (single-vCPU scenarios). */
  dirtyEachSync?: boolean;
  /** Called at every handled sync, after recording it. */
  onSync?: (vm: Vm, exit: VcpuExit & { reason: "sync" }, rec: Recorder) => void | Promise<void>;
  /** Replaces the default single `run` (then the scenario records exits itself). */
  drive?: (vm: Vm, rec: Recorder) => Promise<void>;
  /** Extra ranges to hash after the run, beyond every slot. */
  hashRanges?: { name: string; gpa: bigint; size: bigint }[];
}

/**
 * The default run: every payload sync label handled and recorded, the dirty
 * logs fetched and cleared at each sync when `dirtyEachSync`, then the
 * returned exit recorded.
 */
export async function runDefault(vm: Vm, rec: Recorder, s: Omit<Scenario, "name" | "vm">) {
  const exit = await vm.run({
    handledSyncLabels: SYNC_LABELS,
    timeoutMs: s.timeoutMs ?? TEST_WATCHDOG_MS,
    onExit: async (e) => {
      rec.exit(e);
      if (e.reason !== "sync") return;
      if (s.dirtyEachSync) rec.dirty(`sync ${e.label} ${e.value} (vcpu ${e.vcpu})`, true);
      await s.onSync?.(vm, e, rec);
    },
  });
  // With several vCPUs only the last one's `done` is returned, and which one
  // finishes last is scheduling: keep just the reason.
  if (vm.vcpuCount > 1) rec.trace.final = exit.reason;
  else {
    rec.exit(exit);
    rec.trace.final = exitKey(exit);
  }
}

/**
 * Runs a scenario on one backend and returns its trace.
 *
 * @param backend `emu` or `kvm`
 * @param s the scenario
 * @returns what the backend did
 */
export async function runScenario(backend: "emu" | "kvm", s: Scenario): Promise<Trace> {
  using vm = createVm({ ...s.vm, backend });
  const rec = new Recorder(vm);
  if (s.drive) await s.drive(vm, rec);
  else await runDefault(vm, rec, s);
  rec.dirty("final", false);
  const ranges = [
    ...vm.memslots().map((m) => ({
      name: m.name,
      gpa: m.gpa,
      size: m.size,
    })),
    ...(s.hashRanges ?? []),
  ];
  for (const r of ranges) rec.trace.hashes[r.name] = await hashGuest(vm, r.gpa, r.size);
  for (const name of [...COMPARED_STATS, ...RECORDED_STATS]) {
    try {
      rec.trace.stats[name] = vm.stat(name);
    } catch {
      rec.trace.stats[name] = undefined;
    }
  }
  return rec.trace;
}
