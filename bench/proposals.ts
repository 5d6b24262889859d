/**
 * Two KVM proposals measured against their own claims.
 *
 * (a) Proposal 1, KVM_CAP_PAGE_WRITE_TRACKING (Vagin, 2024): a 512 GiB
 *     (39-bit) memslot is created and deleted under `page_write_tracking`
 *     `on` / `off` / `on_demand` / `on_demand` + a registered tracker. The
 *     emulator models each policy: per policy, creation and deletion time,
 *     `write_track_bytes`, `memslot_metadata_bytes` and the process's RSS
 *     growth, beside the proposal's claim (2 B per 4 KiB page: 256 MiB for
 *     39 bits). Baseline: `on` (the behaviour before the proposal), measured
 *     in the same rounds. On kvm there is no uAPI for the policy: the same
 *     slot is created and deleted with the host's own policy, and the
 *     kernel's metadata (vmalloc growth around the ioctl) is reported.
 *
 * (b) Proposal 2, KVM_CAP_MEMSLOT_ZAP_CONTROL (Christopherson, 2020): a
 *     firmware-like boot (`boot_sim`: 128 MiB RAM slot of which 64 MiB is
 *     written per round, a 64 KiB readonly ROM moved away and back by the
 *     host at each of 16 `sync "remap"`) under `zap_all` and
 *     `zap_only_memslot` (on kvm: quirk `slot_zap_all` kept / disabled), on
 *     both backends (the emulator twice: slots with 2 MiB and with 4 KiB
 *     host pages). Each round runs every (setup, policy) boot with the
 *     policy order alternating; medians are reported with the
 *     zap_only/zap_all ratio (median of per-round ratios) beside the
 *     proposal's claims.
 *
 * Usage: `deno run -A bench/proposals.ts [--rounds R] [--slot-rounds R] [--only a,b] [--json out.json]`
 *
 * @module
 */
// deno-lint-ignore-file no-console -- a benchmark reports on the console
import { createVm } from "../vmm/mod.ts";
import type { BackendKind, Vm } from "../vmm/mod.ts";
import { EmuVm } from "../vmm/emu/vm.ts";
import { kvmBackend } from "../vmm/kvm/mod.ts";
import { argValue, bytes, fmt, median, medianRatio, table } from "./_table.ts";

const M = 1n << 20n;
const G = 1n << 30n;
const SLOT_SIZE = 512n * G;
const SLOT_PAGES = Number(SLOT_SIZE / 4096n);
/** The proposal's figure: 2 bytes of gfn_write_track per 4 KiB page, 256 MiB for 39 bits. */
const CLAIM_TRACK_BYTES = 2 * SLOT_PAGES;

// ---------------------------------------------------------------- (a) --

type Policy = "on" | "off" | "on_demand";

/** One create/delete of the 512 GiB slot. */
interface SlotSample {
  createMs: number;
  /** Registering the tracker (on_demand + tracker only): when on_demand allocates. */
  trackMs: number;
  deleteMs: number;
  trackBytes: number;
  metaBytes: number;
  rssDelta: number;
}

const POLICIES: readonly { label: string; policy: Policy; tracker: boolean; claim: number }[] = [
  { label: "on", policy: "on", tracker: false, claim: CLAIM_TRACK_BYTES },
  { label: "off", policy: "off", tracker: false, claim: 0 },
  { label: "on_demand", policy: "on_demand", tracker: false, claim: 0 },
  { label: "on_demand + tracker", policy: "on_demand", tracker: true, claim: CLAIM_TRACK_BYTES },
];

/** Emulator create/delete repetitions per sample (each well under a millisecond). */
const EMU_REPS = 50;

/**
 * One sample on the emulator: the mean over {@linkcode EMU_REPS} fresh VMs
 * of the times, and the bytes of the first (identical in every repetition).
 */
