/**
 * Parity of the two backends on every built-in payload and on a `guest file`
 * flat binary: the same configuration runs on the emulator and on real KVM,
 * and per-vCPU exit sequences, ucall values, dirty bitmaps at each step,
 * hashes of every slot's bytes (system region included) and the comparable counters
 * (`COMPARED_STATS`: `ucalls`, `dirty_pages`, `write_track_bytes`, `mmio_exits`, `halt_exits`) must
 * be identical. Memslot errno rules and slot ids are compared too (the differences this found
 * are fixed: docs/backends.md, "Parity bugs found and fixed").
 *
 * The emulator runs twice: with the MMU this host's KVM uses (shadow on
 * kvm_pvm), which is the run compared in full, and with its default TDP
 * MMU, compared in everything but counters (`write_track_bytes` follows the
 * MMU's tracking policy). Known, documented differences (docs/backends.md):
 * `exits`, `io_exits` and `pf_*` are not compared; emu `pf_taken` > 0 is
 * asserted, and kvm `pf_taken` == 0 on kvm_pvm, which does not maintain it.
 */
import { TEST_WATCHDOG_MS } from "../support/wait.ts";
import { assert, assertEquals, assertGreater } from "@std/assert";
import { Assembler } from "../../guest/assembler.ts";
import { imm, mem, qword, R } from "../../guest/operands.ts";
import { UCALL_LABEL_OFFSET, UCALL_PORT, UCALL_VALUE_OFFSET, UcallCmd } from "../../guest/ucall.ts";
import { touchedPages } from "../../guest/payloads/mod.ts";
import { hostMmu } from "../../vmm/kvm/host.ts";
import { bitsSet } from "../../vmm/memory/bitmap.ts";
import { KVM } from "../support/kvm_probe.ts";
import { createVm, type MmuMode, type Vm } from "../../vmm/mod.ts";
import {
  bitmapRanges,
  COMPARED_STATS,
  exitKey,
  NO_KVM,
  runDefault,
  runScenario,
  type Scenario,
  type Trace,
} from "../support/parity.ts";
import { payload } from "../support/payload.ts";

const MIB = 1n << 20n;
const KIB4 = 4096n;
/** The MMU the kvm half runs with (emu is run with it too, for the full comparison). */
const HOST_MMU: MmuMode = KVM.ok ? hostMmu().mode : "shadow";
const KVM_PVM = KVM.ok && hostMmu().source.startsWith("kvm_pvm");

/** Compares two traces field by field, naming the scenario and the two runs. */
function assertSame(name: string, a: Trace, aName: string, b: Trace, bName: string, stats = true) {
  const what = `${name}: ${bName} vs ${aName}`;
  assertEquals(b.exits, a.exits, `${what}: per-vCPU exit sequences`);
  assertEquals(b.final, a.final, `${what}: final exit`);
  assertEquals(b.values, a.values, `${what}: recorded values`);
  assertEquals(b.dirty, a.dirty, `${what}: dirty bitmaps per step`);
  assertEquals(b.hashes, a.hashes, `${what}: slot hashes`);
  if (!stats) return;
  for (const s of COMPARED_STATS) assertEquals(b.stats[s], a.stats[s], `${what}: stat ${s}`);
}

/**
 * Runs a scenario on emu (host MMU and TDP) and kvm and compares; `check`
 * pins the emulator's own trace to the payload's documented behaviour.
 */
