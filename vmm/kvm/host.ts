/**
 * What the host kernel does that has no uAPI: which KVM module and MMU it
 * uses, the kernel release, vmalloc use (to measure memslot metadata), and
 * hugepages (the hugetlb pools, transparent hugepages).
 *
 * @module
 */
import type { MmuMode } from "../types.ts";

function readText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path).trim();
  } catch {
    return undefined;
  }
}

function isYes(v: string | undefined): boolean {
  return v === "Y" || v === "y" || v === "1";
}

/** Whether the host's KVM is Intel's (kvm_intel loaded: it needs KVM_SET_TSS_ADDR). */
export function isIntelHost(): boolean {
  try {
    Deno.statSync("/sys/module/kvm_intel");
    return true;
  } catch {
    return false;
  }
}

/** How the host's KVM maps guest memory. */
export interface HostMmu {
  /** `tdp` (EPT/NPT) or `shadow` (no EPT/NPT, or kvm_pvm, which always shadows). */
  mode: MmuMode;
  /** Where the answer came from, for messages. */
  source: string;
  /** Whether the TDP MMU (not the legacy one) is in use; false under shadow paging. */
  tdpMmu: boolean;
}

const EAGER_PAGE_SPLIT = "/sys/module/kvm/parameters/eager_page_split";

/**
 * The kvm module's `eager_page_split` parameter (split huge pages when dirty
 * logging starts).
 *
 * @returns its value and path, or undefined when it cannot be read
 */
export function hostEagerPageSplit(): { on: boolean; source: string } | undefined {
  const v = readText(EAGER_PAGE_SPLIT);
  return v === undefined ? undefined : { on: isYes(v), source: `${EAGER_PAGE_SPLIT} = ${v}` };
}

let cachedMmu: HostMmu | undefined;

/**
 * Detect shadow paging vs TDP from the KVM modules' parameters.
 *
 * @returns the host's MMU
 */
export function hostMmu(): HostMmu {
  if (cachedMmu) return cachedMmu;
  const ept = readText("/sys/module/kvm_intel/parameters/ept");
  const npt = readText("/sys/module/kvm_amd/parameters/npt");
  const pvm = readText("/sys/module/kvm_pvm/parameters/pvm_native") !== undefined;
  const tdpMmu = isYes(readText("/sys/module/kvm/parameters/tdp_mmu"));
  if (isYes(ept)) cachedMmu = { mode: "tdp", source: "kvm_intel ept=Y", tdpMmu };
  else if (isYes(npt)) cachedMmu = { mode: "tdp", source: "kvm_amd npt=Y", tdpMmu };
  else if (pvm) cachedMmu = { mode: "shadow", source: "kvm_pvm (always shadow)", tdpMmu: false };
  else if (ept !== undefined) cachedMmu = { mode: "shadow", source: "kvm_intel ept=N", tdpMmu };
  else if (npt !== undefined) cachedMmu = { mode: "shadow", source: "kvm_amd npt=N", tdpMmu };
  else cachedMmu = { mode: "shadow", source: "no EPT/NPT parameter found", tdpMmu: false };
  return cachedMmu;
}

/**
 * The running kernel's release as [major, minor].
 *
 * @returns e.g. [6, 18]
 */
function kernelVersion(): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(readText("/proc/sys/kernel/osrelease") ?? "");
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

/** Whether the kernel is at least `major.minor`. */
export function kernelAtLeast(major: number, minor: number): boolean {
  const [a, b] = kernelVersion();
  return a > major || (a === major && b >= minor);
}

/**
 * VmallocUsed from /proc/meminfo, in bytes. KVM allocates memslot metadata
 * (rmap, lpage_info, write tracking, dirty bitmaps) with vmalloc, so the
 * difference around a memslot ioctl measures it (other vmalloc users on the
 * host add noise of a few pages).
 *
 * @returns bytes, or undefined when /proc/meminfo does not say
 */
export function vmallocUsedBytes(): bigint | undefined {
  const m = /^VmallocUsed:\s+(\d+) kB/m.exec(readText("/proc/meminfo") ?? "");
  return m ? BigInt(m[1]) * 1024n : undefined;
}

/** Whether transparent hugepages back anonymous memory without madvise. */
export function thpAlways(): boolean {
  return readText("/sys/kernel/mm/transparent_hugepage/enabled")?.includes("[always]") ?? false;
}

/**
 * Free hugepages of one size.
 *
 * @param size page size in bytes (2 MiB or 1 GiB)
 * @returns the count, or undefined when the host has no pool of that size
 */
export function freeHugepages(size: bigint): number | undefined {
  const t = readText(`/sys/kernel/mm/hugepages/hugepages-${size / 1024n}kB/free_hugepages`);
  return t === undefined ? undefined : Number(t);
}

/**
 * The host's KVM vendor module, as loaded.
 *
 * @returns `kvm_intel`, `kvm_amd`, `kvm_pvm`, or `none` when none is loaded
 */
export function kvmModule(): string {
  for (const name of ["kvm_pvm", "kvm_intel", "kvm_amd"]) {
    try {
      Deno.statSync(`/sys/module/${name}`);
      return name;
    } catch {
      // not loaded
    }
  }
  return "none";
}