function emuSlot(policy: Policy, tracker: boolean): SlotSample {
  let sample: SlotSample | undefined;
  let createMs = 0, trackMs = 0, deleteMs = 0;
  for (let i = 0; i < EMU_REPS; i++) {
    const vm = new EmuVm({ name: "bench-slot" });
    try {
      vm.enableCap("page_write_tracking", policy);
      const rss0 = Deno.memoryUsage().rss;
      const t0 = performance.now();
      vm.addMemslot({ name: "huge", gpa: 1n << 40n, size: SLOT_SIZE });
      const t1 = performance.now();
      if (tracker) vm.track("gpu", 1n << 40n, 4096n);
      const t2 = performance.now();
      createMs += t1 - t0;
      trackMs += t2 - t1;
      sample ??= {
        createMs: 0,
        trackMs: 0,
        deleteMs: 0,
        trackBytes: Number(vm.stat("write_track_bytes")),
        metaBytes: Number(vm.stat("memslot_metadata_bytes")),
        rssDelta: Deno.memoryUsage().rss - rss0,
      };
      if (tracker) vm.untrack("gpu");
      const t3 = performance.now();
      vm.deleteMemslot("huge");
      deleteMs += performance.now() - t3;
    } finally {
      vm.close();
    }
  }
  return {
    ...sample!,
    createMs: createMs / EMU_REPS,
    trackMs: trackMs / EMU_REPS,
    deleteMs: deleteMs / EMU_REPS,
  };
}

function kvmSlot(): SlotSample {
  const vm = createVm({ name: "bench-slot", backend: "kvm" });
  try {
    const rss0 = Deno.memoryUsage().rss;
    const t0 = performance.now();
    vm.addMemslot({ name: "huge", gpa: SLOT_SIZE, size: SLOT_SIZE });
    const t1 = performance.now();
    const trackBytes = Number(vm.stat("write_track_bytes"));
    const metaBytes = Number(vm.stat("memslot_metadata_bytes"));
    const rssDelta = Deno.memoryUsage().rss - rss0;
    const t2 = performance.now();
    vm.deleteMemslot("huge");
    const deleteMs = performance.now() - t2;
    return { createMs: t1 - t0, trackMs: 0, deleteMs, trackBytes, metaBytes, rssDelta };
  } finally {
    vm.close();
  }
}

/** What the kvm backend answers to each policy (the host's own, or an error naming it). */
function kvmPolicyAnswers(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of ["on", "off", "on_demand"] as const) {
    const vm = createVm({ name: "bench-cap", backend: "kvm" });
    try {
      vm.enableCap("page_write_tracking", p);
      out[p] = "accepted (the host's state)";
    } catch (e) {
      out[p] = `${(e as Error).name}: ${(e as Error).message}`;
    } finally {
      vm.close();
    }
  }
  return out;
}

/** One policy: the medians of its samples (the {@linkcode SlotSample} fields), and the samples. */
interface SlotResult extends SlotSample {
  label: string;
  backend: BackendKind;
  claimTrackBytes?: number;
  /** create(+track) time / the `on` baseline's, median of per-round ratios (emu only). */
  ratioToOn?: number;
  rounds: SlotSample[];
}

function summarize(
  label: string,
  backend: BackendKind,
  xs: SlotSample[],
  claim?: number,
): SlotResult {
  return {
    label,
    backend,
    createMs: median(xs.map((s) => s.createMs)),
    trackMs: median(xs.map((s) => s.trackMs)),
    deleteMs: median(xs.map((s) => s.deleteMs)),
    trackBytes: median(xs.map((s) => s.trackBytes)),
    metaBytes: median(xs.map((s) => s.metaBytes)),
    rssDelta: median(xs.map((s) => s.rssDelta)),
    claimTrackBytes: claim,
    rounds: xs,
  };
}

function partA(rounds: number, kvm: boolean): { results: SlotResult[]; kvmAnswers?: object } {
  // Warm-up: each policy once (JIT, allocator).
  for (const p of POLICIES) emuSlot(p.policy, p.tracker);
  if (kvm) kvmSlot();
  const emu: SlotSample[][] = POLICIES.map(() => []);
  const k: SlotSample[] = [];
  for (let r = 0; r < rounds; r++) {
    // Rotate the policy order so no policy always runs right after another.
    for (let i = 0; i < POLICIES.length; i++) {
      const j = (i + r) % POLICIES.length;
      emu[j].push(emuSlot(POLICIES[j].policy, POLICIES[j].tracker));
      if (kvm && i === r % POLICIES.length) k.push(kvmSlot());
    }
  }
  const cost = (s: SlotSample) => s.createMs + s.trackMs;
  const results = POLICIES.map((p, i) => ({
    ...summarize(p.label, "emu", emu[i], p.claim),
    ratioToOn: medianRatio(emu[i].map(cost), emu[0].map(cost)),
  }));
  if (!kvm) return { results };
  // kvm against the same round's emulator `on` (same slot, same policy).
  const onByRound = emu[0].slice(0, k.length).map(cost);
  results.push({
    ...summarize("host policy (on)", "kvm", k, CLAIM_TRACK_BYTES),
    ratioToOn: medianRatio(k.map(cost), onByRound),
  });
  return { results, kvmAnswers: kvmPolicyAnswers() };
}

