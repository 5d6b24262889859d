/**
 * What the VMM builds for a guest before the first KVM_RUN, as plain data:
 * bytes to place in guest-physical memory and each vCPU's initial register
 * state. Both backends consume the same {@linkcode BootImage}, so they run
 * the same bytes from the same state.
 *
 * @module
 */

/** A segment register as KVM's `struct kvm_segment` holds it. */
export interface SegmentState {
  /** Linear base address. */
  base: bigint;
  /** Limit in bytes (already scaled when `g` is set, as KVM takes it). */
  limit: number;
  /** Selector (GDT index << 3). */
  selector: number;
  /** Descriptor type (4 bits). */
  type: number;
  /** Present bit. */
  present: number;
  /** Descriptor privilege level. */
  dpl: number;
  /** Default operand size (D/B) bit. */
  db: number;
  /** Code/data (1) or system (0) descriptor. */
  s: number;
  /** 64-bit code segment bit. */
  l: number;
  /** Granularity bit. */
  g: number;
  /** Available-for-software bit. */
  avl: number;
  /** 1 for an unusable (null) segment. */
  unusable: number;
}

/** General-purpose registers by name. */
export type GprName =
  | "rax"
  | "rbx"
  | "rcx"
  | "rdx"
  | "rsi"
  | "rdi"
  | "rsp"
  | "rbp"
  | "r8"
  | "r9"
  | "r10"
  | "r11"
  | "r12"
  | "r13"
  | "r14"
  | "r15";

/** One vCPU's state at entry. */
export interface VcpuBootState {
  /** GPRs (unnamed ones are 0). */
  gprs: Partial<Record<GprName, bigint>>;
  /** Entry point. */
  rip: bigint;
  /** RFLAGS (bit 1 always set). */
  rflags: bigint;
  /** CR0. */
  cr0: bigint;
  /** CR3: the top-level page table (0 without paging). */
  cr3: bigint;
  /** CR4. */
  cr4: bigint;
  /** IA32_EFER. */
  efer: bigint;
  /** IA32_PAT at entry (the architectural reset value unless a payload changes it). */
  pat: bigint;
  /** Code segment. */
  cs: SegmentState;
  /** Data segments. */
  ds: SegmentState;
  /** See {@linkcode VcpuBootState.ds}. */
  es: SegmentState;
  /** See {@linkcode VcpuBootState.ds}. */
  fs: SegmentState;
  /** See {@linkcode VcpuBootState.ds}. */
  gs: SegmentState;
  /** Stack segment. */
  ss: SegmentState;
  /** Task register. */
  tr: SegmentState;
  /** Local descriptor table (unusable). */
  ldt: SegmentState;
  /** GDTR. */
  gdt: { base: bigint; limit: number };
  /** IDTR (limit 0: no IDT). */
  idt: { base: bigint; limit: number };
}

/** A contiguous guest-physical range. */
export interface GpaRange {
  /** First guest-physical address. */
  gpa: bigint;
  /** Length in bytes. */
  size: bigint;
}

/** Everything a backend needs to start the guest. */
export interface BootImage {
  /** Bytes to copy into guest memory, each entirely inside one memslot. */
  writes: { gpa: bigint; bytes: Uint8Array }[];
  /** Initial state per vCPU, indexed by vCPU number. */
  vcpus: VcpuBootState[];
  /** The ranges the guest page tables identity-map (for diagnostics and tests). */
  mapped: GpaRange[];
  /** Guest-physical address of each vCPU's ucall slot (also in r15 at entry). */
  ucallSlots: bigint[];
  /** Guest-physical addresses of the guest page-table pages the image built. */
  pageTablePages: bigint[];
}
