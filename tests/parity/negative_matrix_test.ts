/**
 * The negative matrix: every memslot, host-access, populate, uffd, cap and
 * vCPU refusal, run on both backends, each asserting the errno KVM's own
 * source gives (the rule is cited beside each case; `virt/kvm/kvm_main.c`
 * unless named otherwise, as in Linux 6.12, whose `set_memory_region_test`
 * in /work/shared/peers/ exercises the same rules). Both backends take these
 * rules from `vmm/memory/slot_rules.ts`, so they agree by construction; this
 * file checks that the construction says what the kernel says, and that the
 * real kernel agrees. The kvm half is skipped only where /dev/kvm cannot
 * open.
 *
 * Outcome of a case: `ok`, the errno name of an `ErrnoError`, or the error
 * class when the refusal is the VMM's own and carries no errno.
 *
 * @module
 */
import { assertEquals } from "@std/assert";
import { skipKvm } from "../support/kvm_probe.ts";
import { emuBackend } from "../../vmm/emu/mod.ts";
import { hostMmu } from "../../vmm/kvm/host.ts";
import { kvmBackend } from "../../vmm/kvm/mod.ts";
import { probeUserfaultfd } from "../../vmm/kvm/uffd.ts";
import { KVM_MAX_VCPUS } from "../../vmm/limits.ts";
import type { MemslotSpec, MmuMode, Vm, VmConfig } from "../../vmm/types.ts";

const NO_KVM = skipKvm("negative matrix");
const NO_UFFD = NO_KVM || skipKvm("negative matrix (uffd cases)", probeUserfaultfd);
/** The emulator runs with the MMU the host's KVM uses, so GPA-width rules match. */
const MMU: MmuMode = NO_KVM ? "shadow" : hostMmu().mode;

const K4 = 0x1000n;
const MIB = 1n << 20n;
const GIB = 1n << 30n;
const TIB = 1n << 40n;
const U64 = 1n << 64n;
/** The fixture: `ram` (4 MiB at 1 GiB), `rom` (64 KiB readonly at 2 GiB), `sys` 1 MiB at 0. */
const RAM = GIB;
const ROM = 2n * GIB;

type Backend = "emu" | "kvm";

interface Case {
  /** What is tried, and why it must fail (or not) the way it does. */
  name: string;
  /** `ok`, an errno name, or an error class name. */
  expect: string;
  /** The operation, on the fixture VM. */
  run: (vm: Vm) => unknown;
  /** Needs a working userfaultfd on kvm. */
  uffd?: boolean;
  /**
   * The kvm backend's outcome where it differs: a proposal's flag, which a
   * mainline kernel does not know (EINVAL from `check_memory_region_flags`),
   * is refused by the backend before any ioctl (`vmm/kvm/slots.ts`).
   */
  kvm?: string;
}

const slot = (name: string, gpa: bigint, size: bigint, extra: Partial<MemslotSpec> = {}) =>
(
  vm: Vm,
) => vm.addMemslot({ name, gpa, size, ...extra });

