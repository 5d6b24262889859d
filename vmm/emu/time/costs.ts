/**
 * The cost table of the emulator's modelled time (`emulator.md`, "Version
 * 2"): one constant per modelled kernel operation, in nanoseconds, each with
 * its source as data. A source is a measurement (command, host, date), a
 * published figure (the citation in `shared/reference/figures.md` and the
 * arithmetic that turns it into a per-operation cost), or a FLAG where neither
 * exists, with the reasoning for the value.
 *
 * The model stands for a bare-metal host with a TDP MMU, which is what the
 * proposals measured. This project's host is nested kvm_pvm with shadow
 * paging and emulates every guest instruction, so its measurements
 * (`bench/calibrate.ts`, `docs/calibration.md`) are listed beside a constant
 * (`informedBy`) and are its source only for host-kernel operations that run
 * the same code there (madvise, UFFDIO_COPY, the dirty-log ioctls).
 *
 * No constant is fitted to a proposal's headline figure: those are what the
 * model is checked against. Contention (mmu_lock, a userfaultfd's wait queue,
 * handler threads, host CPUs) is not in these constants: the model derives it
 * from resources in modelled time (`model.ts`).
 *
 * @module
 */
import { type CostConstant, flagged, measuredHere } from "./source.ts";

/** The sentence every note carries. */
const INDEPENDENT = "Independent of the headline figures: not derived from any of them.";

const BENCH = "deno run -A bench/calibrate.ts --rounds 7 (load average about 8)";
const PEERS = "/tmp/calib-peers/bin (shared/peers/build-kvm-selftests.sh, v6.12.117)";

/** vmexit.c cycles (figures.md 1) at an assumed 3 GHz: the source does not name the CPU. */
const VMEXIT_C = "kvm-unit-tests commit 00bfecaaa5a4 (Bonzini, 2012), figures.md section 1";
const MATLACK_SPLIT =
  "Matlack, eager page splitting for the TDP MMU, lore:20220119230739.2234394-1-dmatlack " +
  "(figures.md 3(b)): 96 vCPUs, 1 GiB per vCPU, 1 GiB HugeTLB";
const GARDON_2022 =
  "Gardon, lore:20220321224358.1305530-1-bgardon (figures.md 3(b), the get/clear columns of " +
  "its dirty_log_perf_test runs): 96 vCPUs x 1 GiB, Haswell";
const HOUGHTON =
  "Houghton, KVM Userfault v1, lore:20241204191349.1730936-1-jthoughton (figures.md 3(a)): " +
  "anonymous memory, one uffd, 2 vCPUs, 64M per vCPU, TDP MMU, 48 cores";
const SZMIGIERO = "Szmigiero, Re: [PATCH 2/2] KVM: Scalable memslots implementation, 2021-02-03 " +
  "(figures.md 3(c)): Xeon 8167M, memslot_perf_test, after the series";

/** Pages of 4 KiB in 1 GiB. */
const PAGES_PER_GIB = 262_144;

/**
 * The cost table: every modelled kernel operation, in nanoseconds, with its
 * source. Keys are the names the time model uses.
 */
