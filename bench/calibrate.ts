/**
 * Calibration on real KVM: measures here what the host lets a VMM measure and
 * prints each figure beside the cost constant it informs
 * (`vmm/emu/time/costs.ts`), as a table and as JSON.
 *
 * What is measured (medians of `--rounds` repetitions, fresh VMs per round
 * where memory must start untouched):
 *
 * - guest instruction: slope of a `dec; jnz` loop guest's run time over two
 *   iteration counts (kvm_pvm emulates every guest instruction; the vCPU stat
 *   `insn_emulation` shows how many were emulated);
 * - KVM_RUN exit round trip: a bare `out; jmp` guest driven by a minimal
 *   KVM_RUN loop, raw and minus the emulated instructions per exit;
 * - first touch, host page present vs absent: a page-writer guest over a slot
 *   populated beforehand vs one never touched (kvm_pvm never counts
 *   `pf_taken`, so the fault cost is the time per page minus the guest's
 *   instructions per page times the instruction cost);
 * - userfaultfd round trip: the same guest over a `demand uffd` slot with one
 *   handler, minus the present-page time; UFFDIO_COPY per 4 KiB page, one
 *   ioctl per page and in 1 MiB chunks;
 * - MADV_POPULATE_WRITE per page;
 * - memslot create / move / delete (KVM_SET_USER_MEMORY_REGION) at 2 MiB and
 *   1 GiB, on a VM fd with no vCPU;
 * - KVM_GET_DIRTY_LOG and KVM_CLEAR_DIRTY_LOG per call at three sizes over a
 *   clean slot (manual protection on: GET copies the bitmap, CLEAR scans the
 *   words), and CLEAR of pages a guest dirtied (write-protects each).
 *
 * This host is nested with shadow paging (kvm_pvm): host-kernel operations
 * (madvise, UFFDIO_COPY, memslot and dirty-log ioctls) run as L1 kernel code
 * and transfer to a bare-metal host roughly; anything that involves guest
 * execution is dominated by instruction emulation, and its net figure is only
 * what remains after subtracting it. `docs/calibration.md` discusses each row.
 * No figure here is asserted anywhere: benchmarks report, tests never time.
 *
 * Usage: `deno run -A bench/calibrate.ts [--rounds R] [--pages N] [--json out.json]`
 *
 * @module
 */
// deno-lint-ignore-file no-console -- a benchmark reports on the console
import { KvmSystem, KvmVm, probeKvm, type VmFd } from "../vmm/kvm/mod.ts";
import { probeUserfaultfd } from "../vmm/kvm/uffd.ts";
import { mapBacking, unmapBacking } from "../vmm/kvm/memory.ts";
import { libc } from "../vmm/kvm/libc.ts";
import { CAP, EXIT, MANUAL_PROTECT_ENABLE, MEM, SYS_GETTID } from "../vmm/kvm/uapi.ts";
import { type CostName, COSTS } from "../vmm/emu/time/mod.ts";
import {
  countLoopGuest,
  flatLongModeImage,
  pageWriterGuest,
  pioLoopGuest,
} from "../tests/support/kvm_guests.ts";
import { argValue, fmt, median, table } from "./_table.ts";

const GIB = 1n << 30n;
const MIB = 1n << 20n;
const PAGE = 4096n;
/** A port nothing listens on. */
const PIO_PORT = 0x2000;

/** One measured figure, in µs per `per`. */
interface Row {
  key: string;
  what: string;
  per: string;
  /** Median, µs per operation. */
  us: number;
  /** After subtracting emulated guest instructions (or the reference row), µs. */
  netUs?: number;
  /** The constants this figure informs. */
  informs: CostName[];
  /** Every round's value, µs. */
  rounds: number[];
}

const rows: Row[] = [];

function record(r: Omit<Row, "us"> & { us?: number }): Row {
  const row = { ...r, us: r.us ?? median(r.rounds) };
  rows.push(row);
  return row;
}

/** Milliseconds taken by `f`. */
function timed(f: () => void): number {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
}

/** Runs a loaded guest to its `done` ucall; ms and instructions emulated. */
async function runToDone(vm: KvmVm): Promise<{ ms: number; insns: number }> {
  const i0 = vm.stat("insn_emulation");
  const t0 = performance.now();
  const exit = await vm.run({ watchdogMs: 300_000 });
  const ms = performance.now() - t0;
  if (exit.reason !== "done") throw new Error(`calibrate: unexpected exit ${exit.reason}`);
  return { ms, insns: Number(vm.stat("insn_emulation") - i0) };
}

