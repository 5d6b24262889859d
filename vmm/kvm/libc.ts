/**
 * The libc functions the KVM backend calls, opened once per thread (each
 * vCPU worker imports this module afresh and so gets its own handle).
 *
 * `errno` is read through `__errno_location()` immediately after a failing
 * call, before any other FFI call on the same thread can overwrite it.
 *
 * @module
 */

/** The symbols we bind. `ioctl` is declared several times with different argument types. */
const SYMBOLS = {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  /** ioctl(fd, request, pointer): the general form for struct arguments. */
  ioctl: { parameters: ["i32", "u64", "pointer"], result: "i32" },
  /** ioctl(fd, request, buffer): struct arguments in a typed array. */
  ioctl_buf: { name: "ioctl", parameters: ["i32", "u64", "buffer"], result: "i32" },
  /** ioctl(fd, request, integer): CHECK_EXTENSION, CREATE_VCPU, SET_TSS_ADDR. */
  ioctl_int: { name: "ioctl", parameters: ["i32", "u64", "u64"], result: "i32" },
  /**
   * ioctl(fd, request, NULL) for KVM_RUN: all-number arguments so that V8's
   * fast-call path applies (KVM_RUN rejects a non-zero argument).
   */
  ioctl_run: { name: "ioctl", parameters: ["i32", "u32", "pointer"], result: "i32" },
  /**
   * ioctl(fd, request, buffer) with a 32-bit request (the kernel takes `unsigned
   * int cmd`): all fast-call types, for the userfaultfd handlers' per-fault UFFDIO_COPY.
   */
  ioctl_fast: { name: "ioctl", parameters: ["i32", "u32", "buffer"], result: "i32" },
  mmap: {
    parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"],
    result: "pointer",
  },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  memfd_create: { parameters: ["buffer", "u32"], result: "i32" },
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  pread: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  /** read(2): userfaultfd messages. */
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  /** poll(fds, nfds, timeout_ms): the userfaultfd handlers' wait (bounded, so they see a stop flag). */
  poll: { parameters: ["buffer", "usize", "i32"], result: "i32" },
  getpid: { parameters: [], result: "i32" },
  /** syscall(nr, a, b, c, d) for the calls glibc wraps awkwardly (gettid, tgkill, timer_*). */
  syscall: { parameters: ["i64", "i64", "i64", "i64", "i64"], result: "i64" },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The bound libc functions (see `SYMBOLS`). */
export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;
let errnoView: Deno.UnsafePointerView | undefined;

/**
 * Opens libc on first use and returns its bound symbols.
 *
 * @returns the symbols, valid for the life of the thread
 */
export function libc(): Libc {
  if (lib === undefined) lib = Deno.dlopen("libc.so.6", SYMBOLS);
  return lib.symbols;
}

/**
 * The calling thread's `errno`. Call it right after the failing libc call.
 *
 * @returns the errno value
 */
export function errno(): number {
  if (errnoView === undefined) {
    // errno's address is per thread but constant for the thread's life.
    errnoView = new Deno.UnsafePointerView(libc().__errno_location()!);
  }
  return errnoView.getInt32(0);
}

/** open(2) flags. */
export const O_RDWR = 2;
/** Close the fd on exec (so child processes never inherit KVM fds). */
export const O_CLOEXEC = 0o2000000;

/** mmap(2) protection and flags. */
export const PROT_READ = 1;
/** Writable mapping. */
export const PROT_WRITE = 2;
/** Shared mapping (memfd backing, the kvm_run page). */
export const MAP_SHARED = 0x01;
/** Private mapping (anonymous backing). */
export const MAP_PRIVATE = 0x02;
/** No file behind the mapping. */
export const MAP_ANONYMOUS = 0x20;
/** Do not reserve swap: a huge slot costs nothing until touched. */
export const MAP_NORESERVE = 0x4000;
/** Back the mapping with hugetlbfs pages. */
export const MAP_HUGETLB = 0x40000;
/** log2(page size) in MAP_HUGETLB's size field. */
export const MAP_HUGE_SHIFT = 26;
/** madvise(2): populate (prefault) page tables writable (Linux 5.14). */
export const MADV_POPULATE_WRITE = 23;
/** memfd_create(2): close on exec. */
export const MFD_CLOEXEC = 1;
/** memfd_create(2): hugetlbfs-backed memfd. */
export const MFD_HUGETLB = 4;

/** x86-64 syscall numbers used through `syscall()`. */
export const SYS_GETTID = 186;
/** tgkill(tgid, tid, sig). */
export const SYS_TGKILL = 234;
/** timer_create(clockid, sigevent*, timer_t*). */
export const SYS_TIMER_CREATE = 222;
/** timer_settime(timer, flags, new*, old*). */
export const SYS_TIMER_SETTIME = 223;
/** timer_delete(timer). */
export const SYS_TIMER_DELETE = 226;

/** Whether an mmap result is MAP_FAILED ((void *)-1). */
export function isMapFailed(p: Deno.PointerValue): boolean {
  return p === null || Deno.UnsafePointer.value(p) === 0xffff_ffff_ffff_ffffn;
}

/** NUL-terminated C string for a `buffer` argument. */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(s.length * 3 + 1);
  const { written } = new TextEncoder().encodeInto(s, b);
  return b.subarray(0, written + 1) as Uint8Array<ArrayBuffer>;
}