export const COSTS = {
  guestInsnNative: {
    ns: 0.33,
    per: "guest instruction",
    what: "a guest instruction run natively in VMX/SVM non-root mode",
    source: flagged(
      "No figure in figures.md. One instruction per cycle at 3 GHz: the guests modelled are " +
        "short integer loops (the selftests' per-page code, about 35 instructions). Two to three " +
        "orders of magnitude below every fault cost, so the choice hardly moves a modelled rate.",
    ),
    informedBy: [],
    note: `Native execution, not this host's emulation (see guestInsnKvmPvm). ${INDEPENDENT}`,
  },
  guestInsnKvmPvm: {
    ns: 281,
    per: "guest instruction",
    what: "a guest instruction emulated by this host's kvm_pvm",
    source: measuredHere(
      BENCH,
      "row `guest instruction (dec; jnz loop slope)`: 0.281 µs (0.48-0.70 µs in runs at load " +
        "average 16-20)",
      "slope of the loop guest's run time between 2,000 and 22,000 iterations (2 instructions " +
        "each) over the extra instructions; insn_emulation shows every one of them emulated",
    ),
    informedBy: [],
    note: "The quiet run is the source: under load the slope includes preemption by other " +
      "processes on the 2 CPUs. For modelling this project's own host only (mmu shadow on " +
      `kvm_pvm); a bare-metal host runs guest code natively (guestInsnNative). ${INDEPENDENT}`,
  },
  vmExitRoundTrip: {
    ns: 1_300,
    per: "exit",
    what: "a VM exit handled in the kernel and the re-entry, with a trivial handler",
    source: {
      kind: "published",
      citation: VMEXIT_C,
      figure: "vmcall round trip 3,898 cycles (the cheapest exit handled in the kernel)",
      arithmetic: "3,898 cycles / 3 GHz (assumed; the commit names no CPU) = 1.3 µs",
    },
    informedBy: [],
    note: "The base under every exit: eptViolationFixed, tlbFlushRemotePerVcpu and a " +
      `userspace exit (userspaceExitRoundTrip is added to it). ${INDEPENDENT}`,
  },
  eptViolationFixed: {
    ns: 1_600,
    per: "fault",
    what: "an EPT violation taken and fixed with the host page present (exit, handler, re-entry)",
    source: {
      kind: "published",
      citation: VMEXIT_C,
      figure: "vmcall round trip 3,898 cycles (the cheapest exit handled in the kernel)",
      arithmetic: "the exit and re-entry: 3,898 cycles / 3 GHz (assumed; the commit names no " +
        "CPU) = 1.3 µs; plus the fault's fast path (a lockless walk of the TDP table and one " +
        "cmpxchg), for which nothing is published (FLAG: 300 ns); 1.3 + 0.3 = 1.6 µs",
    },
    informedBy: [
      measuredHere(
        BENCH,
        "rows `first touch, host page present` (net 1.27 µs) and `guest write to a " +
          "write-protected page` (net 2.68 µs)",
        "time per page minus the emulated instructions per page (4) times guestInsnKvmPvm: " +
          "kvm_pvm's shadow faults, not an EPT violation",
      ),
    ],
    note: "Not taken from Matlack's iteration-1 dirty time with eager splitting (0.146 s for " +
      "262,144 pages per vCPU, 557 ns a page): on a host with PML those writes are logged " +
      "without faulting, so the figure need not be a fault's cost; it stays an independent " +
      "check. A new leaf adds spteInstall and an absent host page adds hostPopulate4k. " +
      INDEPENDENT,
  },
  shadowFaultFixed: {
    ns: 1_900,
    per: "fault",
    what: "a shadow-paging #PF exit fixed by KVM with the host page present (mmu shadow)",
    source: flagged(
      "No published per-fault figure for shadow paging. eptViolationFixed (1.6 µs) plus KVM's " +
        "software walk of the guest's 4-level page table (4 guest reads through gfn-to-hva, " +
        "about 80 ns each with cache misses) ≈ 1.9 µs.",
    ),
    informedBy: [
      measuredHere(
        BENCH,
        "row `first touch, host page present` (net µs): 1.27 µs",
        "kvm_pvm's shadow fault on this nested host, after subtracting the emulated instructions",
      ),
    ],
    note: "Used when a script selects `mmu shadow`; write-tracked guest page-table writes are " +
      `counted separately by the MMU model. ${INDEPENDENT}`,
  },
  spteInstall: {
    ns: 200,
    per: "SPTE",
    what: "installing a new leaf SPTE on the fault slow path (gfn-to-pfn of a present page, " +
      "TDP walk under mmu_lock read, cmpxchg)",
    source: flagged(
      "No published per-SPTE figure. get_user_pages_fast of a present page (about 100 ns: page " +
        "walk and refcount) plus the TDP walk and one cmpxchg (about 100 ns). The eager split " +
        "figure gives 61 ns per child SPTE written in bulk (see hugePageSplit), a lower bound " +
        "for one SPTE written alone.",
    ),
    informedBy: [],
    note: `Added to eptViolationFixed when the fault maps a new leaf. ${INDEPENDENT}`,
  },
  hugePageSplit: {
    ns: 31_400,
    per: "huge page split into 512 children",
    what: "splitting one huge SPTE into a page table of 512 smaller SPTEs (eager or on fault)",
    source: {
      kind: "published",
      citation: MATLACK_SPLIT,
      figure: "enabling dirty logging: 0.0017 s without eager splitting, 1.547 s with it",
      arithmetic: "96 GiB in 1 GiB pages split down to 4K: 96 splits of 1G pages and " +
        "96 x 512 = 49,152 splits of 2M pages, 49,248 splits of 512 children each; " +
        "(1.547 - 0.0017) s / 49,248 = 31.4 µs per split (61 ns per child)",
    },
    informedBy: [],
    note: "Done by the ioctl's thread, so no vCPU contention is inside the figure. The enable " +
      "time also clears the D bit (PML) or write access of the new 4K SPTEs, which the figure " +
      `cannot separate, so this is an upper bound. ${INDEPENDENT}`,
  },
  spteZap: {
    ns: 61,
    per: "SPTE",
    what: "zapping one SPTE (clear it, propagate accessed/dirty, account it)",
    source: flagged(
      "No published per-SPTE zap figure (the batched-flush figures of lore:20240805233114 are " +
        "disable-dirty-logging times, which the model is checked against, so they are not used). " +
        "A zap writes one SPTE and runs the same bookkeeping as writing a split child, so the " +
        "split's 61 ns per child (hugePageSplit) is used.",
    ),
    informedBy: [],
    note: "TLB flushes after zapping are separate (tlbFlushLocal, tlbFlushRemotePerVcpu). " +
      `${INDEPENDENT}`,
  },
  tlbFlushLocal: {
    ns: 200,
    per: "flush",
    what: "flushing the current vCPU's guest TLB entries (INVEPT/INVVPID or ASID flush)",
    source: flagged(
      "No published figure. A single-context invalidation is a few hundred cycles (about 600 " +
        "at 3 GHz); the refill misses that follow are not modelled as part of the flush.",
    ),
    informedBy: [],
    note: `Charged to the vCPU that flushes. ${INDEPENDENT}`,
  },
  tlbFlushRemotePerVcpu: {
    ns: 1_300,
    per: "interrupted vCPU",
    what: "a remote TLB flush request: the IPI that makes a running vCPU exit, flush, re-enter",
    source: {
      kind: "published",
      citation: VMEXIT_C,
      figure: "vmcall round trip 3,898 cycles (the cheapest exit handled in the kernel)",
      arithmetic: "the interrupted vCPU takes one exit and re-entry handled in the kernel: " +
        "3,898 cycles / 3 GHz (assumed; the commit names no CPU) = 1.3 µs",
    },
    informedBy: [],
    note: "Charged to each vCPU that must be interrupted; the requester waits for the slowest " +
      "(the model decides), and vCPUs not in guest mode are not interrupted. " +
      `${INDEPENDENT}`,
  },
  writeProtectSpte: {
    ns: 50,
    per: "SPTE",
    what: "write-protecting one 4K SPTE (KVM_CLEAR_DIRTY_LOG of a dirty page, or starting " +
      "dirty logging)",
    source: {
      kind: "published",
      citation: GARDON_2022,
      figure: "clear-dirty-log about 1.1-1.4 s per iteration",
      arithmetic: `every page is dirty each iteration: 96 x ${PAGES_PER_GIB} = 25,165,824 pages; ` +
        "1.25 s / 25,165,824 = 50 ns per page (Haswell has no PML, so CLEAR write-protects)",
    },
    informedBy: [
      measuredHere(
        BENCH,
        "row `KVM_CLEAR_DIRTY_LOG of 8192 dirtied pages`: 0.0036 µs per page",
        "(GET + CLEAR) minus GET, per dirtied page",
      ),
      measuredHere(
        `${PEERS}/dirty_log_perf_test -v 1 -b 256M -i 2`,
        "Iteration 1 clear dirty log time: 0.000143721s (65,536 pages)",
        "0.144 ms / 65,536 = 2.2 ns per page on this host",
      ),
    ],
    note: "From the get/clear columns of those runs, not their disable-dirty-logging time, " +
      "which belongs to the in-place-recovery experiment the model is checked against. " +
      `${INDEPENDENT}`,
  },
  dirtyLogGetPerWord: {
    ns: 3.56,
    per: "64-page bitmap word",
    what: "KVM_GET_DIRTY_LOG with manual protection: copying the bitmap out",
    source: {
      kind: "published",
      citation: GARDON_2022,
      figure: "get-dirty-log about 0.0014 s per iteration",
      arithmetic: "25,165,824 pages / 64 = 393,216 words; 0.0014 s / 393,216 = 3.56 ns per word",
    },
    informedBy: [
      measuredHere(
        BENCH,
        "row `GET per word, slope 1024 -> 16384 words`: 0.54 ns; per call 3.5-12 µs",
        "copying a clean bitmap out is nearly free here; the per-call part dominates",
      ),
      measuredHere(
        `${PEERS}/dirty_log_perf_test -v 1 -b 256M -i 2`,
        "Iteration 1 get dirty log time: 0.000007945s (1,024 words)",
        "7.9 µs / 1,024 = 7.8 ns per word on this host, per-call part included",
      ),
    ],
    note: `Without manual protection GET also write-protects (writeProtectSpte). ${INDEPENDENT}`,
  },
  dirtyLogClearPerWord: {
    ns: 5.74,
    per: "64-page bitmap word",
    what: "KVM_CLEAR_DIRTY_LOG: scanning one word of the user's mask (SPTE work excluded)",
    source: measuredHere(
      BENCH,
      "row `CLEAR (clean) per word, slope 1024 -> 16384 words`: 0.00574 µs (5.2 ns in two " +
        "runs under load)",
      "an all-ones mask over a clean slot does the per-word atomic and finds nothing to " +
        "protect; the slope between the 256 MiB and 4 GiB calls (96.7 - 8.47 µs over 15,360 " +
        "words) removes the per-call part",
    ),
    informedBy: [],
    note: "Host-kernel code (an atomic fetch-and-not per word), which this nested host runs as " +
      `its own (L1) kernel code. ${INDEPENDENT}`,
  },
  userspaceExitRoundTrip: {
    ns: 4_450,
    per: "exit",
    what: "a KVM_RUN exit to userspace and re-entry (PIO/MMIO, ucall, any exit the VMM serves)",
    source: {
      kind: "published",
      citation: VMEXIT_C,
      figure: "inl_from_qemu 20,574 cycles, inl_from_kernel 7,237 cycles",
      arithmetic: "the method figures.md gives: 20,574 - 7,237 = 13,337 cycles for leaving to " +
        "userspace and coming back; at an assumed 3 GHz (the CPU is not named) 4.45 µs",
    },
    informedBy: [
      measuredHere(
        BENCH,
        "row `KVM_RUN PIO exit round trip`: 8.90 µs (18-24 µs under load)",
        "µs per exit; 8.34 µs after subtracting the 2 emulated instructions per exit",
      ),
    ],
    note: "The part of leaving KVM_RUN for userspace and coming back, added to vmExitRoundTrip " +
      "(the guest's exit into KVM). This host's whole PIO exit is 1.5 to 4 times the sum " +
      `(nested, and the exit's instructions are emulated). ${INDEPENDENT}`,
  },
  uffdFaultToHandlerWake: {
    ns: 7_070,
    per: "fault",
    what: "userfaultfd: from the vCPU's fault to the handler thread holding the message " +
      "(handle_userfault, wake of the poller, scheduling, read of uffd_msg)",
    source: {
      kind: "published",
      citation: HOUGHTON,
      figure: "no userfault 306,845 vs MISSING 86,840 (pages/s, both vCPUs together)",
      arithmetic: "per vCPU: 2 / 86,840 s - 2 / 306,845 s = 23.03 - 6.52 = 16.51 µs added by " +
        "userfaultfd per page; minus UFFDIO_COPY (uffdioCopy4k, 2.38 µs) leaves 14.13 µs for " +
        "the two wake-ups, split evenly: 7.07 µs each",
    },
    informedBy: [
      measuredHere(
        BENCH,
        "row `first touch via demand uffd, 1 handler` (net µs): 18.7 µs (11-44 µs across runs)",
        "the whole round trip on this host, minus the present-page time",
      ),
      measuredHere(
        `${PEERS}/demand_paging_test -v 1 -b 64M [-u MISSING]`,
        "no uffd 16,948 pages/s; -u MISSING 11,351 pages/s",
        "1/11,351 - 1/16,948 = 29 µs per page added by userfaultfd on this host",
      ),
    ],
    note: "The even split between the two wake-ups is an assumption (FLAG): both are a " +
      "cross-CPU wake of a sleeping thread. The source's unit is 'likely pages/s'. " +
      INDEPENDENT,
  },
  uffdioCopy4k: {
    ns: 2_380,
    per: "4 KiB page",
    what: "UFFDIO_COPY of one 4 KiB page (allocate, copy, install the PTE, one ioctl)",
    source: measuredHere(
      BENCH,
      "rows `UFFDIO_COPY in 1 MiB chunks`: 2.11 µs per page; `KVM_CHECK_EXTENSION on the VM " +
        "fd (ioctl floor)`: 0.265 µs",
      "the copy's own work per page (bulk) plus entering and leaving one ioctl: " +
        "2.11 + 0.27 = 2.38 µs",
    ),
    informedBy: [
      measuredHere(
        BENCH,
        "row `UFFDIO_COPY, one 4 KiB page per ioctl`: 6.78 µs",
        "one ioctl per page costs 4.4 µs more than the bulk rate plus the ioctl floor here; " +
          "not understood (FLAG), so not used",
      ),
    ],
    note: "Host-kernel code, which this nested host runs as its own (L1) kernel code. " +
      INDEPENDENT,
  },
  uffdioContinue4k: {
    ns: 1_190,
    per: "4 KiB page",
    what: "UFFDIO_CONTINUE of one 4 KiB page (map a page already in the page cache)",
    source: flagged(
      "No per-call figure (the kvm backend's `demand uffd minor` times whole faults, not the " +
        "ioctl alone). CONTINUE skips " +
        "COPY's allocation and 4 KiB copy and keeps the ioctl entry, range checks, mmap_lock and " +
        "PTE install: half of uffdioCopy4k (2.38 µs / 2).",
    ),
    informedBy: [
      measuredHere(
        `${PEERS}/demand_paging_test -v 1 -b 64M -u MINOR -s shmem`,
        "23,458 pages/s (against 11,351 with -u MISSING)",
        "MINOR/CONTINUE pages come out cheaper than MISSING/COPY pages on this host, as the " +
          "value assumes",
      ),
    ],
    note: `The wake-ups around it are uffdFaultToHandlerWake and uffdVcpuWake. ${INDEPENDENT}`,
  },
  uffdVcpuWake: {
    ns: 7_070,
    per: "fault",
    what: "userfaultfd: from the handler's UFFDIO_COPY/CONTINUE waking the range to the vCPU " +
      "running again",
    source: {
      kind: "published",
      citation: HOUGHTON,
      figure: "no userfault 306,845 vs MISSING 86,840 (pages/s, both vCPUs together)",
      arithmetic: "the other half of the 14.13 µs left after UFFDIO_COPY (see " +
        "uffdFaultToHandlerWake): 7.07 µs",
    },
    informedBy: [],
    note: "Scanning the wait queue for the woken range is separate (waitQueueScanPerWaiter, " +
      `waiterWake), so contention comes from the model. ${INDEPENDENT}`,
  },
  memoryFaultExitServed: {
    ns: 4_450,
    per: "exit",
    what: "a memory-fault exit (KVM_RUN returns EFAULT with KVM_EXIT_MEMORY_FAULT) and re-entry " +
      "after the VMM served the page",
    source: {
      kind: "published",
      citation: VMEXIT_C,
      figure: "inl_from_qemu 20,574 cycles, inl_from_kernel 7,237 cycles",
      arithmetic: "the exit leaves KVM_RUN the way a userspace I/O exit does: 13,337 cycles at " +
        "an assumed 3 GHz = 4.45 µs (as userspaceExitRoundTrip)",
    },
    informedBy: [
      measuredHere(
        BENCH,
        "row `KVM_RUN PIO exit round trip`: 8.90 µs",
        "µs per exit of a PIO exit",
      ),
    ],
    note: "FLAG: no figure exists for this exit itself (the proposal is not in mainline, and " +
      "its own rates are what the model is checked against). Added to the EPT violation that " +
      "raised it (eptViolationFixed); the VMM's service of the page is modelled apart " +
      `(uffdioContinue4k, uffdioCopy4k or hostPopulate4k). ${INDEPENDENT}`,
  },
  hostPopulate4k: {
    ns: 1_670,
    per: "4 KiB page",
    what: "the host kernel populating one 4 KiB anonymous page (allocate, zero, map)",
    source: measuredHere(
      BENCH,
      "row `MADV_POPULATE_WRITE, whole slot in one call`: 1.67 µs per page (3.3-4.1 µs under " +
        "load average 16-20)",
      "one MADV_POPULATE_WRITE over a fresh 32 MiB slot mapping / 8,192 pages",
    ),
    informedBy: [
      measuredHere(
        BENCH,
        "row `first touch, host page absent` (net µs): 1.88 µs",
        "absent minus present first touch: the population on KVM's gfn-to-pfn path",
      ),
    ],
    note: "Host-kernel code, which this nested host runs as its own (L1) kernel code; a " +
      `standalone mmap + MADV_POPULATE_WRITE loop gave 1.2-1.6 µs per page. ${INDEPENDENT}`,
  },
  hostPopulate2m: {
    ns: 210_000,
    per: "2 MiB page",
    what: "the host kernel populating one 2 MiB page (THP or hugetlb: allocate, zero, map)",
    source: flagged(
      "Not measurable here (THP is madvise-only and the hugetlb pool is empty) and not " +
        "published. Zeroing dominates: 2 MiB at about 10 GB/s is 210 µs; the one allocation " +
        "and PMD install are small beside it.",
    ),
    informedBy: [],
    note: `Per 2 MiB page, not per 4 KiB of it. ${INDEPENDENT}`,
  },
  mmuLockUncontended: {
    ns: 40,
    per: "acquire and release",
    what: "taking and dropping mmu_lock (read or write) when nobody holds it",
    source: flagged(
      "No published figure. An rwlock acquire and release are two atomic read-modify-writes " +
        "on one cache line, about 20 ns each when the line is local.",
    ),
    informedBy: [],
    note: "Waiting for a held lock is computed by the model, never part of this constant. " +
      `${INDEPENDENT}`,
  },
  memslotCreate: {
    ns: 16_200,
    per: "ioctl",
    what: "KVM_SET_USER_MEMORY_REGION creating a slot",
    source: {
      kind: "published",
      citation: SZMIGIERO,
      figure: "slot setup 8.25 ms with 509 slots",
      arithmetic: "8.25 ms / 509 = 16.2 µs per slot created (setup also maps the memory, so an " +
        "upper bound)",
    },
    informedBy: [
      measuredHere(
        BENCH,
        "rows `memslot create, 2 MiB slot`: 7.09 µs; `… 1 GiB slot`: 367 µs",
        "µs per ioctl on a VM with no vCPU (1.7-3.2 ms in one run under load: the SRCU " +
          "grace period waits for a kworker)",
      ),
    ],
    note: "On a shadow-paging host creating a slot also allocates rmap and write tracking per " +
      `page, which this host's figure shows growing with the slot. ${INDEPENDENT}`,
  },
  memslotMove: {
    ns: 40_800,
    per: "ioctl",
    what: "KVM_SET_USER_MEMORY_REGION moving a slot (invalidate, zap, install)",
    source: {
      kind: "published",
      citation: SZMIGIERO,
      figure: "move active 81.6 µs (per test iteration)",
      arithmetic: "test_memslot_move_loop moves the slot away and back, 2 moves per iteration: " +
        "81.6 / 2 = 40.8 µs per move",
    },
    informedBy: [
      measuredHere(
        BENCH,
        "rows `memslot move, 2 MiB slot`: 12.4 µs; `… 1 GiB slot`: 660 µs",
        "µs per ioctl on a VM with no vCPU, so nothing to zap",
      ),
      measuredHere(
        `${PEERS}/memslot_perf_test`,
        "move active area: 0.000359462s per iteration",
        "0.359 ms / 2 moves = 180 µs per move on this host, while its guest runs emulated",
      ),
    ],
    note: "Zapping the slot's SPTEs is charged apart (spteZap per SPTE), so a move of an " +
      `unmapped slot costs this constant alone. ${INDEPENDENT}`,
  },
  memslotDelete: {
    ns: 40_800,
    per: "ioctl",
    what: "KVM_SET_USER_MEMORY_REGION deleting a slot",
    source: flagged(
      "No published delete figure. A delete takes the same invalidate, zap and two SRCU " +
        "synchronisations as a move and skips inserting the new slot: memslotMove's 40.8 µs.",
    ),
    informedBy: [
      measuredHere(
        BENCH,
        "rows `memslot delete, 2 MiB slot`: 7.89 µs; `… 1 GiB slot`: 78.0 µs",
        "µs per ioctl on a VM with no vCPU",
      ),
    ],
    note: `Zapping the slot's SPTEs is charged apart (spteZap per SPTE). ${INDEPENDENT}`,
  },
  waiterWake: {
    ns: 1_000,
    per: "task woken",
    what: "waking one sleeping task (try_to_wake_up from the waker's side)",
    source: flagged(
      "No published figure. try_to_wake_up takes the wakee's run-queue lock (a remote cache " +
        "line) and sends a reschedule IPI when its CPU is idle: about 1 µs on a server.",
    ),
    informedBy: [],
    note: "Charged to the waker (the handler thread when it wakes vCPUs). " + INDEPENDENT,
  },
  waitQueueScanPerWaiter: {
    ns: 80,
    per: "waiter visited",
    what: "visiting one entry of a wait queue during a keyed wake-up (userfaultfd's fault_wqh)",
    source: flagged(
      "No published figure. Each waiter's entry lives on its own vCPU thread's stack, so " +
        "each visit is a cross-core cache miss, about 80 ns on a two-socket server.",
    ),
    informedBy: [],
    note: "Charged to the waker while it holds the queue's lock, so the model turns many waiters " +
      `into lock hold time. ${INDEPENDENT}`,
  },
} as const satisfies Record<string, CostConstant>;

/** The name of a cost constant. */
export type CostName = keyof typeof COSTS;

/**
 * A constant's cost in nanoseconds.
 *
 * @param name the constant
 * @returns nanoseconds per its unit
 */
export function costNs(name: CostName): number {
  return COSTS[name].ns;
}