function parity(s: Scenario, check: (t: Trace) => void, opts: { touches?: boolean } = {}) {
  Deno.test(`parity: ${s.name}`, async (t) => {
    const emu = await runScenario("emu", { ...s, vm: { ...s.vm, mmu: HOST_MMU } });
    check(emu);
    if (opts.touches !== false) {
      assertGreater(emu.stats.pf_taken ?? 0n, 0n, "emu counts its modelled faults");
    }
    const other: MmuMode = HOST_MMU === "shadow" ? "tdp" : "shadow";
    const emu2 = await runScenario("emu", { ...s, vm: { ...s.vm, mmu: other } });
    assertSame(s.name, emu, `emu/${HOST_MMU}`, emu2, `emu/${other}`, false);
    await t.step({
      name: "kvm",
      ignore: NO_KVM,
      fn: async () => {
        const kvm = await runScenario("kvm", s);
        assertSame(s.name, emu, `emu/${HOST_MMU}`, kvm, "kvm");
        // `exits` counts different things (see docs/backends.md); both saw some.
        assertGreater(kvm.stats.exits ?? 0n, 0n);
        // kvm_pvm maintains no pf_taken (docs/backends.md, "This host").
        if (KVM_PVM) assertEquals(kvm.stats.pf_taken, 0n, "kvm_pvm: pf_taken stays 0");
      },
    });
  });
}

const ram = (size: bigint, dirty = true) => ({
  name: "ram",
  gpa: MIB,
  size,
  flags: dirty ? ["dirty_log" as const] : [],
});
const MANUAL: ["manual_dirty_log_protect", string][] = [["manual_dirty_log_protect", "on"]];

// ---------------------------------------------------------------- write_sweep, read_sweep

parity({
  name: "write_sweep: 2 passes over 8 MiB, log fetched and cleared per pass",
  vm: {
    caps: MANUAL,
    memslots: [ram(8n * MIB)],
    guest: payload("write_sweep", { slot: "ram", passes: 2n }),
  },
  dirtyEachSync: true,
}, (t) => {
  assertEquals(t.exits, [["sync pass 1", "sync pass 2", "done"]]);
  assertEquals(t.dirty, [
    "sync pass 1 (vcpu 0): ram: 0-2047",
    "sync pass 2 (vcpu 0): ram: 0-2047",
    "final: ram: none",
  ]);
  assertEquals(t.stats.ucalls, 3n);
  assertEquals(t.stats.dirty_pages, 4096n);
});

parity({
  name: "write_sweep: offset 4K, size 2M, stride 8K, value 0x1234, no dirty log",
  vm: {
    memslots: [ram(4n * MIB, false)],
    guest: payload("write_sweep", {
      slot: "ram",
      offset: KIB4,
      size: 2n * MIB,
      stride: 2n * KIB4,
      value: 0x1234n,
    }),
  },
  onSync: (vm, _e, rec) => {
    rec.trace.values.push(`word@4K=${vm.readSlot("ram", KIB4)} word@0=${vm.readSlot("ram", 0n)}`);
  },
}, (t) => {
  assertEquals(t.exits, [["sync pass 1", "done"]]);
  assertEquals(t.values, ["word@4K=4660 word@0=0"]);
});

const SEEDED = 64;
parity({
  name: "read_sweep: sum of host-written words; read faults in a logging slot",
  vm: {
    caps: MANUAL,
    memslots: [ram(4n * MIB)],
    guest: payload("read_sweep", { slot: "ram", passes: 2n }),
  },
  drive: async (vm, rec) => {
    for (let i = 0; i < SEEDED; i++) {
      vm.writeSlot("ram", BigInt(i) * 3n * KIB4, BigInt(i) * 0x1111n);
    }
    // Host writes are not dirty-logged on either backend.
    rec.dirty("after host writes", true);
    await runDefault(vm, rec, { dirtyEachSync: true });
  },
}, (t) => {
  const sum = BigInt((SEEDED * (SEEDED - 1)) / 2) * 0x1111n;
  assertEquals(t.exits, [[`sync sum ${sum}`, `sync sum ${sum}`, "done"]]);
  assertEquals(t.dirty[0], "after host writes: ram: none");
  // A read-only sweep dirties nothing.
  assert(t.dirty.slice(1).every((d) => d.endsWith(": none")), t.dirty.join("\n"));
});

// ---------------------------------------------------------------- touch