function printA(a: { results: SlotResult[]; kvmAnswers?: object }, rounds: number): void {
  console.log(
    `\n(a) proposal 1, page_write_tracking: create + delete a 512 GiB (39-bit) memslot, ` +
      `${rounds} rounds, policy order rotated (medians; emu times are means over ${EMU_REPS} ` +
      `fresh VMs per round)`,
  );
  const rows = a.results.map((r) => [
    r.backend,
    r.label,
    r.createMs.toFixed(2),
    r.label.includes("tracker") ? r.trackMs.toFixed(2) : "-",
    r.deleteMs.toFixed(2),
    r.ratioToOn !== undefined && Number.isFinite(r.ratioToOn)
      ? `${r.ratioToOn.toFixed(r.ratioToOn >= 100 ? 0 : 2)}x`
      : "-",
    bytes(r.trackBytes),
    r.claimTrackBytes !== undefined ? bytes(r.claimTrackBytes) : "-",
    bytes(r.metaBytes),
    (r.metaBytes / SLOT_PAGES).toFixed(3),
    bytes(r.rssDelta),
  ]);
  for (
    const line of table([
      "backend",
      "policy",
      "create ms",
      "track ms",
      "delete ms",
      "cost/on",
      "write_track",
      "claim",
      "slot metadata",
      "B/page",
      "RSS growth",
    ], rows)
  ) console.log(line);
  console.log(
    "  cost/on: (create + tracker registration) time over the emulator's `on` in the same round " +
      "(median of per-round ratios; for kvm too, as the same slot under the same policy).",
  );
  console.log(
    "  claim: the proposal's write-tracking cost, 2 B per 4 KiB page = 256 MiB at 39 bits " +
      "(0 when tracking is off or no tracker is registered under on_demand).",
  );
  console.log(
    "  RSS growth: process RSS after creation minus before; the emulator's zero-filled " +
      "arrays are only committed when written, and kvm's metadata is kernel vmalloc " +
      "memory, invisible in the process's RSS.",
  );
  if (a.kvmAnswers) {
    console.log("  kvm: page_write_tracking has no uAPI; what the kvm backend answers:");
    for (const [p, msg] of Object.entries(a.kvmAnswers)) console.log(`    ${p}: ${msg}`);
    console.log(
      "  kvm write_track is derived (2 B x pages when the host tracks); slot metadata is " +
        "the kernel's vmalloc growth around KVM_SET_USER_MEMORY_REGION (rmap 8 B + " +
        "gfn_track 2 B per page on this shadow-paging host).",
    );
  }
}

// ---------------------------------------------------------------- (b) --

type ZapPolicy = "zap_all" | "zap_only_memslot";
const ZAPS: readonly ZapPolicy[] = ["zap_all", "zap_only_memslot"];
const ROM_GPA = 0xfff0_0000n;
const ROM_AWAY = 0xc000_0000n;
const REMAPS = 16n;

/** Where a boot runs: a backend, and for the emulator the host page size of its slots. */
interface Setup {
  key: string;
  backend: BackendKind;
  hugepage?: bigint;
  /** Counters read after each boot. */
  stats: readonly string[];
  /** The counter standing for faults, and the one for zapping. */
  faultStat: string;
  zapStat: string;
  note: string;
}

const SETUPS: readonly Setup[] = [
  {
    key: "kvm",
    backend: "kvm",
    stats: ["mmu_shadow_zapped", "mmu_cache_miss", "exits", "insn_emulation", "pf_taken"],
    faultStat: "mmu_cache_miss",
    zapStat: "mmu_shadow_zapped",
    note: "kvm_pvm, shadow paging",
  },
  {
    key: "emu 2M",
    backend: "emu",
    stats: ["pf_taken", "sptes_zapped", "remote_tlb_flush", "exits", "instructions"],
    faultStat: "pf_taken",
    zapStat: "sptes_zapped",
    note: "modelled TDP MMU, slots with 2 MiB host pages (the emulator's default)",
  },
  {
    key: "emu 4K",
    backend: "emu",
    hugepage: 4096n,
    stats: ["pf_taken", "sptes_zapped", "remote_tlb_flush", "exits", "instructions"],
    faultStat: "pf_taken",
    zapStat: "sptes_zapped",
    note: "modelled TDP MMU, slots with 4 KiB host pages (every refault is per 4 KiB page)",
  },
];

interface BootSample {
  totalMs: number;
  bootMs: number;
  stats: Record<string, number>;
}

