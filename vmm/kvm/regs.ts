/**
 * Turns a {@linkcode VcpuBootState} into `kvm_regs` and `kvm_sregs` bytes.
 *
 * @module
 */
import type { SegmentState, VcpuBootState } from "../../guest/image.ts";
import { DTABLE_LIMIT, REGS_ORDER, REGS_RFLAGS, REGS_RIP, SEG, SIZEOF, SREGS } from "./uapi.ts";

/**
 * Encode the GPRs, RIP and RFLAGS of a boot state.
 *
 * @param s the vCPU's boot state
 * @returns a 144-byte `kvm_regs`
 */
export function encodeRegs(s: VcpuBootState): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(SIZEOF.kvm_regs);
  const dv = new DataView(b.buffer);
  REGS_ORDER.forEach((name, i) => dv.setBigUint64(i * 8, s.gprs[name] ?? 0n, true));
  dv.setBigUint64(REGS_RIP, s.rip, true);
  dv.setBigUint64(REGS_RFLAGS, s.rflags, true);
  return b;
}

function setSegment(dv: DataView, at: number, seg: SegmentState): void {
  dv.setBigUint64(at + SEG.base, seg.base, true);
  dv.setUint32(at + SEG.limit, seg.limit, true);
  dv.setUint16(at + SEG.selector, seg.selector, true);
  dv.setUint8(at + SEG.type, seg.type);
  dv.setUint8(at + SEG.present, seg.present);
  dv.setUint8(at + SEG.dpl, seg.dpl);
  dv.setUint8(at + SEG.db, seg.db);
  dv.setUint8(at + SEG.s, seg.s);
  dv.setUint8(at + SEG.l, seg.l);
  dv.setUint8(at + SEG.g, seg.g);
  dv.setUint8(at + SEG.avl, seg.avl);
  dv.setUint8(at + SEG.unusable, seg.unusable);
}

/**
 * Write a boot state's system registers over the vCPU's current `kvm_sregs`
 * (keeping what the state does not name: APIC base, interrupt bitmap).
 *
 * @param current the 312-byte result of KVM_GET_SREGS (modified in place)
 * @param s the vCPU's boot state
 * @returns `current`
 */
export function encodeSregs(
  current: Uint8Array<ArrayBuffer>,
  s: VcpuBootState,
): Uint8Array<ArrayBuffer> {
  const dv = new DataView(current.buffer);
  setSegment(dv, SREGS.cs, s.cs);
  setSegment(dv, SREGS.ds, s.ds);
  setSegment(dv, SREGS.es, s.es);
  setSegment(dv, SREGS.fs, s.fs);
  setSegment(dv, SREGS.gs, s.gs);
  setSegment(dv, SREGS.ss, s.ss);
  setSegment(dv, SREGS.tr, s.tr);
  setSegment(dv, SREGS.ldt, s.ldt);
  dv.setBigUint64(SREGS.gdt, s.gdt.base, true);
  dv.setUint16(SREGS.gdt + DTABLE_LIMIT, s.gdt.limit, true);
  dv.setBigUint64(SREGS.idt, s.idt.base, true);
  dv.setUint16(SREGS.idt + DTABLE_LIMIT, s.idt.limit, true);
  dv.setBigUint64(SREGS.cr0, s.cr0, true);
  dv.setBigUint64(SREGS.cr3, s.cr3, true);
  dv.setBigUint64(SREGS.cr4, s.cr4, true);
  dv.setBigUint64(SREGS.efer, s.efer, true);
  return current;
}