for (const pattern of ["seq", "random"] as const) {
  for (const write of ["on", "off"] as const) {
    const count = 600n;
    parity({
      name: `touch: ${pattern}, write ${write}, 600 of 2048 pages`,
      vm: {
        caps: MANUAL,
        memslots: [ram(8n * MIB)],
        guest: payload("touch", { slot: "ram", count, pattern, seed: 7n, write }),
      },
    }, (t) => {
      assertEquals(t.exits, [["done"]]);
      const pages = touchedPages({ gpa: MIB, size: 8n * MIB }, { count, pattern, seed: 7n });
      const bm = new Uint8Array(256);
      for (const p of pages) {
        bm[Number((p - MIB) / KIB4) >> 3] |= 1 << Number(((p - MIB) / KIB4) & 7n);
      }
      assertEquals(t.dirty, [`final: ram: ${write === "off" ? "none" : bitmapRanges(bm)}`]);
    });
  }
}

// ---------------------------------------------------------------- boot_sim

for (const policy of ["zap_all", "zap_only_memslot"] as const) {
  parity({
    name: `boot_sim: ROM moved away and back at each remap (${policy})`,
    vm: {
      caps: [...MANUAL, ["memslot_zap_control", policy]],
      memslots: [
        ram(16n * MIB),
        { name: "rom", gpa: 0xc0000000n, size: 64n * 1024n, flags: ["readonly"] },
      ],
      guest: payload("boot_sim", { ram: "ram", rom: "rom", remaps: 4n, touch: 4n * MIB }),
    },
    dirtyEachSync: true,
    onSync: (vm, e, rec) => {
      if (e.label !== "remap") return;
      vm.moveMemslot("rom", 0xd0000000n);
      rec.trace.values.push(`moved ${vm.memslots().map((m) => `${m.name}@${m.gpa}`).join(" ")}`);
      vm.moveMemslot("rom", 0xc0000000n);
    },
  }, (t) => {
    assertEquals(t.exits, [[
      "sync remap 1",
      "sync remap 2",
      "sync remap 3",
      "sync remap 4",
      "done",
    ]]);
    assertEquals(t.dirty.length, 5);
    assertEquals(t.dirty[0], "sync remap 1 (vcpu 0): ram: 0-1023");
    assertEquals(t.values.length, 4);
  });
}

// ---------------------------------------------------------------- dirty_writer (2 vCPUs)

const ITER = 3;
parity({
  name: "dirty_writer: 2 vCPUs run one at a time, log fetched and cleared per iteration",
  vm: {
    vcpus: 2,
    caps: MANUAL,
    memslots: [ram(4n * MIB)],
    guest: payload("dirty_writer", { slot: "ram", iterations: BigInt(ITER) }),
  },
  drive: async (vm, rec) => {
    for (let i = 1; i <= ITER; i++) {
      for (let k = 0; k < 2; k++) {
        const e = await vm.run({
          vcpu: k,
          until: { kind: "sync", label: "iter" },
          timeoutMs: TEST_WATCHDOG_MS,
        });
        rec.exit(e);
        rec.dirty(`iter ${i} vcpu ${k}`, true);
      }
    }
    for (let k = 0; k < 2; k++) {
      const e = await vm.run({ vcpu: k, until: { kind: "done" }, timeoutMs: TEST_WATCHDOG_MS });
      rec.exit(e);
    }
    rec.trace.final = "done";
  },
}, (t) => {
  assertEquals(t.exits[0], ["sync iter 1", "sync iter 2", "sync iter 3", "done"]);
  assertEquals(t.exits[1], t.exits[0]);
  assertEquals(t.dirty[0], "iter 1 vcpu 0: ram: 0-511");
  assertEquals(t.dirty[1], "iter 1 vcpu 1: ram: 512-1023");
});

parity({
  name: "dirty_writer: 2 vCPUs concurrently, every iter handled, one final log",
  vm: {
    vcpus: 2,
    caps: MANUAL,
    memslots: [ram(4n * MIB)],
    guest: payload("dirty_writer", { slot: "ram", iterations: BigInt(ITER), stride: 2n * KIB4 }),
  },
}, (t) => {
  assertEquals(t.exits[0], ["sync iter 1", "sync iter 2", "sync iter 3"]);
  assertEquals(t.exits[1].slice(0, 3), t.exits[0]);
  assertEquals(t.final, "done");
  const bm = t.dirty[0];
  assert(bm.startsWith("final: ram: 0,2,4,"), bm);
});

