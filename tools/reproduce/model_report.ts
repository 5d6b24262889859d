/**
 * `deno task model-report`: regenerates `docs/model.md`, the validation
 * report of the emulator's time model: every published figure of
 * shared/reference/figures.md the model can speak to, beside the model's
 * prediction (from the same `.kvm` scripts as `deno task reproduce`), the
 * ratio prediction / figure, and why it is off. Constants are never tuned
 * to these figures (vmm/emu/time/README.md); where a constant was derived
 * from a figure, the row says so and is no test of the model.
 *
 * @module
 */
// deno-lint-ignore-file no-console -- a command-line tool reports on the console
import { COSTS } from "../../vmm/emu/time/costs.ts";
import { num, ratio } from "./claim.ts";
import { MF_SCRIPT, modelRates, PUBLISHED_3A } from "./claims/memory_fault_exits.ts";
import { RECOVERY_SCRIPT, type RecoveryRow, recoveryRows } from "./claims/dirty_log_recovery.ts";
import { markdownTable } from "./report.ts";
import { ROOT, runScriptFile } from "./run.ts";

const COUNTS = "[1, 2, 4, 8, 32, 64, 96, 128, 256]";
const MF_PER = "1M";
const REC_VCPUS = 96;
const REC_PERS = "[8M, 16M]";

type Row = [string, string, string, string, string];

/** A row: the figure, its published value (as printed and as a number), the model's, why. */
function fig(label: string, published: string, model: number, figure: number, note: string): Row {
  return [label, published, num(model), ratio(model, figure), note];
}

/**
 * Builds the report's markdown.
 *
 * @returns the document
 */
