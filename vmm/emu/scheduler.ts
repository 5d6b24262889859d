/**
 * The run loop of the emulated VM: vCPUs interleaved round-robin in vCPU
 * order with a fixed instruction quantum, so a script gives the same
 * result on every run; every exit decoded once into a {@linkcode VcpuExit}
 * (ucalls by the shared `vmm/ucall.ts`) and fed to the shared
 * {@linkcode RunControl}, whose time bound is checked between quanta; the
 * loop yields a macrotask every {@linkcode SLICE_MS} so timers keep firing.
 *
 * @module
 */
import { UCALL_PORT } from "../../guest/ucall.ts";
import { ERRNO_NUMBERS, ErrnoError, GuestError, VmmError } from "../errors.ts";
import { nothingToRun, RunControl, runnableVcpus } from "../run_control.ts";
import { ucallExit, type UcallReader } from "../ucall.ts";
import type { RunOptions, VcpuExit } from "../types.ts";
import type { CpuStop, EmuCpu } from "./port.ts";
import { type EmuStats, V } from "./stats.ts";

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
  /** The modelled userfaultfd handler: make the page at `gpa` present. */
  serveUffd(gpa: bigint): void;
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
  const stop: CpuStop = cpu.run(QUANTUM);
  switch (stop.kind) {
    case "quantum":
      return null;
    case "io": {
      vs[V.exits]++;
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
      vs[V.halt_exits]++;
      return { reason: "hlt", vcpu: v };
    case "mmio":
      vs[V.exits]++;
      vs[V.mmio_exits]++;
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
          return { reason: "mmio", vcpu: v, gpa: BigInt(e.gpa), len: 8, isWrite: false, data: 0n };
        default:
          // uffd_wait: the handler serves the queued page (UFFDIO_COPY); the
          // vCPU retries the access at its next turn.
          host.serveUffd(BigInt(e.gpa));
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

/** Yield to the event loop (a macrotask, so timers run). */
function macrotask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** `Vm.run` for the emulator. */
export async function runVcpus(host: RunHost, options: RunOptions): Promise<VcpuExit> {
  const ids = runnableVcpus(options, host.cpus.length, (i) => host.done[i]);
  if (ids.length === 0) return nothingToRun(options);
  const rc = new RunControl(options, ids);
  const active = [...ids];
  const start = performance.now();
  let lastYield = start;
  let turn = 0;
  for (;;) {
    const v = active[turn % active.length];
    const exit = step(host, v);
    turn++;
    if (exit !== null) {
      const action = rc.classify(exit);
      if (exit.reason === "done") host.done[v] = true;
      if (action === "stop") return exit;
      if (action === "park") active.splice(active.indexOf(v), 1);
      if (action === "handle" && options.onExit) {
        await options.onExit(exit);
        lastYield = performance.now();
      }
    }
    const now = performance.now();
    if (now - start >= rc.limitMs) {
      // Let due timers and signal handlers run before the run ends, even when a
      // loaded host let the whole limit pass within one slice.
      await macrotask();
      return rc.expired(active[0], host.cpus[active[0]].rip());
    }
    if (now - lastYield >= SLICE_MS) {
      await macrotask();
      if (host.closed()) throw new VmmError("the VM was closed while it was running");
      lastYield = performance.now();
    }
  }
}