// ---------------------------------------------------------------- pt_write

parity({
  name: "pt_write: 16 writes to the guest's own page tables",
  vm: {
    caps: MANUAL,
    memslots: [ram(4n * MIB)],
    guest: payload("pt_write", { count: 16n }),
  },
}, (t) => {
  assertEquals(t.exits, [["done"]]);
});

// ---------------------------------------------------------------- gpu_fill

// The last one also programs a variable MTRR over the region: real KVM accepts
// the wrmsr (it keeps guest MTRRs per vCPU), the emulator models them.
for (const [pat, mtrr] of [["wc", "off"], ["uc", "off"], ["wb", "off"], ["wb", "uc"]] as const) {
  parity({
    name: `gpu_fill: pat ${pat}${
      mtrr === "off" ? "" : `, MTRR ${mtrr}`
    } over a device shm slot (gpu.shm, 4 MiB)`,
    vm: {
      caps: MANUAL,
      memslots: [
        ram(2n * MIB),
        { name: "gpu.shm", gpa: 0xe0000000n, size: 4n * MIB, flags: ["dirty_log"] },
      ],
      guest: payload("gpu_fill", { slot: "gpu.shm", pat, mtrr, size: 3n * MIB }),
    },
  }, (t) => {
    assertEquals(t.exits, [["done"]]);
    assertEquals(t.dirty, ["final: ram: none", "final: gpu.shm: 0-767"]);
  });
}

// ---------------------------------------------------------------- spin

parity({
  name: "spin: stopped by timeoutMs with a timeout exit",
  vm: { guest: payload("spin") },
  timeoutMs: 150,
}, (t) => {
  assertEquals(t.exits, [["timeout"]]);
  assertEquals(t.stats.ucalls, 0n);
}, { touches: false });

// ---------------------------------------------------------------- guest file

/**
 * A flat long-mode binary: writes i*3 to word 0 of pages 0..31 of `ram`
 * (above the binary), sums them back, `sync "file" sum`, then `done`.
 */
function flatBinary(load: bigint, data: bigint): Uint8Array {
  const a = new Assembler();
  const loop = a.newLabel("w");
  const sum = a.newLabel("s");
  const halt = a.newLabel("h");
  a.mov(R.rbx, imm(data));
  a.xor(R.ecx, R.ecx);
  a.label(loop);
  a.mov(R.rax, R.rcx);
  a.imul(R.rax, R.rax, imm(3n));
  a.mov(mem({ base: R.rbx }), R.rax);
  a.add(R.rbx, imm(KIB4));
  a.inc(R.rcx);
  a.cmp(R.rcx, imm(32n));
  a.jcc("ne", loop);
  a.mov(R.rbx, imm(data));
  a.xor(R.ecx, R.ecx);
  a.xor(R.esi, R.esi);
  a.label(sum);
  a.add(R.rsi, mem({ base: R.rbx }));
  a.add(R.rbx, imm(KIB4));
  a.inc(R.rcx);
  a.cmp(R.rcx, imm(32n));
  a.jcc("ne", sum);
  const label = a.cstring("file");
  a.mov(mem({ base: R.r15, disp: UCALL_VALUE_OFFSET }), R.rsi);
  a.lea(R.rax, mem({ label }));
  a.mov(mem({ base: R.r15, disp: UCALL_LABEL_OFFSET }), R.rax);
  a.mov(qword({ base: R.r15 }), imm(BigInt(UcallCmd.SYNC)));
  a.mov(R.eax, imm(BigInt(UcallCmd.SYNC)));
  a.mov(R.edx, imm(BigInt(UCALL_PORT)));
  a.out_dx_eax();
  a.mov(qword({ base: R.r15, disp: UCALL_VALUE_OFFSET }), imm(0n));
  a.mov(qword({ base: R.r15, disp: UCALL_LABEL_OFFSET }), imm(0n));
  a.mov(qword({ base: R.r15 }), imm(BigInt(UcallCmd.DONE)));
  a.mov(R.eax, imm(BigInt(UcallCmd.DONE)));
  a.out_dx_eax();
  a.label(halt);
  a.hlt();
  a.jmp(halt);
  return a.assemble(load).bytes;
}

