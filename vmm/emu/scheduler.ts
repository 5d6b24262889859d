/**
 * The run loop of the emulated VM: vCPUs interleaved in order of their
 * modelled clocks (the lowest clock runs next, lowest index on ties) with a
 * fixed instruction quantum, so a script gives the same result and the same
 * modelled times on every run and machine; every exit decoded once into a {@linkcode VcpuExit}
 * (ucalls by the shared `vmm/ucall.ts`) and fed to the shared
 * {@linkcode RunControl}, whose time bound is checked between quanta; the
 * loop yields a macrotask every {@linkcode SLICE_MS} so timers keep firing.
 * A vCPU that parks (`done`) or waits at the run's barrier
 * (`until sync "L"`) leaves the rotation until the next run.
 *
 * @module
 */
import { UCALL_PORT } from "../../guest/ucall.ts";
import { ERRNO_NUMBERS, ErrnoError, GuestError, VmmError } from "../errors.ts";
import { macrotask, nothingToRun, RunControl, runnableVcpus } from "../run_control.ts";
import { ucallExit, type UcallReader } from "../ucall.ts";
import type { RunOptions, VcpuExit } from "../types.ts";
import type { CpuStop, EmuCpu } from "./port.ts";
import { type EmuStats, V } from "./stats.ts";
import { COSTS } from "./time/costs.ts";
import type { TimeModel } from "./time/model.ts";

const EXIT_NS = COSTS.userspaceExitRoundTrip.ns;

/** Instructions a vCPU runs before the next one gets its turn. */
export const QUANTUM = 10_000;
/** Longest stretch of interpretation between two macrotask yields. */
export const SLICE_MS = 50;