const CASES: Case[] = [
  // ------------------------------------------------- create: __kvm_set_memory_region
  // `if (!mem->memory_size) { if (!old || !old->npages) return -EINVAL; … }`: size 0 is a delete of a slot that does not exist.
  { name: "create with size 0", expect: "EINVAL", run: slot("z", 3n * GIB, 0n) },
  // `if ((mem->memory_size & (PAGE_SIZE - 1)) || …) return -EINVAL;`
  { name: "create with size 2K", expect: "EINVAL", run: slot("z", 3n * GIB, 0x800n) },
  // same rule: size not a multiple of 4 KiB
  { name: "create with size 4K + 1", expect: "EINVAL", run: slot("z", 3n * GIB, K4 + 1n) },
  // `if (mem->guest_phys_addr & (PAGE_SIZE - 1)) return -EINVAL;`
  { name: "create at a misaligned gpa", expect: "EINVAL", run: slot("z", 3n * GIB + 0x800n, K4) },
  // `if (mem->guest_phys_addr + mem->memory_size < mem->guest_phys_addr) return -EINVAL;`
  { name: "create wrapping past 2^64", expect: "EINVAL", run: slot("z", U64 - K4, 2n * K4) },
  // Size 2^64 - 4K at 4 GiB: wraps (and `!access_ok(userspace_addr, memory_size)`), EINVAL
  // before any mapping; mmap's ENOMEM must not leak out.
  {
    name: "create of size 2^64 - 4K at 4 GiB",
    expect: "EINVAL",
    run: slot("z", 4n * GIB, U64 - K4),
  },
  // Size 2^64 - 4K at gpa 0: no wrap, but `(mem->memory_size >> PAGE_SHIFT) > KVM_MEM_MAX_NR_PAGES`.
  { name: "create of size 2^64 - 4K at 0", expect: "EINVAL", run: slot("z", 0n, U64 - K4) },
  // `KVM_MEM_MAX_NR_PAGES` is `(1UL << 31) - 1`: an 8 TiB slot is one page too many.
  { name: "create an 8 TiB slot", expect: "EINVAL", run: slot("z", 16n * TIB, 8n * TIB) },
  // A u64 field cannot carry a negative gpa: what reaches the kernel is a wrap, EINVAL.
  { name: "create at a negative gpa", expect: "EINVAL", run: slot("z", -K4, K4) },
  // `check_memory_region_flags`: `if (mem->flags & ~valid_flags) return -EINVAL;`
  {
    name: "create with an unknown flag",
    expect: "EINVAL",
    run: (vm) =>
      vm.addMemslot({ name: "z", gpa: 3n * GIB, size: K4, flags: ["bogus" as "readonly"] }),
  },
  // `kvm_check_memslot_overlap(slots, id, base_gfn, base_gfn + npages)` → -EEXIST
  { name: "create overlapping a user slot", expect: "EEXIST", run: slot("z", RAM + MIB, 4n * MIB) },
  // same rule: a range that contains a slot whole
  { name: "create around a user slot", expect: "EEXIST", run: slot("z", RAM - MIB, 8n * MIB) },
  // same rule: slot 0 (the VMM's system region) is a slot like any other
  { name: "create over the system region", expect: "EEXIST", run: slot("z", 0x80000n, K4) },
  // Touching ranges do not overlap: [a, b) then [b, c).
  { name: "create right below a user slot", expect: "ok", run: slot("z", RAM - MIB, MIB) },
  // The VMM's names: a taken name is EEXIST (names are not the kernel's; KVM's
  // nearest rule is the id being in use, which a create never is).
  { name: "create with a taken name", expect: "EEXIST", run: slot("ram", 3n * GIB, K4) },
  // The system region's name is taken by slot 0.
  { name: "create a slot named system", expect: "EEXIST", run: slot("system", 3n * GIB, K4) },
  // `hugepage` must be a page size the host has (VMM rule, EINVAL as a bad argument).
  {
    name: "create with hugepage 12345",
    expect: "EINVAL",
    run: slot("z", 3n * GIB, K4, { hugepage: 12345n }),
  },
  // x86 `kvm_arch_prepare_memory_region`: `base_gfn + npages - 1 > kvm_mmu_max_gfn()` is EINVAL;
  // under shadow paging `max_gpa_bits` is 52, so 2^48 is fine…
  { name: "create at 2^48", expect: "ok", run: slot("z", 1n << 48n, K4) },
  // …and a range ending past 2^52 is not.
  { name: "create ending past 2^52", expect: "EINVAL", run: slot("z", (1n << 52n) - K4, 2n * K4) },
  // KVM_MR_DELETE frees the id; the VMM frees the name (dsl.md: a deleted slot's name may be reused).
  {
    name: "re-create a deleted slot's name",
    expect: "ok",
    run: (vm) => {
      vm.deleteMemslot("rom");
      vm.addMemslot({ name: "rom", gpa: 3n * GIB, size: K4 });
    },
  },
  // ------------------------------------------------- delete
  // `old = id_to_memslot(slots, id); if (!mem->memory_size) { if (!old …) return -EINVAL; }`
  { name: "delete an unknown slot", expect: "EINVAL", run: (vm) => vm.deleteMemslot("nope") },
  // The system region is the VMM's own: refused as a slot the script does not have.
  { name: "delete the system region", expect: "EINVAL", run: (vm) => vm.deleteMemslot("system") },
  // The second delete finds no slot: EINVAL as above.
  {
    name: "delete a slot twice",
    expect: "EINVAL",
    run: (vm) => {
      vm.deleteMemslot("ram");
      vm.deleteMemslot("ram");
    },
  },
  // ------------------------------------------------- move (KVM_MR_MOVE)
  // A move of a slot KVM does not have is a create in the kernel; the VMM has no slot to move: EINVAL.
  { name: "move an unknown slot", expect: "EINVAL", run: (vm) => vm.moveMemslot("nope", 3n * GIB) },
  // the system region is not the script's
  { name: "move the system region", expect: "EINVAL", run: (vm) => vm.moveMemslot("system", GIB) },
  // `(change == KVM_MR_CREATE || change == KVM_MR_MOVE) && kvm_check_memslot_overlap(…)` → -EEXIST
  { name: "move onto a user slot", expect: "EEXIST", run: (vm) => vm.moveMemslot("rom", RAM) },
  // same rule, slot 0
  { name: "move onto the system region", expect: "EEXIST", run: (vm) => vm.moveMemslot("rom", 0n) },
  // `guest_phys_addr & (PAGE_SIZE - 1)` → -EINVAL
  {
    name: "move to a misaligned gpa",
    expect: "EINVAL",
    run: (vm) => vm.moveMemslot("rom", 3n * GIB + 0x10n),
  },
  // `guest_phys_addr + memory_size < guest_phys_addr` → -EINVAL
  {
    name: "move wrapping past 2^64",
    expect: "EINVAL",
    run: (vm) => vm.moveMemslot("rom", U64 - K4),
  },
  // A move may overlap the slot's own old range (the overlap check skips the slot's id).
  { name: "move by one page", expect: "ok", run: (vm) => vm.moveMemslot("ram", RAM + K4) },
  // A plain move.
  { name: "move to a free gpa", expect: "ok", run: (vm) => vm.moveMemslot("rom", 3n * GIB) },
  // ------------------------------------------------- flags (KVM_MR_FLAGS_ONLY)
  // `(mem->flags ^ old->flags) & KVM_MEM_READONLY` → -EINVAL
  {
    name: "set readonly on a slot",
    expect: "EINVAL",
    run: (vm) => vm.setMemslotFlags("ram", ["readonly"], []),
  },
  // same rule, the other way
  {
    name: "clear readonly of a slot",
    expect: "EINVAL",
    run: (vm) => vm.setMemslotFlags("rom", [], ["readonly"]),
  },
  // `else if (mem->flags != old->flags) change = KVM_MR_FLAGS_ONLY;`: dirty logging may change.
  {
    name: "set dirty_log",
    expect: "ok",
    run: (vm) => vm.setMemslotFlags("ram", ["dirty_log"], []),
  },
  // `else /* Nothing to change. */ return 0;`
  {
    name: "clear dirty_log that is not set",
    expect: "ok",
    run: (vm) => vm.setMemslotFlags("ram", [], ["dirty_log"]),
  },
  // Seed 003: `valid_flags |= KVM_MEM_ABSENT_MAPPING_FAULT` once the cap is announced, and a
  // flags-only update may change any flag but READONLY.
  {
    name: "set absent_fault on a live slot",
    expect: "ok",
    kvm: "UnsupportedError",
    run: (vm) => vm.setMemslotFlags("ram", ["absent_fault"], []),
  },
  // `else /* Nothing to change. */ return 0;`
  {
    name: "clear absent_fault that is not set",
    expect: "ok",
    run: (vm) => vm.setMemslotFlags("ram", [], ["absent_fault"]),
  },
  // CrOS's KVM_MEM_NON_COHERENT_DMA (spec v2): a flags-only update like the others.
  {
    name: "set noncoherent_dma on a live slot",
    expect: "ok",
    kvm: "UnsupportedError",
    run: (vm) => vm.setMemslotFlags("ram", ["noncoherent_dma"], []),
  },
  // READONLY is checked before the proposal's flag (the shared rule).
  {
    name: "set readonly with absent_fault",
    expect: "EINVAL",
    run: (vm) => vm.setMemslotFlags("ram", ["readonly", "absent_fault"], []),
  },
  // `check_memory_region_flags` → -EINVAL
  {
    name: "set an unknown flag",
    expect: "EINVAL",
    run: (vm) => vm.setMemslotFlags("ram", ["bogus" as "dirty_log"], []),
  },
  // no such slot: EINVAL as for delete
  {
    name: "flags of an unknown slot",
    expect: "EINVAL",
    run: (vm) => vm.setMemslotFlags("nope", ["dirty_log"], []),
  },
  // the system region is not the script's
  {
    name: "flags of the system region",
    expect: "EINVAL",
    run: (vm) => vm.setMemslotFlags("system", ["dirty_log"], []),
  },
  // ------------------------------------------------- KVM_GET_DIRTY_LOG
  // `kvm_get_dirty_log_protect`: `if (!memslot || !memslot->dirty_bitmap) return -ENOENT;`
  {
    name: "dirty log of a slot not logging",
    expect: "ENOENT",
    run: (vm) => vm.getDirtyLog("ram", false),
  },
  // The VMM has no such slot to name an id for: EINVAL.
  {
    name: "dirty log of an unknown slot",
    expect: "EINVAL",
    run: (vm) => vm.getDirtyLog("nope", false),
  },
  // Logging on: the bitmap comes back.
  {
    name: "dirty log of a logging slot",
    expect: "ok",
    run: (vm) => {
      vm.setMemslotFlags("ram", ["dirty_log"], []);
      vm.getDirtyLog("ram", true);
    },
  },
  // ------------------------------------------------- host access (pread/pwrite of the mapping)
  // Past the end of a mapping, a copy from userspace faults: EFAULT.
  { name: "readSlot past the end", expect: "EFAULT", run: (vm) => vm.readSlot("ram", 4n * MIB) },
  // straddling the end
  {
    name: "writeSlot straddling the end",
    expect: "EFAULT",
    run: (vm) => vm.writeSlot("ram", 4n * MIB - 4n, 1n),
  },
  // before the start
  { name: "readSlot at a negative offset", expect: "EFAULT", run: (vm) => vm.readSlot("ram", -8n) },
  // no such slot
  { name: "readSlot of an unknown slot", expect: "EINVAL", run: (vm) => vm.readSlot("nope", 0n) },
  // the last word
  {
    name: "readSlot of the last word",
    expect: "ok",
    run: (vm) => vm.readSlot("ram", 4n * MIB - 8n),
  },
  // A guest-physical copy outside every slot: `kvm_read_guest` gives -EFAULT.
  { name: "readGuest in a hole", expect: "EFAULT", run: (vm) => vm.readGuest(3n * GIB, 8) },
  // running off a slot's end into a hole
  {
    name: "readGuest past a slot's end",
    expect: "EFAULT",
    run: (vm) => vm.readGuest(RAM + 4n * MIB - 4n, 8),
  },
  // `kvm_read_guest` walks segment by segment across adjacent slots.
  {
    name: "readGuest across two adjacent slots",
    expect: "ok",
    run: (vm) => {
      vm.addMemslot({ name: "next", gpa: RAM + 4n * MIB, size: K4 });
      vm.readGuest(RAM + 4n * MIB - 4n, 8);
    },
  },
  // A negative length is no byte count.
  { name: "readGuest of length -1", expect: "EINVAL", run: (vm) => vm.readGuest(RAM, -1) },
  // ------------------------------------------------- populate (madvise(MADV_POPULATE_WRITE))
  // `madvise`: `if (!PAGE_ALIGNED(start)) return -EINVAL;`
  {
    name: "populate at a misaligned offset",
    expect: "EINVAL",
    run: (vm) => vm.populate("ram", 1n),
  },
  // a negative length: `end < start` → -EINVAL
  {
    name: "populate a negative length",
    expect: "EINVAL",
    run: (vm) => vm.populate("ram", 0n, -K4),
  },
  // a negative offset is before the mapping
  { name: "populate at a negative offset", expect: "EINVAL", run: (vm) => vm.populate("ram", -K4) },
  // past the slot
  {
    name: "populate past the end",
    expect: "EINVAL",
    run: (vm) => vm.populate("ram", 4n * MIB - K4, 2n * K4),
  },
  // the system region is the VMM's
  { name: "populate the system region", expect: "EINVAL", run: (vm) => vm.populate("system") },
  // the whole slot
  { name: "populate a whole slot", expect: "ok", run: (vm) => vm.populate("ram") },
  // ------------------------------------------------- demand uffd (UFFDIO_REGISTER)
  // The VMM's handler-thread bound: RangeError on both.
  {
    name: "demand uffd with 0 handlers",
    expect: "RangeError",
    run: (vm) => vm.demandUffd("ram", 0),
  },
  // same bound, above it
  {
    name: "demand uffd with 1000 handlers",
    expect: "RangeError",
    run: (vm) => vm.demandUffd("ram", 1000),
  },
  // no such slot
  { name: "demand uffd of an unknown slot", expect: "EINVAL", run: (vm) => vm.demandUffd("nope") },
  // fs/userfaultfd.c `userfaultfd_register`: a range another userfaultfd holds → -EBUSY.
  {
    name: "demand uffd twice",
    expect: "EBUSY",
    uffd: true,
    run: (vm) => {
      vm.demandUffd("ram", 1);
      vm.demandUffd("ram", 1);
    },
  },
  // ------------------------------------------------- KVM_ENABLE_CAP
  // `kvm_vm_ioctl_enable_cap_generic` for MANUAL_DIRTY_LOG_PROTECT2: `if (cap->args[0] & ~allowed_options) return -EINVAL;`
  {
    name: "cap manual_dirty_log_protect with a bad value",
    expect: "EINVAL",
    run: (vm) => vm.enableCap("manual_dirty_log_protect", "bogus"),
  },
];