const FILE_LOAD = MIB;
parity({
  name: "guest file: an assembled flat binary writes, sums and reports",
  vm: {
    caps: MANUAL,
    memslots: [ram(4n * MIB)],
    guest: {
      kind: "file",
      bytes: flatBinary(FILE_LOAD, 2n * MIB),
      load: FILE_LOAD,
      entry: FILE_LOAD,
      mode: "long",
    },
  },
  dirtyEachSync: true,
}, (t) => {
  assertEquals(t.exits, [[`sync file ${3n * (31n * 32n / 2n)}`, "done"]]);
  assertEquals(t.dirty, ["sync file 1488 (vcpu 0): ram: 256-287", "final: ram: none"]);
});

Deno.test("parity helpers: bitmap ranges and counts", () => {
  const bm = new Uint8Array([0b1011, 0, 0x80]);
  assertEquals(bitmapRanges(bm), "0-1,3,23");
  assertEquals(bitsSet(bm), 4);
  assertEquals(bitmapRanges(new Uint8Array(4)), "none");
});

// ---------------------------------------------------------------- MMIO and readonly exits

/**
 * A flat binary that writes and reads a GPA whose slot was deleted after the
 * page tables were built (MMIO exits), writes the readonly `rom` (an MMIO
 * exit, the write dropped) and reads it, reports both reads, then `hlt`s.
 */
function mmioBinary(load: bigint): Uint8Array {
  const a = new Assembler();
  a.mov(R.rbx, imm(HOLE));
  a.mov(R.rax, imm(0x1122334455667788n));
  a.mov(mem({ base: R.rbx }), R.rax);
  a.mov(R.rcx, mem({ base: R.rbx, disp: 8 }));
  a.mov(R.rbx, imm(ROM));
  a.mov(mem({ base: R.rbx, disp: 16 }), R.eax);
  a.mov(R.rsi, mem({ base: R.rbx, disp: 16 }));
  a.add(R.rsi, R.rcx);
  const label = a.cstring("file");
  a.mov(mem({ base: R.r15, disp: UCALL_VALUE_OFFSET }), R.rsi);
  a.lea(R.rax, mem({ label }));
  a.mov(mem({ base: R.r15, disp: UCALL_LABEL_OFFSET }), R.rax);
  a.mov(qword({ base: R.r15 }), imm(BigInt(UcallCmd.SYNC)));
  a.mov(R.eax, imm(BigInt(UcallCmd.SYNC)));
  a.mov(R.edx, imm(BigInt(UCALL_PORT)));
  a.out_dx_eax();
  a.hlt();
  return a.assemble(load).bytes;
}
const HOLE = 0x40000000n;
const ROM = 0xc0000000n;

parity({
  name: "guest file: MMIO exits on a deleted slot and on a readonly slot, then hlt",
  vm: {
    memslots: [
      ram(2n * MIB, false),
      { name: "hole", gpa: HOLE, size: 2n * MIB },
      { name: "rom", gpa: ROM, size: 64n * 1024n, flags: ["readonly"] },
    ],
    guest: { kind: "file", bytes: mmioBinary(MIB), load: MIB, entry: MIB, mode: "long" },
  },
  drive: async (vm, rec) => {
    vm.writeSlot("rom", 16n, 0x77n);
    vm.deleteMemslot("hole");
    for (let i = 0; i < 8; i++) {
      const e = await vm.run({ until: { kind: "exit" }, timeoutMs: TEST_WATCHDOG_MS });
      rec.exit(e);
      rec.trace.final = exitKey(e);
      if (e.reason !== "mmio" && e.reason !== "sync") break;
    }
  },
}, (t) => {
  assertEquals(t.exits, [[
    "mmio 0x40000000 8 w 1234605616436508552",
    "mmio 0x40000008 8 r 0",
    "mmio 0xc0000010 4 w 1432778632",
    "sync file 119",
    "hlt",
  ]]);
  assertEquals(t.stats.mmio_exits, 3n);
  assertEquals(t.stats.halt_exits, 1n);
});