export async function modelReport(): Promise<string> {
  const mf = await runScriptFile(MF_SCRIPT, "emu", { counts: COUNTS, per: MF_PER });
  const rates = modelRates(mf);
  const rate = (mode: string, n: number) => rates.get(mode)!.get(n)!;
  const eager = await runScriptFile(RECOVERY_SCRIPT, "emu", {
    n: String(REC_VCPUS),
    pers: REC_PERS,
  });
  const lazy = await runScriptFile(RECOVERY_SCRIPT, "emu", {
    n: String(REC_VCPUS),
    pers: "[16M]",
    recoveries: "[zap]",
    eager: "off",
  });
  const rows = recoveryRows(eager);
  const top = Math.max(...rows.map((r) => r.gib));
  const at = (rs: RecoveryRow[], rec: string) =>
    rs.find((r) => r.gib === top && r.recovery === rec)!;
  const zap = at(rows, "zap"), inPlace = at(rows, "in_place"), v613 = at(rows, "in_place_6_13");
  const off = at(recoveryRows(lazy), "zap");
  const low = Math.min(...rows.map((r) => r.gib));
  const zapLow = rows.find((r) => r.gib === low && r.recovery === "zap")!;
  const linearity = (Number(zap.disable) / Number(zapLow.disable)) / (top / low);
  /** A figure of the 96 x 1 GiB runs: the modelled value at `top` GiB scaled to 96 GiB. */
  const to96 = (v: number | string) => Number(v) * 96 / top;
  /** A per-vCPU time of the runs: the modelled value at `top` GiB scaled to 1 GiB per vCPU. */
  const perVcpu = (v: number | string) => Number(v) * REC_VCPUS / top;
  const wt = await runScriptFile("examples/write_tracking.kvm", "emu");
  const emuMeta = wt.prints.find((p) => p.text.startsWith("emulated metadata"))!;

  const demand: Row[] = PUBLISHED_3A.flatMap((p) => {
    const u = rate("uffd", p.vcpus), x = rate("exits", p.vcpus);
    return [
      fig(
        `3(a) uffd only, ${p.vcpus} vCPUs (k pages/s)`,
        String(p.uffd),
        u,
        p.uffd,
        p.vcpus <= 4
          ? "Per-fault constants: two thread wake-ups and UFFDIO_COPY (MISSING) per page in the model; the published run served MINOR faults on shmem with UFFDIO_CONTINUE."
          : "The published rate falls from 8 vCPUs; the model's one uffd falls only once its queue lock and wake-up scan saturate (16-32 vCPUs): the mm's and the page cache's locks of shmem are not modelled resources.",
      ),
      fig(
        `3(a) with exit caps, ${p.vcpus} vCPUs (k pages/s)`,
        String(p.exits),
        x,
        p.exits,
        p.vcpus <= 8
          ? "Per page the model charges the EPT violation, the exit to userspace and populating a fresh 4K page; the published pages were already in the page cache (MINOR), so each exit served less."
          : "Nothing on the exit path is contended in the model, so it scales linearly; the published curve bends from 64 vCPUs and is flat from 128.",
      ),
    ] as Row[];
  });
  const houghton: Row[] = [
    fig(
      "Houghton, no userfault, 2 vCPUs (pages/s)",
      "306,845",
      rate("kernel", 2) * 1000,
      306845,
      "The kernel fills the page (eptViolationFixed + hostPopulate4k, the latter measured on this project's host): the model's per-page cost is a bare-metal estimate, not fitted.",
    ),
    fig(
      "Houghton, no userfault, 8 vCPUs",
      "220,402",
      rate("kernel", 8) * 1000,
      220402,
      "The published rate falls with vCPUs (mm and page allocator contention); the model has no contended resource on this path.",
    ),
    fig(
      "Houghton, no userfault, 64 vCPUs",
      "47,720",
      rate("kernel", 64) * 1000,
      47720,
      "As above: the missing contention is the model's gap (never a constant to tune).",
    ),
    fig(
      "Houghton, MISSING, 2 vCPUs",
      "86,840",
      rate("uffd", 2) * 1000,
      86840,
      "By construction in part: uffdFaultToHandlerWake and uffdVcpuWake are derived from this figure minus the no-userfault one.",
    ),
    fig(
      "Houghton, MISSING, 8 vCPUs",
      "37,912",
      rate("uffd", 8) * 1000,
      37912,
      "Model uses one handler per vCPU (the published reader count is not stated).",
    ),
    fig(
      "Houghton, MISSING, 64 vCPUs",
      "1,664",
      rate("uffd", 64) * 1000,
      1664,
      "The model's queue lock contention is far milder than published.",
    ),
  ];
  const populate96 = (3 * 2 ** 18) / (rate("kernel", 96) * 1000 / 96);
  const dirty: Row[] = [
    fig(
      "Gardon 2021 parallel faults: populate, 96 vCPUs x 3G (s)",
      "16.112",
      populate96,
      16.112,
      "Kernel-filled 4K first touches at the modelled 96-vCPU rate; faults take mmu_lock for read, so they run in parallel as after the series. The published 20 µs per page includes host page allocation and mmap_lock contention across 96 vCPUs, which the model does not have.",
    ),
    fig(
      "Matlack 2022: enabling dirty logging, no eager split (s)",
      "0.0017",
      to96(off.enable),
      0.0017,
      "Write-protecting every 2M SPTE under the write lock; published with 1 GiB HugeTLB pages (fewer SPTEs), the model maps 2M pages.",
    ),
    fig(
      "Matlack 2022: enabling dirty logging, eager split (s)",
      "1.547",
      to96(zap.enable),
      1.547,
      "hugePageSplit per split + writeProtectSpte per 4K SPTE; 2M pages, not 1G (one more level splits in the published run).",
    ),
    fig(
      "Matlack 2022: iteration-1 dirty time, no eager split (s)",
      "2.944",
      perVcpu(off.logged),
      2.944,
      "In the model the first write to a huge page splits it (hugePageSplit) and every 4K page takes one write-protection fault either way, so eager splitting saves little; the published no-eager run also allocated page tables in the fault path while 96 vCPUs contended for them, which the model does not charge.",
    ),
    fig(
      "Matlack 2022: iteration-1 dirty time, eager split (s)",
      "0.146",
      perVcpu(zap.logged),
      0.146,
      "One write-protection fault per 4K page (eptViolationFixed + spteInstall); that host's faults were cheaper than the model's bare-metal estimate of 1.6 µs.",
    ),
    fig(
      "Gardon 2022: get-dirty-log per iteration (s)",
      "0.0014",
      to96(zap.get),
      0.0014,
      "By construction: dirtyLogGetPerWord is this figure divided by the words.",
    ),
    fig(
      "Gardon 2022: clear-dirty-log per iteration (s)",
      "1.1-1.4",
      to96(zap.clear),
      1.25,
      "By construction: writeProtectSpte is this figure per page (plus dirtyLogClearPerWord, measured).",
    ),
    fig(
      "Gardon 2022: disabling dirty logging, TDP MMU before (s)",
      "256.68",
      to96(zap.disable),
      256.68,
      "The model zaps under the write lock with one flush per disable; the published TDP MMU zapped under the read lock with a flush per SPTE, against vCPUs refaulting.",
    ),
    fig(
      "Gardon 2022: disabling dirty logging, after the series (s)",
      "3.17",
      to96(zap.disable),
      3.17,
      "Closer: the series batched the flushes, which is how the model flushes.",
    ),
    fig(
      "Seed 004: disabling dirty logging, zap (s)",
      "> 45",
      to96(zap.disable),
      45,
      "As the 256.68 s row: the per-SPTE flushes and the fault storm are not modelled.",
    ),
    fig(
      "Seed 004: disabling dirty logging, in place (s)",
      "≈ 1",
      to96(inPlace.disable),
      1,
      "512 x spteZap + spteInstall per recovered table; the children are still visited.",
    ),
    fig(
      "Matlack 2024: disable, 64 vCPUs x 4 GiB, before (s)",
      "14.33",
      to96(zap.disable) * 256 / 96,
      14.33,
      "Scaled to 256 GiB (linear in memory; one flush per disable, so vCPU count barely matters in the model).",
    ),
    fig(
      "Matlack 2024: disable, 64 vCPUs x 4 GiB, 6.13 in place (s)",
      "4.79",
      to96(v613.disable) * 256 / 96,
      4.79,
      "The 131,072 → 76 flushes of the series are invisible: the model issues one.",
    ),
  ];
  const other: Row[] = [
    [
      "§4 write tracking, bytes per 4K page",
      "2",
      "2",
      "1×",
      "Exact: the emulator allocates the kernel's array (examples/write_tracking.kvm: " +
      emuMeta.text.replace(/^emulated metadata for the slot: /, "") + ").",
    ],
    [
      "§1 exit to userspace (µs)",
      "4.45 (derived)",
      num(COSTS.userspaceExitRoundTrip.ns / 1000),
      "1×",
      "By construction: userspaceExitRoundTrip is inl_from_qemu − inl_from_kernel at 3 GHz.",
    ],
    fig(
      "3(c) memslot_perf_test slot setup, 509 slots (ms)",
      "8.25",
      COSTS.memslotCreate.ns * 509 / 1e6,
      8.25,
      "By construction: memslotCreate is this figure / 509.",
    ),
    fig(
      "3(c) move active area, per iteration (µs)",
      "81.6",
      COSTS.memslotMove.ns * 2 / 1000,
      81.6,
      "By construction: memslotMove is half of it (two moves per iteration); zaps are charged apart.",
    ),
  ];
  const notModelled = [
    "3(c) map / unmap / unmap 2M / move inactive: the host's MADV_DONTNEED unmapping and the test's guest protocol are not modelled.",
    "3(b) TDP MMU introduction (−89% with 416 vCPUs) and parallel faults with overlapping access (117 → 141 s): the legacy MMU's write-locked faults are modelled only as `mmu shadow`, not at that scale.",
    "3(b) eager split on the nested MMU, dirty-log chunking (460 → 10 ms), clear-dirty-log optimisation (−40%), waiting for vCPU creation (52.8 → 10.2 s): no model of the nested MMU, chunked bitmaps or vCPU creation.",
    "3(d) KVM_X86_QUIRK_SLOT_ZAP_ALL: no published figure (FLAG); see the reproduction report's zap-control section.",
    "§1 nested vmexit and SVM KVM_RUN cycles, §2 emulators, §5 reliability: not figures of the KVM MMU model.",
  ];
  const header = [
    "figure (figures.md)",
    "published",
    "model",
    "model / published",
    "why it is off, or how it relates",
  ];
  return [
    "# The time model against the published figures",
    "",
    "<!-- Generated by `deno task model-report` (tools/reproduce/model_report.ts); do not edit. -->",
    "",
    "Every figure of /work/shared/reference/figures.md that the emulator's modelled time can speak",
    "to, beside the model's prediction and the ratio prediction / figure. The model's constants",
    "(vmm/emu/time/costs.ts) each cite a measurement or a per-operation figure and are never fitted",
    "to these; rows marked *by construction* are where a constant was derived from the figure, so",
    "they check arithmetic, not the model. Contention comes only from modelled resources, so where",
    "a published rate falls with vCPUs and the model's does not, the missing resource is the gap.",
    "",
    "How the predictions were made (modelled time: the same on every machine):",
    "",
    "```sh",
    mf.command,
    eager.command,
    lazy.command,
    "```",
    "",
    `The dirty-logging runs use ${REC_VCPUS} vCPUs x ${REC_PERS} per vCPU with 2 MiB host pages:`,
    "96 x 1 GiB does not fit (the emulator backs every written page). Figures of the whole slot",
    `(enable, get, clear, disable) are scaled linearly from ${num(top)} GiB to the published size`,
    `(the model is linear in memory: doubling it multiplies zap's disable time by ${
      num(linearity * 2)
    }); per-vCPU`,
    "iteration times are scaled the same way to 1 GiB per vCPU (linear in pages per vCPU).",
    "",
    "## Demand paging (figures.md 3(a))",
    "",
    ...markdownTable({ header, rows: [...demand, ...houghton] }),
    "",
    "## Dirty logging (figures.md 3(b), seed 004)",
    "",
    ...markdownTable({ header, rows: dirty }),
    "",
    "## Metadata, exits, memslots",
    "",
    ...markdownTable({ header, rows: other }),
    "",
    "## Not modelled",
    "",
    ...notModelled.map((n) => `- ${n}`),
    "",
  ].join("\n");
}

if (import.meta.main) {
  const out = Deno.args[0] ?? `${ROOT}docs/model.md`;
  await Deno.writeTextFile(out, await modelReport());
  console.log(`wrote ${out}`);
}