/** vCPU counts: `kvm_vm_ioctl_create_vcpu` refuses `created_vcpus >= max_vcpus` (and id ≥ KVM_MAX_VCPU_IDS) with -EINVAL. */
const VCPU_CASES: [string, number, string][] = [
  ["0 vCPUs", 0, "EINVAL"],
  [`KVM_MAX_VCPUS + 1 vCPUs`, KVM_MAX_VCPUS + 1, "EINVAL"],
  ["1.5 vCPUs", 1.5, "EINVAL"],
];

function outcome(f: () => unknown): string {
  try {
    f();
    return "ok";
  } catch (e) {
    const errno = (e as { errno?: string }).errno;
    return errno ?? (e as Error).constructor.name;
  }
}

function fixture(backend: Backend): Vm {
  const config: VmConfig = { name: "neg", mmu: MMU };
  const vm = (backend === "kvm" ? kvmBackend : emuBackend).createVm(config);
  try {
    vm.addMemslot({ name: "ram", gpa: RAM, size: 4n * MIB });
    vm.addMemslot({ name: "rom", gpa: ROM, size: 64n * 1024n, flags: ["readonly"] });
  } catch (e) {
    vm.close();
    throw e;
  }
  return vm;
}

function caseOutcome(backend: Backend, c: Case): string {
  using vm = fixture(backend);
  return outcome(() => c.run(vm));
}