/** µs per guest instruction (slope over two loop lengths) and the emulated share. */
async function instructions(rounds: number): Promise<{ us: number; emulated: number }> {
  const short = 2_000;
  const long = 22_000;
  using vm = new KvmVm({ name: "calib-insn" });
  const slopes: number[] = [];
  const shares: number[] = [];
  const run = async (n: number) => {
    vm.loadImage(flatLongModeImage({ code: countLoopGuest(n) }));
    return await runToDone(vm);
  };
  await run(short); // warm-up
  for (let r = 0; r < rounds; r++) {
    const a = await run(short);
    const b = await run(long);
    const executed = 2 * (long - short);
    slopes.push(((b.ms - a.ms) * 1000) / executed);
    shares.push((b.insns - a.insns) / executed);
  }
  const row = record({
    key: "guest_instruction",
    what: "guest instruction (dec; jnz loop slope)",
    per: "instruction",
    informs: ["guestInsnKvmPvm"],
    rounds: slopes,
  });
  return { us: row.us, emulated: median(shares) };
}

/** µs per PIO exit of a bare KVM_RUN loop, and emulated instructions per exit. */
function exits(rounds: number, insnUs: number): void {
  const n = 5_000;
  using vm = new KvmVm({ name: "calib-exit" });
  vm.loadImage(flatLongModeImage({ code: pioLoopGuest(PIO_PORT) }));
  const fd = vm.vcpuFd(0);
  fd.run(); // the first entry faults the code page in
  if (fd.exitReason !== EXIT.IO) {
    throw new Error(`calibrate: expected an IO exit, got ${fd.exitReason}`);
  }
  const per: number[] = [];
  const insns: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const i0 = vm.stat("insn_emulation");
    per.push(
      (timed(() => {
        for (let i = 0; i < n; i++) fd.run();
      }) * 1000) / n,
    );
    insns.push(Number(vm.stat("insn_emulation") - i0) / n);
  }
  const us = median(per);
  const insnPerExit = median(insns);
  record({
    key: "kvm_run_exit",
    what: `KVM_RUN PIO exit round trip (${insnPerExit.toFixed(1)} insn emulated/exit)`,
    per: "exit",
    us,
    netUs: us - insnPerExit * insnUs,
    informs: ["userspaceExitRoundTrip", "memoryFaultExitServed"],
    rounds: per,
  });
}

/** This host's floor under every host-kernel call: a bare syscall and a trivial KVM ioctl. */
function syscalls(rounds: number): void {
  const n = 20_000;
  using sys = KvmSystem.open();
  const vm: VmFd = sys.createVm();
  const c = libc();
  const bare: number[] = [];
  const ioctl: number[] = [];
  try {
    for (let r = 0; r <= rounds; r++) {
      const a = timed(() => {
        for (let i = 0; i < n; i++) c.syscall(BigInt(SYS_GETTID), 0n, 0n, 0n, 0n);
      });
      const b = timed(() => {
        for (let i = 0; i < n; i++) vm.checkExtension(CAP.MANUAL_DIRTY_LOG_PROTECT2);
        vm.log.length = 0;
      });
      if (r === 0) continue; // warm-up (JIT)
      bare.push((a * 1000) / n);
      ioctl.push((b * 1000) / n);
    }
  } finally {
    vm.close();
  }
  record({ key: "syscall", what: "gettid(2) through FFI", per: "call", informs: [], rounds: bare });
  record({
    key: "kvm_ioctl_floor",
    what: "KVM_CHECK_EXTENSION on the VM fd (ioctl floor)",
    per: "call",
    informs: [],
    rounds: ioctl,
  });
}

