/**
 * Reading counters by name for {@linkcode EmuVm.stat}: every stat whose row
 * in the registry (`vmm/stats.ts`) says the emulator provides it.
 *
 * `exits` counts every modelled VM exit: exits to userspace (I/O, MMIO,
 * HLT, memory faults, shutdown) plus EPT violations (`pf_taken`), as KVM's
 * `exits` counts every VM-exit. `write_track_bytes` and
 * `memslot_metadata_bytes` cover user memslots (the system region is the
 * VMM's own slot, created with the VM, like a kvm backend measuring around
 * user memslot ioctls). `aliasing_hazards` counts host-side reads
 * (`readSlot`, `readGuest`) of pages whose effective guest memory type is
 * not WB, which the host reads through its WB mapping.
 *
 * @module
 */
import { UnsupportedError } from "../errors.ts";
import { statsProvidedBy, statUnsupported } from "../stats.ts";
import { M, V } from "./stats.ts";
import { T_STATS } from "./time/clock.ts";
import type { EmuVm } from "./vm.ts";

const NAMES: readonly string[] = Object.freeze(statsProvidedBy("emu"));

/** Every stat name the emulator provides. */
export function statNames(): readonly string[] {
  return NAMES;
}

function perVcpu(vm: EmuVm, vcpu: number | undefined, f: (i: number) => number): number {
  if (vcpu !== undefined) {
    if (!Number.isInteger(vcpu) || vcpu < 0 || vcpu >= vm.vcpuCount) {
      throw new RangeError(`Cannot read a stat of vCPU ${vcpu}: the VM has ${vm.vcpuCount}`);
    }
    return f(vcpu);
  }
  let s = 0;
  for (let i = 0; i < vm.vcpuCount; i++) s += f(i);
  return s;
}

/** The value of stat `name` (summed over vCPUs unless `vcpu` is given). */
export function readStat(vm: EmuVm, name: string, vcpu?: number): bigint {
  const st = vm.stats;
  let n: number;
  if (name === "exits") {
    n = perVcpu(vm, vcpu, (i) => st.vcpu[i][V.exits] + st.vcpu[i][V.pf_taken]);
  } else if (name === "tlb_flush") {
    n = perVcpu(vm, vcpu, (i) => vm.cpus[i]?.tlbFlushes ?? 0);
  } else if (name === "instructions") {
    n = perVcpu(vm, vcpu, (i) => vm.cpus[i]?.instructions ?? 0);
  } else if (Object.hasOwn(V, name)) {
    const idx = V[name as keyof typeof V];
    n = perVcpu(vm, vcpu, (i) => st.vcpu[i][idx]);
  } else if (Object.hasOwn(M, name)) {
    n = st.vm[M[name as keyof typeof M]];
  } else if (T_STATS.includes(name)) {
    const part = T_STATS.indexOf(name);
    n = perVcpu(vm, vcpu, (i) => vm.memory.time.clock.read(part, i));
    return BigInt(Math.round(n));
  } else if (name === "write_track_bytes" || name === "memslot_metadata_bytes") {
    n = 0;
    for (const s of vm.memory.slots.slots) {
      if (s.id === 0) continue;
      n += name === "write_track_bytes" ? s.writeTrackBytes() : s.metadataBytes();
    }
  } else {
    throw new UnsupportedError(statUnsupported(name, "emu"));
  }
  return BigInt(n);
}
