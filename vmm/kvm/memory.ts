/**
 * Host mappings behind memslots: anonymous, memfd, hugetlb, and "absent"
 * (an anonymous mapping nothing has touched yet).
 *
 * @module
 */
import { ErrnoError, UnsupportedError } from "../errors.ts";
import type { Backing } from "../types.ts";
import { SIZE_1G, SIZE_2M, SIZE_4K } from "../memory/layout.ts";
import { closeFd } from "./ioctl.ts";
import { freeHugepages, thpAlways } from "./host.ts";
import { cString, errno, isMapFailed, libc } from "./libc.ts";
import {
  MADV_POPULATE_WRITE,
  MAP_ANONYMOUS,
  MAP_HUGE_SHIFT,
  MAP_HUGETLB,
  MAP_NORESERVE,
  MAP_PRIVATE,
  MAP_SHARED,
  MFD_CLOEXEC,
  PROT_READ,
  PROT_WRITE,
} from "./uapi.ts";

/** A host mapping that backs one memslot. */
export interface HostMapping {
  /** The mapping's start. */
  ptr: Deno.PointerObject;
  /** Host virtual address (for KVM_SET_USER_MEMORY_REGION). */
  hva: bigint;
  /** Bytes mapped (0 once unmapped). */
  size: bigint;
  /** The kind of memory. */
  backing: Backing;
  /** Largest host page size of the backing. */
  hugepage: bigint;
  /** The memfd (memfd backing), else -1. */
  memfd: number;
}

/**
 * Map `size` bytes of host memory.
 *
 * - `anon` and `absent`: MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE: a 512 GiB slot
 *   costs nothing until touched. On kvm, `absent` is the same mapping: the
 *   first guest touch faults the page in (only `demand uffd` makes it a
 *   userspace-visible event).
 * - `memfd`: memfd_create + ftruncate + MAP_SHARED (sparse file, NORESERVE).
 * - `hugetlb`: MAP_HUGETLB of `hugepage` (2M default); needs free pages in the
 *   host's pool, checked first so a guest never hits SIGBUS.
 *
 * @param name the slot's name (names the memfd)
 * @param size bytes, page aligned
 * @param backing the kind of mapping
 * @param hugepage hugetlb page size (2 MiB or 1 GiB)
 * @returns the mapping
 */
export function mapBacking(
  name: string,
  size: bigint,
  backing: Backing,
  hugepage?: bigint,
): HostMapping {
  const c = libc();
  const rw = PROT_READ | PROT_WRITE;
  let memfd = -1;
  let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
  let page = SIZE_4K;
  if (backing === "memfd") {
    memfd = c.memfd_create(cString(`kvm-slot-${name}`), MFD_CLOEXEC);
    if (memfd < 0) throw new ErrnoError("memfd_create", errno(), `slot ${name}`);
    if (c.ftruncate(memfd, size) < 0) {
      const e = errno();
      closeFd(memfd);
      throw new ErrnoError("ftruncate", e, `cannot size the memfd of slot ${name}`);
    }
    flags = MAP_SHARED | MAP_NORESERVE;
  } else if (backing === "hugetlb") {
    page = hugepage ?? SIZE_2M;
    if (page !== SIZE_2M && page !== SIZE_1G) {
      throw new UnsupportedError(`hugetlb backing of slot "${name}" needs hugepage 2M or 1G`);
    }
    if (size % page !== 0n) {
      throw new UnsupportedError(
        `slot "${name}" size 0x${size.toString(16)} is not a multiple of its hugepage size`,
      );
    }
    const free = freeHugepages(page);
    const need = size / page;
    if (free === undefined || BigInt(free) < need) {
      const kb = page / 1024n;
      throw new UnsupportedError(
        `slot "${name}": this host has ${free ?? 0} free ${kb} kB hugepages, ${need} needed ` +
          `(reserve them with: echo ${need} > /sys/kernel/mm/hugepages/hugepages-${kb}kB/nr_hugepages)`,
      );
    }
    // No MAP_NORESERVE: the pool is reserved at mmap time, never a SIGBUS later.
    const log2 = page === SIZE_1G ? 30 : 21;
    flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (log2 << MAP_HUGE_SHIFT);
  } else if (backing === "anon" && thpAlways()) {
    page = SIZE_2M; // transparent hugepages may back it
  }
  const p = c.mmap(null, size, rw, flags, memfd, 0n);
  if (isMapFailed(p)) {
    const e = errno();
    closeFd(memfd);
    throw new ErrnoError("mmap", e, `cannot map ${size} bytes (${backing}) for slot ${name}`);
  }
  return {
    ptr: p!,
    hva: BigInt(Deno.UnsafePointer.value(p)),
    size,
    backing,
    hugepage: page,
    memfd,
  };
}

/**
 * Unmap a slot's mapping and close its memfd. Idempotent per mapping.
 *
 * @param m the mapping
 */
export function unmapBacking(m: HostMapping): void {
  if (m.size === 0n) return;
  libc().munmap(m.ptr, m.size);
  closeFd(m.memfd);
  m.size = 0n;
  m.memfd = -1;
}

/**
 * Make part of a mapping present and writable (MADV_POPULATE_WRITE).
 *
 * @param m the mapping
 * @param offset byte offset, page aligned
 * @param size byte count
 */
export function populateBacking(m: HostMapping, offset: bigint, size: bigint): void {
  const p = Deno.UnsafePointer.offset(m.ptr, Number(offset));
  if (libc().madvise(p, size, MADV_POPULATE_WRITE) < 0) {
    throw new ErrnoError("madvise(MADV_POPULATE_WRITE)", errno(), "cannot populate the range");
  }
}
