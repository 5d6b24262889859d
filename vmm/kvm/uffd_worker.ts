/**
 * The body of a userfaultfd handler (one Worker per handler of a `demand
 * uffd` slot; see `uffd.ts`). It opens its own libc, then loops until the
 * stop flag is set: poll(2) with a short timeout, a non-blocking read(2) of
 * as many `uffd_msg`s as are queued (another handler may have taken them:
 * EAGAIN), and one UFFDIO_COPY of a zero page (or the slot's source bytes)
 * per page fault, or in MINOR mode one UFFDIO_CONTINUE (the page is in the
 * page cache already; the handler only maps it). It never waits for the main thread, which may itself be
 * the vCPU waiting for the page.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { ERRNO_NUMBERS } from "../errors.ts";
import { addressOf, errno, libc } from "./libc.ts";
import {
  POLLFD_OFF,
  POLLIN,
  UFFD_EVENT_PAGEFAULT,
  UFFD_MSG_OFF,
  UFFD_SIZEOF,
  UFFDIO,
  UFFDIO_CONTINUE_OFF,
  UFFDIO_COPY_OFF,
} from "./uapi.ts";
import {
  CTL,
  getU64,
  HANDLER_OPS,
  setRange,
  setU64,
  UFFD_PAGE,
  type UffdWorkerInit,
} from "./uffd_protocol.ts";

/** Messages read per read(2). */
const BATCH = 64;
const OP_POLL = HANDLER_OPS.indexOf("poll");
const OP_READ = HANDLER_OPS.indexOf("read");
const OP_COPY = HANDLER_OPS.indexOf("UFFDIO_COPY");
const OP_WAKE = HANDLER_OPS.indexOf("UFFDIO_WAKE");
const OP_CONTINUE = HANDLER_OPS.indexOf("UFFDIO_CONTINUE");
const { EAGAIN, EEXIST, EINTR } = ERRNO_NUMBERS;

