/**
 * What a capability module provides: its DSL values (each a raw `args[0]`),
 * the emulator's rules on `args[0]`, the kvm backend's mainline mapping, and
 * its row of the docs' tables.
 *
 * @module
 */
import { ERRNO_NUMBERS, ErrnoError, UnsupportedError, VmmError } from "../errors.ts";
import type { MmuMode } from "../types.ts";

/** The ioctl every capability's emulator rule answers for. */
export const ENABLE_CAP = "KVM_ENABLE_CAP";

/**
 * The VMM's private `args[0]` bit: a value with it set selects what mainline
 * merged instead of the proposal (e.g. `page_write_tracking on_demand`), so
 * it never collides with a value the proposal's own rule reads.
 */
export const VMM_PRIVATE = 1n << 63n;

/**
 * The emulated VM's capability state: set by the capability modules, read
 * by the MMU where it models each behaviour (a new capability's state is a
 * field here).
 */
export class EmuCapState {
  /** KVM_CAP_X86_MEMORY_FAULT_EXIT with `absent_mapping`. */
  memoryFaultExit = false;
  /** KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2. */
  manualProtect = false;
  /** `dirty_log_recovery`: how huge pages come back when dirty logging stops. */
  recovery: DirtyLogRecovery = "zap";
  /** `eager_page_split` (the kvm module parameter; on by default, as in mainline). */
  eagerPageSplit = true;
  /** `memslot_zap_control zap_only_memslot` / quirk `slot_zap_all off`. */
  zapOnlyMemslot = false;
}

/**
 * How huge pages come back when dirty logging stops: `zap` the collapsible
 * tables, `in_place` as seed 004's `try_promote_lpage()` (a fresh huge SPTE
 * with full access), `in_place_6_13` as mainline 6.13's `make_huge_spte()`
 * (a child's permissions).
 */
export type DirtyLogRecovery = "zap" | "in_place" | "in_place_6_13";

/** What a capability's or quirk's emulator hook may change (the emulated VM's MMU provides it). */
export interface EmuCapTarget {
  /** The capability state. */
  readonly caps: EmuCapState;
  /** User memslots (the write-tracking rule reads whether any exists). */
  readonly slots: { readonly userCount: number };
  /** Page write tracking (`page_write_tracking`). */
  readonly tracking: {
    /** Set the allocation policy (the capability's rules have already run). */
    setPolicy(policy: "on" | "off" | "on_demand"): void;
    /** The MMU needs tracking itself: shadow paging, or a shadow root allocated. */
    readonly mmuNeedsTracking: boolean;
    /** An external tracker is registered (kvm_page_track_has_external_user). */
    readonly hasExternalUser: boolean;
  };
  /** The memory-type policy (quirks `ignore_guest_pat`, `cd_nw_cleared`). */
  readonly memtype: { ignoreGuestPat: boolean; cdNwCleared: boolean };
}

/**
 * What the kvm backend offers a capability's mapping: mainline cap numbers
 * only (a proposal's number must never reach a kernel), quirks, and the
 * host's fixed behaviour.
 */
export interface KvmCapHost {
  /** KVM_CHECK_EXTENSION on the VM fd (a mainline `CAP.*` number). */
  checkExtension(cap: number): number;
  /** KVM_ENABLE_CAP on the VM fd (a mainline `CAP.*` number). */
  enableCap(cap: number, arg0: bigint): void;
  /** Turn a mainline quirk on or off (KVM_CAP_DISABLE_QUIRKS2). */
  setQuirk(name: string, on: boolean): void;
  /** Whether the host lets userspace disable a quirk (KVM_CHECK_EXTENSION(DISABLE_QUIRKS2)). */
  quirkOffered(name: string): boolean;
  /** The host's MMU and where that answer came from (for messages naming why the host decides). */
  mmu(): { mode: MmuMode; source: string };
  /** What page write tracking the host does (no uAPI sets it). */
  writeTracking(): "on" | "on_demand";
  /** How the host restores huge pages when dirty logging stops. */
  dirtyLogRecovery(): "zap" | "in_place_6_13";
  /**
   * The host's `eager_page_split` module parameter and where it was read,
   * or undefined when it cannot be read.
   */
  eagerPageSplit(): { on: boolean; source: string } | undefined;
  /** Whether KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 is enabled (`dirty_log clear` uses CLEAR_DIRTY_LOG). */
  manualProtect: boolean;
}

/** A capability's row of the docs' tables (markdown, `\|` for a pipe). */
export interface CapDoc {
  /** The proposal (or mainline cap) the DSL name stands for. */
  proposal: string;
  /** The rules on `args[0]` (errnos), as the emulator applies them. */
  rules: string;
  /** What the emulated VM does with it. */
  emu: string;
  /** What the kvm backend does, and why. */
  kvm: string;
}