// ---------------------------------------------------------------- more memslot steps

parity({
  name: "write_sweep: dirty_log without manual protect, enabled and disabled mid-run",
  vm: {
    memslots: [ram(4n * MIB, false)],
    guest: payload("write_sweep", { slot: "ram", passes: 4n }),
  },
  onSync: (vm, e, rec) => {
    if (e.value === 1n) vm.setMemslotFlags("ram", ["dirty_log"], []);
    if (e.value === 2n || e.value === 3n) rec.dirty(`pass ${e.value}`, false);
    if (e.value === 3n) vm.setMemslotFlags("ram", [], ["dirty_log"]);
  },
}, (t) => {
  assertEquals(t.exits, [["sync pass 1", "sync pass 2", "sync pass 3", "sync pass 4", "done"]]);
  // Without manual protect GET_DIRTY_LOG also clears: pass 3 is a fresh log.
  assertEquals(t.dirty, ["pass 2: ram: 0-1023", "pass 3: ram: 0-1023"]);
  assertEquals(t.stats.dirty_pages, 2048n);
});

parity({
  name: "boot_sim: ROM deleted and re-created at each remap",
  vm: {
    memslots: [
      ram(8n * MIB),
      { name: "rom", gpa: ROM, size: 64n * 1024n, flags: ["readonly"] },
    ],
    guest: payload("boot_sim", { ram: "ram", rom: "rom", remaps: 3n, touch: 2n * MIB }),
  },
  dirtyEachSync: true,
  onSync: (vm, e, rec) => {
    vm.deleteMemslot("rom");
    vm.addMemslot({ name: "rom", gpa: ROM, size: 64n * 1024n, flags: ["readonly"] });
    vm.writeSlot("rom", 8n, e.value);
    rec.trace.values.push(`rom word ${vm.readSlot("rom", 8n)}`);
  },
}, (t) => {
  assertEquals(t.exits, [["sync remap 1", "sync remap 2", "sync remap 3", "done"]]);
  assertEquals(t.dirty[0], "sync remap 1 (vcpu 0): ram: 0-511");
});

parity({
  name: "spin: 2 vCPUs stopped by timeoutMs",
  vm: { vcpus: 2, guest: payload("spin") },
  timeoutMs: 150,
}, (t) => {
  assertEquals(t.exits, [[], []]);
  assertEquals(t.final, "timeout");
}, { touches: false });

// ---------------------------------------------------------------- slot ids

// Found by this suite and fixed: the kvm backend gives a new slot the lowest free
// id >= 1 (vmm/kvm/README.md, "Memslots"), as QEMU does; the emulator never
// reuses a deleted slot's id, so `memslots()` differs after a delete.
Deno.test("parity: memslot ids are reused after a delete", async (t) => {
  const ids = (backend: "emu" | "kvm") => {
    using vm = createVm({
      backend,
      memslots: [ram(2n * MIB, false), { name: "a", gpa: ROM, size: MIB }],
    });
    vm.deleteMemslot("a");
    const b = vm.addMemslot({ name: "b", gpa: ROM, size: MIB });
    return vm.memslots().map((m) => `${m.name}=${m.id}`).concat(`new=${b.id}`);
  };
  const emu = ids("emu");
  await t.step({ name: "kvm", ignore: NO_KVM, fn: () => assertEquals(ids("kvm"), emu) });
});

// ---------------------------------------------------------------- errno parity

/**
 * Failing memslot operations must fail the same way on both backends: the
 * same errno (an `ErrnoError`), so `expect error ERRNO { … }` in a script
 * holds on both. Outcome: the errno name, `ok`, or the error class when it
 * carries no errno. Each group is one test.
 */
