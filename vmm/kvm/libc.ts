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
  /** sigaction(signum, act, oldact): the kick signal's process-wide handler (`kick.ts`). */
  sigaction: { parameters: ["i32", "buffer", "pointer"], result: "i32" },
  /** dlsym(RTLD_DEFAULT, name): the address of a libc function to use as that handler. */
  dlsym: { parameters: ["pointer", "buffer"], result: "pointer" },
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

/** Whether an mmap result is MAP_FAILED ((void *)-1). */
export function isMapFailed(p: Deno.PointerValue): boolean {
  return p === null || Deno.UnsafePointer.value(p) === 0xffff_ffff_ffff_ffffn;
}

/**
 * The address of a typed array's first byte, to put in a struct that the
 * kernel reads (a `SharedArrayBuffer`'s storage never moves; an ordinary
 * one's must not be collected while the kernel may use the address).
 *
 * @param a the array
 * @returns its address
 */
export function addressOf(a: ArrayBufferView): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(a as Uint8Array<ArrayBuffer>)));
}

/** NUL-terminated C string for a `buffer` argument. */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(s.length * 3 + 1);
  const { written } = new TextEncoder().encodeInto(s, b);
  return b.subarray(0, written + 1) as Uint8Array<ArrayBuffer>;
}