/** One fresh VM touching `pages` pages of a slot at 1 GiB once. */
async function touch(
  pages: number,
  mode: "present" | "absent" | "uffd",
): Promise<{ us: number; insns: number; populateUs: number }> {
  using vm = new KvmVm({ name: `calib-touch-${mode}` });
  vm.addMemslot({ name: "ram", gpa: GIB, size: BigInt(pages) * PAGE, backing: "absent" });
  let populateUs = NaN;
  if (mode === "present") populateUs = (timed(() => vm.populate("ram")) * 1000) / pages;
  if (mode === "uffd") vm.demandUffd("ram", 1);
  vm.loadImage(flatLongModeImage({ code: pageWriterGuest(GIB, pages) }));
  const { ms, insns } = await runToDone(vm);
  if (mode === "uffd" && vm.stat("uffd_faults") !== BigInt(pages)) {
    throw new Error(`calibrate: expected ${pages} uffd faults, got ${vm.stat("uffd_faults")}`);
  }
  return { us: (ms * 1000) / pages, insns: insns / pages, populateUs };
}

/** First touch with the host page present / absent / served by userfaultfd. */
async function firstTouch(rounds: number, pages: number, insnUs: number): Promise<void> {
  for (const m of ["present", "absent", "uffd"] as const) await touch(256, m); // warm-up
  const t: Record<string, number[]> = { present: [], absent: [], uffd: [], insns: [], pop: [] };
  for (let r = 0; r < rounds; r++) {
    for (const m of ["present", "absent", "uffd"] as const) {
      const x = await touch(pages, m);
      t[m].push(x.us);
      if (m === "present") {
        t.insns.push(x.insns);
        t.pop.push(x.populateUs);
      }
    }
  }
  const insnPerPage = median(t.insns);
  const guest = insnPerPage * insnUs;
  const present = median(t.present);
  record({
    key: "touch_present",
    what: `first touch, host page present (${insnPerPage.toFixed(1)} insn/page)`,
    per: "page",
    us: present,
    netUs: present - guest,
    informs: ["eptViolationFixed", "spteInstall"],
    rounds: t.present,
  });
  const absent = median(t.absent);
  record({
    key: "touch_absent",
    what: "first touch, host page absent (net: minus present)",
    per: "page",
    us: absent,
    netUs: absent - present,
    informs: ["hostPopulate4k"],
    rounds: t.absent,
  });
  const uffd = median(t.uffd);
  record({
    key: "uffd_round_trip",
    what: "first touch via demand uffd, 1 handler (net: minus present)",
    per: "page",
    us: uffd,
    netUs: uffd - present,
    informs: ["uffdFaultToHandlerWake", "uffdioCopy4k", "uffdVcpuWake"],
    rounds: t.uffd,
  });
  record({
    key: "madv_populate_write",
    what: "MADV_POPULATE_WRITE, whole slot in one call",
    per: "page",
    informs: ["hostPopulate4k"],
    rounds: t.pop,
  });
}

/** UFFDIO_COPY per 4 KiB page: one ioctl per page, and 1 MiB chunks. */
function uffdCopy(rounds: number, pages: number): void {
  const single: number[] = [];
  const chunked: number[] = [];
  for (let r = 0; r <= rounds; r++) {
    using vm = new KvmVm({ name: "calib-uffdio-copy" });
    const size = BigInt(pages) * PAGE;
    vm.addMemslot({ name: "a", gpa: GIB, size, backing: "absent" });
    vm.addMemslot({ name: "b", gpa: 2n * GIB, size, backing: "absent" });
    vm.demandUffd("a", 1);
    vm.demandUffd("b", 1);
    const one = timed(() => {
      for (let p = 0n; p < size; p += PAGE) vm.populate("a", p, PAGE);
    });
    const bulk = timed(() => vm.populate("b"));
    if (r === 0) continue; // warm-up
    single.push((one * 1000) / pages);
    chunked.push((bulk * 1000) / pages);
  }
  record({
    key: "uffdio_copy_single",
    what: "UFFDIO_COPY, one 4 KiB page per ioctl",
    per: "page",
    informs: ["uffdioCopy4k"],
    rounds: single,
  });
  record({
    key: "uffdio_copy_chunked",
    what: "UFFDIO_COPY in 1 MiB chunks",
    per: "page",
    informs: ["uffdioCopy4k"],
    rounds: chunked,
  });
}