async function boot(setup: Setup, policy: ZapPolicy): Promise<BootSample> {
  const t0 = performance.now();
  const hp = setup.hugepage !== undefined ? { hugepage: setup.hugepage } : {};
  const vm: Vm = createVm({
    name: "bench-boot",
    backend: setup.backend,
    caps: [["memslot_zap_control", policy]],
    memslots: [
      { name: "ram", gpa: 1n * G, size: 128n * M, ...hp },
      { name: "rom", gpa: ROM_GPA, size: 64n << 10n, flags: ["readonly"], ...hp },
    ],
    guest: {
      kind: "payload",
      name: "boot_sim",
      params: { ram: "ram", rom: "rom", remaps: REMAPS, touch: 64n * M },
    },
  });
  try {
    let remaps = 0;
    const t1 = performance.now();
    const exit = await vm.run({
      until: { kind: "done" },
      watchdogMs: 120_000,
      handledSyncLabels: new Set(["remap"]),
      onExit: () => {
        remaps++;
        vm.moveMemslot("rom", ROM_AWAY);
        vm.moveMemslot("rom", ROM_GPA);
      },
    });
    const t2 = performance.now();
    if (exit.reason !== "done" || remaps !== Number(REMAPS)) {
      throw new Error(
        `boot_sim on ${setup.key} (${policy}) ended with ${exit.reason} after ${remaps} remaps`,
      );
    }
    const stats: Record<string, number> = {};
    for (const s of setup.stats) stats[s] = Number(vm.stat(s));
    return { totalMs: t2 - t0, bootMs: t2 - t1, stats };
  } finally {
    vm.close();
  }
}

interface BootResult {
  setup: string;
  policy: ZapPolicy;
  bootMs: number;
  totalMs: number;
  stats: Record<string, number>;
  rounds: BootSample[];
}

interface BootRatios {
  setup: string;
  /** zap_only/zap_all boot time, median of per-round ratios. */
  time: number;
  /** The same for the setup's fault counter and zap counter. */
  faults: number;
  faultStat: string;
  zapped: number;
  zapStat: string;
}

async function partB(
  rounds: number,
  kvm: boolean,
): Promise<{ results: BootResult[]; ratios: BootRatios[] }> {
  const setups = SETUPS.filter((s) => kvm || s.backend !== "kvm");
  for (const s of setups) for (const p of ZAPS) await boot(s, p); // warm-up
  const samples = new Map<string, BootSample[]>();
  for (const s of setups) for (const p of ZAPS) samples.set(`${s.key}/${p}`, []);
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? ZAPS : [...ZAPS].reverse();
    for (const s of setups) {
      for (const p of order) samples.get(`${s.key}/${p}`)!.push(await boot(s, p));
    }
  }
  const results: BootResult[] = [];
  const ratios: BootRatios[] = [];
  for (const s of setups) {
    for (const p of ZAPS) {
      const xs = samples.get(`${s.key}/${p}`)!;
      const stats: Record<string, number> = {};
      for (const n of s.stats) stats[n] = median(xs.map((x) => x.stats[n]));
      results.push({
        setup: s.key,
        policy: p,
        bootMs: median(xs.map((x) => x.bootMs)),
        totalMs: median(xs.map((x) => x.totalMs)),
        stats,
        rounds: xs,
      });
    }
    const all = samples.get(`${s.key}/zap_all`)!;
    const only = samples.get(`${s.key}/zap_only_memslot`)!;
    const stat = (xs: BootSample[], n: string) => xs.map((x) => x.stats[n]);
    ratios.push({
      setup: s.key,
      time: medianRatio(only.map((x) => x.bootMs), all.map((x) => x.bootMs)),
      faults: medianRatio(stat(only, s.faultStat), stat(all, s.faultStat)),
      faultStat: s.faultStat,
      zapped: medianRatio(stat(only, s.zapStat), stat(all, s.zapStat)),
      zapStat: s.zapStat,
    });
  }
  return { results, ratios };
}

function pct(ratio: number): string {
  if (!Number.isFinite(ratio)) return "n/a";
  const d = (ratio - 1) * 100;
  return `${ratio.toFixed(3)} (${d >= 0 ? "+" : ""}${d.toFixed(1)}%)`;
}