/** One capability: the module owns every part of it. */
export interface CapDef {
  /** DSL value words → the raw `args[0]` the proposal (or mainline) gives them. */
  readonly values: Readonly<Record<string, bigint>>;
  /**
   * The emulated VM's KVM_ENABLE_CAP: the proposal's errno rules on `args[0]`,
   * then the state change.
   *
   * @param mmu what the hook may change in the emulated VM
   * @param arg0 the raw `args[0]`
   * @throws {ErrnoError} as the proposal's `kvm_vm_ioctl_enable_cap` would fail
   */
  emu(mmu: EmuCapTarget, arg0: bigint): void;
  /**
   * The kvm backend: the mainline mechanism, the host's fixed behaviour, or
   * an `UnsupportedError` naming why there is none.
   *
   * @param host what the kvm backend offers
   * @param arg0 the raw `args[0]`
   */
  kvm(host: KvmCapHost, arg0: bigint): void;
  /**
   * Whether the kvm host offers it (a script's `has_cap`): probes the mainline
   * mechanism with KVM_CHECK_EXTENSION, never enables anything. Absent: no
   * uAPI sets it on a real kernel (a proposal never merged, or the host's
   * fixed behaviour), so the answer is false.
   *
   * @param host what the kvm backend offers
   */
  kvmOffered?(host: KvmCapHost): boolean;
  /** Its row in the docs. */
  readonly doc: CapDoc;
  /**
   * KVM_CHECK_EXTENSION announces it, but KVM_ENABLE_CAP is EINVAL for every
   * `args[0]` (e.g. KVM_CAP_MEMORY_FAULT_NOWAIT: a slot flag turns the
   * behaviour on); its words exist to be probed.
   */
  readonly probeOnly?: boolean;
}

/** One quirk of KVM_CAP_DISABLE_QUIRKS2. */
export interface QuirkDef {
  /** Its KVM_X86_QUIRK_* bit. */
  readonly bit: number;
  /**
   * The emulated VM's behaviour with the quirk on (KVM's default) or off.
   *
   * @param mmu what the hook may change in the emulated VM
   * @param on true keeps KVM's default
   */
  emu(mmu: EmuCapTarget, on: boolean): void;
  /** What it changes, for the docs. */
  readonly doc: string;
}

/**
 * The EINVAL of a value a capability's rules refuse.
 *
 * @param name the capability
 * @param arg0 the raw `args[0]`
 * @param why the rule, in words
 * @returns the error to throw
 */
export function invalidArg(name: string, arg0: bigint, why: string): ErrnoError {
  return new ErrnoError(
    ENABLE_CAP,
    ERRNO_NUMBERS.EINVAL,
    `${name}: args[0] = 0x${arg0.toString(16)}: ${why}`,
  );
}

/**
 * The common first rule of a flag-set `args[0]`: a bit outside `allowed` is
 * EINVAL (`if (cap->args[0] & ~FLAGS) return -EINVAL;`).
 *
 * @param name the capability
 * @param arg0 the raw `args[0]`
 * @param allowed the defined bits
 * @throws {ErrnoError} EINVAL naming the capability and the value
 */
export function onlyBits(name: string, arg0: bigint, allowed: bigint): void {
  if ((arg0 & ~allowed) !== 0n) {
    throw invalidArg(name, arg0, `only bits 0x${allowed.toString(16)} are defined`);
  }
}

/**
 * The kvm backend's answer for a proposal that mainline never merged.
 *
 * @param name the capability
 * @param instead what a script can use instead, if anything
 * @returns the error to throw
 */
export function notInMainline(name: string, instead?: string): UnsupportedError {
  return new UnsupportedError(
    `cap ${name}: not in mainline KVM (the proposal was never merged)${
      instead ? `; use ${instead}` : ""
    }`,
  );
}

/**
 * The word of a raw value (for messages and for backends that act on words).
 *
 * @param values the capability's words
 * @param arg0 the raw `args[0]`
 * @returns the first word with that value, or undefined
 */
export function wordOf(
  values: Readonly<Record<string, bigint>>,
  arg0: bigint,
): string | undefined {
  return Object.keys(values).find((w) => values[w] === arg0);
}

/**
 * The kvm backend's refusal of a value that is none of the capability's
 * words (a script error: exit code 2).
 *
 * @param name the capability
 * @param values the capability's words
 * @param arg0 the raw `args[0]`
 * @returns the error to throw
 */
export function unknownValue(
  name: string,
  values: Readonly<Record<string, bigint>>,
  arg0: bigint,
): VmmError {
  return new VmmError(
    `cap ${name}: unknown value ${arg0} (expected ${Object.keys(values).join(", ")})`,
    { kind: "invalid" },
  );
}