/** KVM_SET_USER_MEMORY_REGION create / move / delete on a VM with no vCPU. */
function memslots(rounds: number): void {
  using sys = KvmSystem.open();
  const vm: VmFd = sys.createVm();
  try {
    for (const size of [2n * MIB, GIB]) {
      const m = mapBacking("calib", size, "anon");
      const region = (gpa: bigint, bytes: bigint) => ({
        slot: 1,
        flags: 0,
        guestPhysAddr: gpa,
        memorySize: bytes,
        userspaceAddr: m.hva,
      });
      const t = { create: [] as number[], move: [] as number[], delete: [] as number[] };
      try {
        for (let r = 0; r <= rounds; r++) {
          const c = timed(() => vm.setUserMemoryRegion(region(GIB, size)));
          const mv = timed(() => vm.setUserMemoryRegion(region(8n * GIB, size)));
          const d = timed(() => vm.setUserMemoryRegion(region(8n * GIB, 0n)));
          if (r === 0) continue; // warm-up
          t.create.push(c * 1000);
          t.move.push(mv * 1000);
          t.delete.push(d * 1000);
        }
      } finally {
        unmapBacking(m);
      }
      const label = size === GIB ? "1 GiB" : "2 MiB";
      const names = {
        create: "memslotCreate",
        move: "memslotMove",
        delete: "memslotDelete",
      } as const;
      for (const op of ["create", "move", "delete"] as const) {
        record({
          key: `memslot_${op}_${label.replace(" ", "")}`,
          what: `memslot ${op}, ${label} slot`,
          per: "ioctl",
          informs: [names[op]],
          rounds: t[op],
        });
      }
    }
  } finally {
    vm.close();
  }
}

/** GET and CLEAR per call over clean slots (manual protection on). */
function dirtyLogClean(rounds: number): void {
  using sys = KvmSystem.open();
  const vm: VmFd = sys.createVm();
  const perCall: { words: number; get: number; clear: number }[] = [];
  try {
    vm.enableCap(CAP.MANUAL_DIRTY_LOG_PROTECT2, BigInt(MANUAL_PROTECT_ENABLE));
    for (const size of [16n * MIB, 256n * MIB, 4n * GIB]) {
      const pages = Number(size / PAGE);
      const m = mapBacking("calib-dirty", size, "anon");
      const bitmap = new Uint8Array(pages / 8);
      const get: number[] = [];
      const clear: number[] = [];
      try {
        vm.setUserMemoryRegion({
          slot: 1,
          flags: MEM.LOG_DIRTY_PAGES,
          guestPhysAddr: GIB,
          memorySize: size,
          userspaceAddr: m.hva,
        });
        for (let r = 0; r <= rounds; r++) {
          const g = timed(() => vm.getDirtyLog(1, bitmap));
          bitmap.fill(0xff);
          const c = timed(() => vm.clearDirtyLog(1, 0n, pages, bitmap));
          if (r === 0) continue;
          get.push(g * 1000);
          clear.push(c * 1000);
        }
        vm.setUserMemoryRegion({
          slot: 1,
          flags: 0,
          guestPhysAddr: GIB,
          memorySize: 0n,
          userspaceAddr: m.hva,
        });
      } finally {
        unmapBacking(m);
      }
      const words = pages / 64;
      perCall.push({ words, get: median(get), clear: median(clear) });
      const label = `${size >= GIB ? `${size / GIB} GiB` : `${size / MIB} MiB`}`;
      record({
        key: `dirty_get_${label.replace(" ", "")}`,
        what: `KVM_GET_DIRTY_LOG, clean ${label} slot (${words} words)`,
        per: "call",
        informs: ["dirtyLogGetPerWord"],
        rounds: get,
      });
      record({
        key: `dirty_clear_clean_${label.replace(" ", "")}`,
        what: `KVM_CLEAR_DIRTY_LOG all-ones mask, clean ${label} slot`,
        per: "call",
        informs: ["dirtyLogClearPerWord"],
        rounds: clear,
      });
    }
  } finally {
    vm.close();
  }
  // Per word: the slope between the two largest sizes (the per-call floor cancels).
  const [, mid, big] = perCall;
  const slope = (k: "get" | "clear") => (big[k] - mid[k]) / (big.words - mid.words);
  for (const k of ["get", "clear"] as const) {
    record({
      key: `dirty_${k}_per_word`,
      what: `${
        k === "get" ? "GET" : "CLEAR (clean)"
      } per word, slope ${mid.words} -> ${big.words} words`,
      per: "word",
      us: slope(k),
      informs: [k === "get" ? "dirtyLogGetPerWord" : "dirtyLogClearPerWord"],
      rounds: [],
    });
  }
}