const ERRNO_GROUPS: [string, [string, (vm: Vm) => unknown][]][] = [
  ["memslot errno rules of KVM_SET_USER_MEMORY_REGION and GET_DIRTY_LOG", [
    ["overlap a user slot", (vm) => vm.addMemslot({ name: "x", gpa: 2n * MIB, size: MIB })],
    ["misaligned size", (vm) => vm.addMemslot({ name: "y", gpa: 0x8000_1000n, size: 0x800n })],
    ["misaligned gpa", (vm) => vm.addMemslot({ name: "z", gpa: 0x8000_0800n, size: 0x1000n })],
    ["move onto a user slot", (vm) => vm.moveMemslot("rom", 3n * MIB)],
    ["clear readonly", (vm) => vm.setMemslotFlags("rom", [], ["readonly"])],
    ["dirty log of a slot not logging", (vm) => vm.getDirtyLog("ram", false)],
    ["move to a free gpa", (vm) => vm.moveMemslot("rom", 0xd000_0000n)],
  ]],
  // Found by this suite and fixed (kvm backend): these are refused by name/range checks before any
  // ioctl with a VmmError that carries no errno; the emulator (and KVM for
  // slot 0) answers EEXIST/EINVAL, so `expect error EEXIST { memslot s gpa
  // 0x80000 size 4K }` passes on emu and exits 3 on kvm.
  ["name and system-region refusals carry an errno", [
    [
      "overlap the system region",
      (vm) => vm.addMemslot({ name: "s", gpa: 0x80000n, size: 0x1000n }),
    ],
    ["duplicate name", (vm) => vm.addMemslot({ name: "ram", gpa: 0x9000_0000n, size: 0x1000n })],
    ["delete an unknown slot", (vm) => vm.deleteMemslot("nope")],
    ["move an unknown slot", (vm) => vm.moveMemslot("nope", 0x9000_0000n)],
    ["flags of an unknown slot", (vm) => vm.setMemslotFlags("nope", ["dirty_log"], [])],
    ["delete the system region", (vm) => vm.deleteMemslot("system")],
  ]],
  // Found by this suite and fixed (kvm backend): `hugepage` must be 4K, 2M or 1G (types.ts); kvm accepts 12345.
  ["an invalid hugepage size is EINVAL", [
    [
      "hugepage 12345",
      (vm) => vm.addMemslot({ name: "h", gpa: 0x9000_0000n, size: 0x1000n, hugepage: 12345n }),
    ],
  ]],
  // Found by this suite and fixed (emulator): kvm_mmu_max_gfn() allows 52-bit GPAs under shadow paging
  // (real KVM here accepts the slot); the emulator refuses >= 2^48 under any MMU.
  ["a slot at 2^48 under shadow paging is accepted", [
    ["gpa 2^48", (vm) => vm.addMemslot({ name: "v", gpa: 1n << 48n, size: 0x1000n })],
  ]],
];

function errnoOutcomes(backend: "emu" | "kvm", cases: [string, (vm: Vm) => unknown][]): string[] {
  return cases.map(([what, f]) => {
    using vm = createVm({
      backend,
      mmu: HOST_MMU,
      memslots: [ram(4n * MIB, false), {
        name: "rom",
        gpa: ROM,
        size: 64n * 1024n,
        flags: ["readonly"],
      }],
    });
    try {
      f(vm);
      return `${what}: ok`;
    } catch (e) {
      const errno = (e as { errno?: string }).errno;
      return `${what}: ${errno ?? `${(e as Error).constructor.name} (no errno)`}`;
    }
  });
}

for (const [group, cases] of ERRNO_GROUPS) {
  Deno.test(`parity errno: ${group}`, async (t) => {
    const emu = errnoOutcomes("emu", cases);
    await t.step({
      name: "kvm",
      ignore: NO_KVM,
      fn: () => assertEquals(errnoOutcomes("kvm", cases), emu, `kvm vs emu/${HOST_MMU}`),
    });
  });
}