/** What the loop needs from the VM (ucall slots and labels are read through it). */
export interface RunHost extends UcallReader {
  /** The vCPUs, by index. */
  readonly cpus: readonly EmuCpu[];
  /** Counters (exits, ucalls). */
  readonly stats: EmuStats;
  /** Per vCPU: reported `done` (excluded from later runs). */
  readonly done: boolean[];
  /** Modelled time: the clocks and shared resources. */
  readonly time: TimeModel;
  /** The modelled userfaultfd handler: make the page at `gpa` present for vCPU `v`. */
  serveUffd(v: number, gpa: bigint): void;
  /** Whether the VM was closed (from a handler or a timer): the run ends, as on kvm. */
  closed(): boolean;
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** Run one quantum of vCPU `v`; returns its exit, or null to keep going. */
export function step(host: RunHost, v: number): VcpuExit | null {
  const cpu = host.cpus[v];
  const vs = host.stats.vcpu[v];
  host.time.beginQuantum(v);
  const stop: CpuStop = cpu.run(QUANTUM);
  host.time.endQuantum(v);
  switch (stop.kind) {
    case "quantum":
      return null;
    case "io": {
      vs[V.exits]++;
      host.time.userspaceExit(v, EXIT_NS);
      vs[V.io_exits]++;
      if (stop.port === UCALL_PORT && stop.isWrite) vs[V.ucalls]++;
      if (!stop.isWrite) cpu.completeIn(0n);
      // The ucall slot is where r15 points (the boot image's convention).
      return ucallExit(
        {
          reason: "io",
          vcpu: v,
          port: stop.port,
          size: stop.size,
          isWrite: stop.isWrite,
          data: stop.isWrite ? stop.value : 0n,
        },
        cpu.gpr(15),
        host,
      );
    }
    case "hlt":
      vs[V.exits]++;
      host.time.userspaceExit(v, EXIT_NS);
      vs[V.halt_exits]++;
      return { reason: "hlt", vcpu: v };
    case "mmio":
      vs[V.exits]++;
      vs[V.mmio_exits]++;
      host.time.userspaceExit(v, EXIT_NS);
      if (!stop.isWrite) cpu.completeMmioRead(0n);
      return {
        reason: "mmio",
        vcpu: v,
        gpa: BigInt(stop.gpa),
        len: stop.len,
        isWrite: stop.isWrite,
        data: stop.isWrite ? stop.value : 0n,
      };
    case "mmu": {
      const e = stop.exit;
      switch (e.exit) {
        case "memory_fault":
          vs[V.exits]++;
          host.time.userspaceExit(v, COSTS.memoryFaultExitServed.ns);
          return {
            reason: "memory_fault",
            vcpu: v,
            gpa: BigInt(e.gpa),
            len: BigInt(e.size),
            flags: e.flags,
          };
        case "errno":
          throw new ErrnoError(
            "KVM_RUN",
            ERRNO_NUMBERS[e.errno],
            `vCPU ${v}: guest access to gpa 0x${e.gpa.toString(16)} failed (${e.errno})`,
          );
        case "guest_fault":
          vs[V.exits]++;
          return { reason: "shutdown", vcpu: v, rip: cpu.rip() };
        case "mmio":
          vs[V.exits]++;
          vs[V.mmio_exits]++;
          host.time.userspaceExit(v, EXIT_NS);
          return { reason: "mmio", vcpu: v, gpa: BigInt(e.gpa), len: 8, isWrite: false, data: 0n };
        default:
          // uffd_wait: the handler serves the queued page (UFFDIO_COPY); the
          // vCPU retries the access at its next turn.
          host.serveUffd(v, BigInt(e.gpa));
          return null;
      }
    }
    case "shutdown":
      vs[V.exits]++;
      return { reason: "shutdown", vcpu: v, rip: stop.rip };
    case "unsupported":
      throw new GuestError(
        v,
        stop.rip,
        `unsupported instruction (bytes ${hex(stop.bytes)}) outside the emulated subset`,
      );
  }
}

/** The active vCPU with the lowest modelled clock (the lowest index on ties). */
export function nextVcpu(time: TimeModel, active: readonly number[]): number {
  const clock = time.clock;
  let v = active[0];
  let best = clock.now(v);
  for (let i = 1; i < active.length; i++) {
    const t = clock.now(active[i]);
    if (t < best || (t === best && active[i] < v)) {
      best = t;
      v = active[i];
    }
  }
  return v;
}

/** `Vm.run` for the emulator. */
export async function runVcpus(host: RunHost, options: RunOptions): Promise<VcpuExit> {
  const ids = runnableVcpus(options, host.cpus.length, (i) => host.done[i]);
  if (ids.length === 0) return nothingToRun(options);
  host.time.startRun(ids);
  try {
    return await loop(host, options, ids);
  } finally {
    host.time.endRun(ids);
  }
}

async function loop(host: RunHost, options: RunOptions, ids: number[]): Promise<VcpuExit> {
  const rc = new RunControl(options, ids);
  const active = [...ids];
  const start = performance.now();
  let lastYield = start;
  for (;;) {
    const v = nextVcpu(host.time, active);
    const exit = step(host, v);
    if (exit !== null) {
      let action = rc.classify(exit);
      if (exit.reason === "done") host.done[v] = true;
      if (action === "handle") {
        if (options.onExit) {
          // A memory-fault exit is served on the vCPU's own thread; others by the VMM's.
          const own = exit.reason === "memory_fault";
          host.time.enterHandler(v, own);
          await options.onExit(exit);
          host.time.leaveHandler(v, own);
          lastYield = performance.now();
        }
        action = rc.afterHandler(exit);
      }
      if (action === "stop") return rc.result(exit);
      // A vCPU waiting at the barrier is not stepped again in this run.
      if (action === "park" || action === "wait") active.splice(active.indexOf(v), 1);
    }
    const now = performance.now();
    if (now - start >= rc.limitMs) {
      // Let due timers and signal handlers run before the run ends, even when a
      // loaded host let the whole limit pass within one slice.
      await macrotask();
      const late = rc.firstBusy();
      return rc.expired(late, host.cpus[late].rip());
    }
    if (now - lastYield >= SLICE_MS) {
      await macrotask();
      if (host.closed()) throw new VmmError("the VM was closed while it was running");
      lastYield = performance.now();
    }
  }
}