function printB(b: { results: BootResult[]; ratios: BootRatios[] }, rounds: number): void {
  console.log(
    `\n(b) proposal 2, memslot_zap_control: boot_sim, 128 MiB RAM (64 MiB written per round), ` +
      `64 KiB readonly ROM moved away and back at each of ${REMAPS} remaps; ${rounds} rounds, ` +
      `policy order alternating (medians; boot = run to done, total = + VM creation)`,
  );
  for (const s of SETUPS) {
    const rs = b.results.filter((r) => r.setup === s.key);
    if (rs.length === 0) continue;
    console.log(`  ${s.key} (${s.note}):`);
    const rows = rs.map((r) => [
      r.policy,
      r.bootMs.toFixed(1),
      r.totalMs.toFixed(1),
      ...s.stats.map((n) => fmt(r.stats[n])),
    ]);
    for (const line of table(["policy", "boot ms", "total ms", ...s.stats], rows)) {
      console.log(`  ${line}`);
    }
  }
  console.log(
    "\n  zap_only_memslot / zap_all (median of per-round ratios) beside the proposal's claims:",
  );
  const rows: string[][] = [];
  for (const r of b.ratios) {
    rows.push([`${r.setup}: boot time`, pct(r.time), "0.75 (-25%) on a 32 GB VM"]);
    rows.push([
      `${r.setup}: ${r.faultStat}`,
      pct(r.faults),
      r.faultStat === "pf_taken"
        ? "0.86 / 0.93 (-14% / -7%) EPT violations on 6 GB; 0.50 (-50%) on 32 GB"
        : "(no claim: shadow pages allocated; EPT violations not countable here)",
    ]);
    rows.push([`${r.setup}: ${r.zapStat}`, pct(r.zapped), "(no claim)"]);
  }
  for (const line of table(["measure", "ratio", "claim"], rows)) console.log(`  ${line}`);
  console.log(
    [
      "  What cannot be reproduced here, and why:",
      "  - The claims are for 6 GB and 32 GB guests booting real firmware (OVMF/SeaBIOS BAR sizing),",
      "    with EPT (TDP). This VM has 128 MiB and a synthetic boot whose re-touched RAM per remap is",
      "    fixed (64 MiB x 16 rounds), so the size of the gain depends on that ratio, not the VM size.",
      "  - kvm: this host is kvm_pvm with shadow paging, not EPT; it does not maintain pf_taken",
      "    (reads 0), so EPT violations cannot be counted on kvm at all. Its own counters are shown:",
      "    mmu_shadow_zapped (shadow pages zapped), mmu_cache_miss (shadow pages allocated, i.e. the",
      "    page-table rebuilding after a zap) and exits. zap_only_memslot is the mainline quirk",
      "    slot_zap_all disabled; whether kvm_pvm honours it is measured, not assumed. Boot time on",
      "    kvm is dominated by kvm_pvm emulating the guest's instructions after each userspace exit",
      "    (insn_emulation, about 1 us each), which no zap policy changes.",
      "  - emu: EPT violations (pf_taken) are the modelled TDP MMU's, so the fault ratio is the",
      "    model's answer for this workload, not a measurement of KVM. Its boot time moves much less",
      "    than its faults: every guest store lands on a new 4 KiB page, so the time is mostly TLB",
      "    refills and the first round's host commit of 64 MiB, common to both policies (with the ROM",
      "    left in place at every remap, the same boot took 50-75% as long in a probe).",
    ].join("\n"),
  );
}

// ------------------------------------------------------------------------

async function main(): Promise<void> {
  const rounds = Number(argValue("--rounds") ?? 9);
  const slotRounds = Number(argValue("--slot-rounds") ?? 5);
  const only = argValue("--only")?.split(",");
  const json = argValue("--json");
  const probe = kvmBackend.available();
  if (!probe.ok) console.log(`kvm parts skipped: ${probe.reason}`);
  const out: Record<string, unknown> = { bench: "proposals", kvm: probe.ok ? "ok" : probe.reason };
  if (!only || only.includes("a")) {
    const a = partA(slotRounds, probe.ok);
    printA(a, slotRounds);
    out.writeTracking = { rounds: slotRounds, claimTrackBytes: CLAIM_TRACK_BYTES, ...a };
  }
  if (!only || only.includes("b")) {
    const b = await partB(rounds, probe.ok);
    printB(b, rounds);
    out.zapControl = {
      rounds,
      remaps: Number(REMAPS),
      claims: { eptViolations6gb: [0.86, 0.93], eptViolations32gb: 0.5, bootTime32gb: 0.75 },
      ...b,
    };
  }
  if (json) await Deno.writeTextFile(json, JSON.stringify(out, null, 2) + "\n");
}

if (import.meta.main) await main();
