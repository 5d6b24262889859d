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
  base: bigint;
  limit: number;
  selector: number;
  type: number;
  present: number;
  dpl: number;
  db: number;
  s: number;
  l: number;
  g: number;
  avl: number;
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
  rip: bigint;
  rflags: bigint;
  cr0: bigint;
  cr3: bigint;
  cr4: bigint;
  efer: bigint;
  /** IA32_PAT at entry (the architectural reset value unless a payload changes it). */
  pat: bigint;
  cs: SegmentState;
  ds: SegmentState;
  es: SegmentState;
  fs: SegmentState;
  gs: SegmentState;
  ss: SegmentState;
  tr: SegmentState;
  ldt: SegmentState;
  gdt: { base: bigint; limit: number };
  idt: { base: bigint; limit: number };
}

/** A contiguous guest-physical range. */
export interface GpaRange {
  gpa: bigint;
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