function serve(m: UffdWorkerInit): void {
  const c = libc();
  const ctl = new Int32Array(m.ctl);
  const fail = (op: number, e: number): void => {
    // Keep the first error; a later one is usually a consequence.
    if (Atomics.compareExchange(ctl, CTL.ERR_OP, 0, op) !== 0) return;
    Atomics.store(ctl, CTL.ERR_ERRNO, e);
    // A page nobody serves leaves its faulting thread in the kernel for
    // good (on kvm_pvm even a pending signal does not end a KVM_RUN whose
    // instruction emulation waits on the page). Unregistering wakes it, and
    // the range goes back to ordinary anonymous faults; the error is
    // reported by `stat uffd_faults`.
    const r = new Uint8Array(UFFD_SIZEOF.uffdio_range);
    setRange(new DataView(r.buffer), m.base, m.size);
    c.ioctl_fast(m.fd, UFFDIO.UFFDIO_UNREGISTER, r);
  };
  // Shared memory is never moved by the GC, so these addresses stay valid.
  const zero = new Uint8Array(new SharedArrayBuffer(UFFD_PAGE));
  const zeroAddr = Number(addressOf(zero));
  const source = m.source ? new Uint8Array(m.source) : null;
  const srcAddr = source ? Number(addressOf(source)) : 0;
  const srcLen = source?.length ?? 0;

  const pfd = new Uint8Array(UFFD_SIZEOF.pollfd);
  const pdv = new DataView(pfd.buffer);
  pdv.setInt32(POLLFD_OFF.fd, m.fd, true);
  pdv.setInt16(POLLFD_OFF.events, POLLIN, true);
  const msgs = new Uint8Array(UFFD_SIZEOF.uffd_msg * BATCH);
  const mdv = new DataView(msgs.buffer);
  const msgsLen = BigInt(msgs.length);
  const cp = new Uint8Array(UFFD_SIZEOF.uffdio_copy);
  const cdv = new DataView(cp.buffer);
  setU64(cdv, UFFDIO_COPY_OFF.len, UFFD_PAGE);
  const wk = new Uint8Array(UFFD_SIZEOF.uffdio_range);
  const wdv = new DataView(wk.buffer);
  const ct = new Uint8Array(UFFD_SIZEOF.uffdio_continue);
  const ctdv = new DataView(ct.buffer);
  setU64(ctdv, UFFDIO_CONTINUE_OFF.len, UFFD_PAGE);
  const COPY = UFFDIO.UFFDIO_COPY;
  const CONTINUE = UFFDIO.UFFDIO_CONTINUE;
  const WAKE = UFFDIO.UFFDIO_WAKE;
  const end = m.base + m.size;
  const count = CTL.COUNTS + m.index;

  // One page: UFFDIO_COPY of the source or zeros, or (MINOR) UFFDIO_CONTINUE.
  const [req, arg, op] = m.minor ? [CONTINUE, ct, OP_CONTINUE] : [COPY, cp, OP_COPY];
  const resolve = (addr: number): void => {
    if (m.minor) {
      setU64(ctdv, UFFDIO_CONTINUE_OFF.start, addr);
    } else {
      const off = addr - m.base;
      setU64(cdv, UFFDIO_COPY_OFF.dst, addr);
      setU64(cdv, UFFDIO_COPY_OFF.src, off < srcLen ? srcAddr + off : zeroAddr);
    }
    // Counted before the ioctl: it wakes the vCPU, which may finish the
    // guest and have its stats read before this thread runs again.
    Atomics.add(ctl, count, 1);
    for (let tries = 0;; tries++) {
      if (c.ioctl_fast(m.fd, req, arg) === 0) return;
      const e = errno();
      Atomics.sub(ctl, count, 1);
      if (e === EEXIST) {
        // Another handler (or populate) raced us: the page is there. Its
        // copy woke the waiters; wake again in case ours queued after.
        setRange(wdv, addr, UFFD_PAGE);
        if (c.ioctl_fast(m.fd, WAKE, wk) < 0) fail(OP_WAKE, errno());
        return;
      }
      if ((e === EAGAIN || e === EINTR) && tries < 1000) {
        Atomics.add(ctl, count, 1);
        continue;
      }
      return fail(op, e);
    }
  };

  Atomics.add(ctl, CTL.READY, 1);
  Atomics.notify(ctl, CTL.READY);
  try {
    while (Atomics.load(ctl, CTL.STOP) === 0) {
      const r = c.poll(pfd, 1n, m.pollMs);
      if (r === 0) continue;
      if (r < 0) {
        const e = errno();
        if (e === EINTR) continue;
        fail(OP_POLL, e);
        return;
      }
      // With spinMs > 0, keep reading without sleeping for that long after
      // the last message: faults come in bursts (a guest touching fresh
      // memory faults again a few µs after each copy). Default 0: see SPIN_US.
      let last = performance.now();
      // The fd is closed only after every handler has left this loop.
      while (Atomics.load(ctl, CTL.STOP) === 0) {
        const n = Number(c.read(m.fd, msgs, msgsLen));
        if (n < 0) {
          const e = errno();
          if (e !== EAGAIN && e !== EINTR) {
            fail(OP_READ, e);
            return;
          }
          // Nothing queued (or another handler took it).
          if (performance.now() - last >= m.spinMs) break;
          continue;
        }
        for (let o = 0; o + UFFD_SIZEOF.uffd_msg <= n; o += UFFD_SIZEOF.uffd_msg) {
          if (mdv.getUint8(o + UFFD_MSG_OFF.event) !== UFFD_EVENT_PAGEFAULT) continue;
          const a = getU64(mdv, o + UFFD_MSG_OFF.pf_address);
          const page = a - (a % UFFD_PAGE);
          if (page >= m.base && page < end) resolve(page);
        }
        if (m.spinMs <= 0) break;
        last = performance.now();
      }
    }
  } finally {
    Atomics.add(ctl, CTL.EXITED, 1);
    Atomics.notify(ctl, CTL.EXITED);
  }
}

self.onmessage = (ev: MessageEvent<UffdWorkerInit>) => {
  if (ev.data.type === "init") serve(ev.data);
};