Deno.test("negative matrix: at least 40 cases, each named once", () => {
  assertEquals(CASES.length + VCPU_CASES.length >= 40, true);
  assertEquals(new Set(CASES.map((c) => c.name)).size, CASES.length);
});

for (const c of CASES) {
  Deno.test(`negative matrix: ${c.name} → ${c.expect}`, async (t) => {
    await t.step("emu", () => assertEquals(caseOutcome("emu", c), c.expect));
    await t.step({
      name: `kvm${c.kvm ? ` → ${c.kvm}` : ""}`,
      ignore: c.uffd ? NO_UFFD : NO_KVM,
      fn: () => assertEquals(caseOutcome("kvm", c), c.kvm ?? c.expect),
    });
  });
}

for (const [what, vcpus, expect] of VCPU_CASES) {
  Deno.test(`negative matrix: a VM with ${what} → ${expect}`, async (t) => {
    const make = (backend: Backend) => () =>
      (backend === "kvm" ? kvmBackend : emuBackend).createVm({ name: "v", vcpus }).close();
    await t.step("emu", () => assertEquals(outcome(make("emu")), expect));
    await t.step({
      name: "kvm",
      ignore: NO_KVM,
      fn: () => assertEquals(outcome(make("kvm")), expect),
    });
  });
}