/** CLEAR of pages a guest dirtied: KvmVm.getDirtyLog with clear minus without. */
async function dirtyLogDirty(rounds: number, pages: number, insnUs: number): Promise<void> {
  using vm = new KvmVm({ name: "calib-dirty" });
  vm.enableCap("manual_dirty_log_protect", "on");
  vm.addMemslot({ name: "ram", gpa: GIB, size: BigInt(pages) * PAGE, flags: ["dirty_log"] });
  vm.populate("ram");
  const image = flatLongModeImage({ code: pageWriterGuest(GIB, pages) });
  const clearUs: number[] = [];
  const faultUs: number[] = [];
  let insnPerPage = 0;
  for (let r = 0; r <= rounds + 1; r++) {
    vm.loadImage(image);
    const run = await runToDone(vm);
    vm.getDirtyLog("ram", false); // untimed: the first GET after a run pays for cold caches
    const get = timed(() => vm.getDirtyLog("ram", false));
    const before = vm.stat("dirty_pages");
    const both = timed(() => vm.getDirtyLog("ram", true));
    const dirty = Number(vm.stat("dirty_pages") - before);
    if (dirty < pages) throw new Error(`calibrate: ${dirty} of ${pages} pages logged dirty`);
    if (r < 2) continue; // round 0 maps the pages, round 1 takes the first write-protect faults
    clearUs.push(((both - get) * 1000) / pages);
    faultUs.push((run.ms * 1000) / pages);
    insnPerPage = run.insns / pages;
  }
  record({
    key: "dirty_clear_dirty",
    what: `KVM_CLEAR_DIRTY_LOG of ${pages} dirtied pages (with-clear minus GET only)`,
    per: "page",
    informs: ["writeProtectSpte"],
    rounds: clearUs,
  });
  const wp = median(faultUs);
  record({
    key: "write_protect_fault",
    what: "guest write to a write-protected page (dirty logging)",
    per: "page",
    us: wp,
    netUs: wp - insnPerPage * insnUs,
    informs: ["eptViolationFixed"],
    rounds: faultUs,
  });
}

/** µs with 3 significant digits below 10 (per-word figures are a few ns). */
function us3(x: number): string {
  return Math.abs(x) < 10 && x !== 0 ? x.toPrecision(3) : fmt(x);
}

function constantUs(name: CostName): string {
  const c = COSTS[name];
  return `${us3(c.ns / 1000)} ${c.source.kind === "flag" ? "FLAG" : c.source.kind}`;
}

async function main(): Promise<void> {
  const kvm = probeKvm();
  if (!kvm.ok) {
    console.error(`bench/calibrate.ts: KVM unavailable: ${kvm.reason}`);
    Deno.exit(3);
  }
  const uffd = probeUserfaultfd();
  if (!uffd.ok) {
    console.error(`bench/calibrate.ts: userfaultfd unavailable: ${uffd.reason}`);
    Deno.exit(3);
  }
  const rounds = Number(argValue("--rounds") ?? 5);
  const pages = Number(argValue("--pages") ?? 8192);
  const json = argValue("--json");

  syscalls(rounds);
  const insn = await instructions(rounds);
  exits(rounds, insn.us);
  await firstTouch(rounds, pages, insn.us);
  uffdCopy(rounds, pages);
  memslots(rounds);
  dirtyLogClean(rounds);
  await dirtyLogDirty(rounds, pages, insn.us);

  console.log(
    `calibration on real KVM, medians of ${rounds} rounds; ${pages} pages per touch run; ` +
      `${(insn.emulated * 100).toFixed(0)}% of guest instructions emulated`,
  );
  const out = rows.map((r) => [
    r.what,
    r.per,
    us3(r.us),
    r.netUs === undefined ? "" : us3(r.netUs),
    r.informs.length
      ? r.informs.map((n) => `${n} = ${constantUs(n)}`).join("; ")
      : "(floor under per-call rows)",
  ]);
  for (
    const l of table(["measured here", "per", "µs", "net µs", "informs (constant µs, source)"], out)
  ) {
    console.log(l);
  }
  if (json) {
    Deno.writeTextFileSync(
      json,
      JSON.stringify(
        {
          bench: "calibrate",
          rounds,
          pages,
          emulatedShare: insn.emulated,
          rows,
          constantsNs: Object.fromEntries(Object.entries(COSTS).map(([k, c]) => [k, c.ns])),
        },
        null,
        2,
      ) + "\n",
    );
  }
}

if (import.meta.main) await main();
