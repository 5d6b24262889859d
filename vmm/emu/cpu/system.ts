/**
 * The interpreted handlers of the opcode table (`opcodes.ts`): instructions
 * that run alone, as one-instruction blocks interpreted here rather than
 * compiled: port I/O, hlt, cli/sti, cpuid, rdtsc, rdmsr/wrmsr,
 * control registers, invlpg and the string instructions. They are rare,
 * touch state the compiled code does not cache, or loop internally.
 *
 * @module
 */
import { MSR_IA32_EFER, MSR_IA32_PAT } from "../../../guest/msr.ts";
import { isMtrrMsr } from "../mtrr.ts";
import { CR0_CD, CR0_PG, EFER_NXE } from "../port.ts";
import { addrNumber, canonicalHi, type CpuCore } from "./core.ts";
import type { DecodedInst } from "./inst.ts";

/** IA32_PAT (the numbers live in `guest/msr.ts`). */
export const MSR_PAT = MSR_IA32_PAT;
/** IA32_EFER. */
export const MSR_EFER = MSR_IA32_EFER;

const EFER_SCE = 1 << 0;
const EFER_LME = 1 << 8;
const EFER_LMA = 1 << 10;
const CR0_PE = 1;
const CR0_ET = 1 << 4;
const CR0_NW = 1 << 29;
const CR4_PAE = 1 << 5;
const CR4_LA57 = 1 << 12;
const CR4_PCIDE = 1 << 17;
const IF = 0x200;
const DF = 0x400;

/**
 * The CPUID leaves the emulated CPU reports: vendor "KVMEmuKVMEmu", leaf 1
 * with FPU PSE TSC MSR PAE CX8 APIC MTRR PGE PAT (and the hypervisor bit),
 * 0x80000001 with NX and LM but no pdpe1gb (1 GiB guest pages are refused,
 * as on this project's KVM host), 48-bit linear / 52-bit physical addresses.
 * Unlisted leaves read as zeros.
 *
 * @param leaf eax
 * @param index the vCPU (its APIC ID)
 * @returns [eax, ebx, ecx, edx]
 */
export function cpuidLeaf(leaf: number, index: number): [number, number, number, number] {
  switch (leaf >>> 0) {
    case 0:
      return [1, 0x454d564b, 0x756d454d, 0x564b756d];
    case 1:
      return [0x000306a9, ((index & 0xff) << 24) | 0x00010800, 0x80000000, 0x00013379];
    case 0x80000000:
      return [0x80000008, 0, 0, 0];
    case 0x80000001:
      return [0, 0, 0, 0x20100000];
    case 0x80000008:
      return [0x3034, 0, 0, 0];
    default:
      return [0, 0, 0, 0];
  }
}

function gp(c: CpuCore, rip: number, what: string): false {
  c.shutdown(rip, `#GP (${what}) with no IDT: triple fault`);
  return false;
}

/**
 * The effective address of a memory operand, as 64-bit halves.
 *
 * @param c the vCPU
 * @param d the instruction (with a memory operand)
 * @param next the address of the next instruction (for rip-relative)
 * @returns [lo, hi]
 */
export function effectiveAddress(c: CpuCore, d: DecodedInst, next: number): [number, number] {
  const m = d.mem!;
  let a = BigInt(m.disp);
  if (m.ripRel) a += BigInt(next);
  if (m.base >= 0) a += c.gpr(m.base);
  if (m.index >= 0) a += c.gpr(m.index) * BigInt(m.scale);
  a = BigInt.asUintN(64, a);
  return [Number(a & 0xffffffffn) | 0, Number(a >> 32n) | 0];
}

function validPat(v: bigint): boolean {
  for (let i = 0n; i < 64n; i += 8n) {
    const t = Number((v >> i) & 0xffn);
    if (t !== 0 && t !== 1 && t !== 4 && t !== 5 && t !== 6 && t !== 7) return false;
  }
  return true;
}

function add64(lo: number, hi: number, delta: number): [number, number] {
  const t = (lo >>> 0) + delta;
  const carry = Math.floor(t / 4294967296);
  return [t | 0, (hi + carry) | 0];
}

/**
 * An interpreted handler: executes `d` at `rip` with `c.rip` = `rip`.
 * Returns true when the instruction retired (RIP then moves to `next`),
 * false when it stopped the vCPU first (`c.stop` set, RIP stays).
 */
export type RunFn = (c: CpuCore, d: DecodedInst, rip: number, next: number) => boolean;

/**
 * Executes one instruction that runs alone through its row's handler.
 *
 * @param c the vCPU
 * @param run the handler of the instruction's opcode row
 * @param inst the instruction with its address and the next one's
 * @returns instructions retired (0 or 1); `c.rip` and `c.stop` are set
 */
export function execAlone(
  c: CpuCore,
  run: RunFn,
  inst: { d: DecodedInst; rip: number; next: number },
): number {
  const { d, rip, next } = inst;
  c.rip = rip;
  if (run(c, d, rip, next)) {
    c.rip = next;
    return 1;
  }
  c.rip = rip;
  return 0;
}

/** The port (imm8 or DX) and access size of in/out. */
function ioAccess(c: CpuCore, d: DecodedInst): { port: number; size: 1 | 2 | 4 } {
  const port = d.form.includes("DX") ? c.r[4] & 0xffff : d.imm & 0xff;
  return { port, size: d.size === 1 ? 1 : d.size === 2 ? 2 : 4 };
}

/** `in AL/eAX, imm8/DX`: an I/O exit; {@linkcode Cpu.completeIn} writes the value. */
export const runIn: RunFn = (c, d) => {
  const { port, size } = ioAccess(c, d);
  c.pendingIn = size;
  c.stop = { kind: "io", port, size, isWrite: false, value: 0n };
  return true;
};

/** `out imm8/DX, AL/eAX`: an I/O exit with the value. */
export const runOut: RunFn = (c, d) => {
  const { port, size } = ioAccess(c, d);
  const r0 = c.r[0];
  const v = size === 1 ? r0 & 0xff : size === 2 ? r0 & 0xffff : r0 >>> 0;
  c.stop = { kind: "io", port, size, isWrite: true, value: BigInt(v) };
  return true;
};

/** `hlt`: a hlt exit (RIP after it, as on KVM). */
export const runHlt: RunFn = (c) => {
  c.stop = { kind: "hlt" };
  return true;
};

/** `cli`. */
export const runCli: RunFn = (c) => {
  c.rflagsOther &= ~IF;
  return true;
};

/** `sti`. */
export const runSti: RunFn = (c) => {
  c.rflagsOther |= IF;
  return true;
};

/** Sets rdx:rax to the halves `lo`, `hi` (each zero-extended, as rdtsc/rdmsr do). */
function setEdxEax(c: CpuCore, lo: number, hi: number): void {
  const r = c.r;
  r[0] = lo;
  r[1] = 0;
  r[4] = hi;
  r[5] = 0;
}

/** `cpuid` ({@linkcode cpuidLeaf}). */
export const runCpuid: RunFn = (c) => {
  const r = c.r;
  const [a, b, cx, dx] = cpuidLeaf(r[0], c.index);
  setEdxEax(c, a, dx);
  r[6] = b;
  r[7] = 0;
  r[2] = cx;
  r[3] = 0;
  return true;
};

/** `rdtsc`: a deterministic time stamp, the instructions retired before this one. */
export const runRdtsc: RunFn = (c) => {
  const t = c.instructions;
  setEdxEax(c, t % 4294967296 | 0, Math.floor(t / 4294967296) | 0);
  return true;
};

/** `rdmsr` of IA32_PAT, IA32_EFER or an MTRR MSR (others: #GP). */
export const runRdmsr: RunFn = (c, _d, rip) => {
  const msr = c.r[2] >>> 0;
  let v: bigint | undefined;
  if (msr === MSR_PAT) v = c.paging.pat;
  else if (msr === MSR_EFER) v = BigInt(c.paging.efer);
  else if (isMtrrMsr(msr)) v = c.paging.mtrr?.read(msr);
  if (v === undefined) return gp(c, rip, `rdmsr of unsupported MSR 0x${msr.toString(16)}`);
  setEdxEax(c, Number(v & 0xffffffffn) | 0, Number(v >> 32n) | 0);
  return true;
};

/**
 * `wrmsr` of IA32_PAT, IA32_EFER or an MTRR MSR, with their #GP checks; a
 * PAT or EFER change flushes the TLB (MTRRs only feed the memory-type
 * policy, which reads them when asked).
 */
export const runWrmsr: RunFn = (c, _d, rip) => {
  const r = c.r;
  const msr = r[2] >>> 0;
  const v = (BigInt(r[4] >>> 0) << 32n) | BigInt(r[0] >>> 0);
  if (msr === MSR_PAT) {
    if (!validPat(v)) return gp(c, rip, "invalid PAT value");
    if (v !== c.paging.pat) {
      c.paging.pat = v;
      // Translations carry the memory type derived from PAT.
      c.flushTlb();
    }
  } else if (msr === MSR_EFER) {
    if (v >> 32n !== 0n) return gp(c, rip, "EFER reserved bits");
    const nv = Number(v);
    if ((nv & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)) !== 0) {
      return gp(c, rip, "EFER reserved bits");
    }
    const old = c.paging.efer;
    if ((c.paging.cr0 & CR0_PG) !== 0 && ((nv ^ old) & EFER_LME) !== 0) {
      return gp(c, rip, "EFER.LME change with paging on");
    }
    const nefer = (nv & ~EFER_LMA) | (old & EFER_LMA);
    if (nefer !== old) {
      c.paging.efer = nefer;
      c.flushTlb();
    }
  } else if (isMtrrMsr(msr) && c.paging.mtrr !== undefined) {
    const bad = c.paging.mtrr.write(msr, v);
    if (bad !== null) return gp(c, rip, bad);
  } else {
    return gp(c, rip, `wrmsr of unsupported MSR 0x${msr.toString(16)}`);
  }
  return true;
};

/** `mov r64, crN` (the decoder admits CR0, CR2, CR3 and CR4 only). */
export const runMovFromCr: RunFn = (c, d) => {
  const cr = d.reg;
  const v = cr === 0 ? c.paging.cr0 : cr === 2 ? c.cr2 : cr === 3 ? c.paging.cr3 : c.paging.cr4;
  c.setGpr(d.rm, BigInt(v));
  return true;
};

/** `mov crN, r64` with the SDM's #GP checks; a change of CR0/CR3/CR4 flushes the TLB. */
export const runMovToCr: RunFn = (c, d, rip) => {
  const cr = d.reg;
  const lo = c.r[2 * d.rm], hi = c.r[2 * d.rm + 1];
  if (cr === 2) {
    c.cr2 = addrNumber(lo, hi);
    return true;
  }
  if (cr === 3) {
    if ((hi >>> 0) >= 1 << 20) return gp(c, rip, "CR3 above 2^52");
    const v = (hi >>> 0) * 4294967296 + (lo >>> 0);
    c.paging.cr3 = v;
    c.flushTlb();
    c.port.newCr3(c.index, v);
    return true;
  }
  if (hi !== 0) return gp(c, rip, `CR${cr} reserved bits`);
  const v = lo >>> 0;
  const lma = (c.paging.efer & EFER_LMA) !== 0;
  if (cr === 0) {
    const nv = (v | CR0_ET) >>> 0;
    if ((nv & CR0_PG) !== 0 && (nv & CR0_PE) === 0) return gp(c, rip, "CR0.PG without PE");
    if ((nv & CR0_NW) !== 0 && (nv & CR0_CD) === 0) return gp(c, rip, "CR0.NW without CD");
    if (lma && (nv & CR0_PG) === 0) return gp(c, rip, "clearing CR0.PG in 64-bit mode");
    if (nv !== c.paging.cr0) {
      c.paging.cr0 = nv;
      c.flushTlb();
    }
  } else {
    if ((v & (CR4_LA57 | CR4_PCIDE)) !== 0) return gp(c, rip, "unsupported CR4 bit");
    if (lma && (v & CR4_PAE) === 0) return gp(c, rip, "clearing CR4.PAE in 64-bit mode");
    if (v !== c.paging.cr4) {
      c.paging.cr4 = v;
      c.flushTlb();
    }
  }
  return true;
};

/** `invlpg m`: drop the page from this vCPU's TLB and tell the MMU (shadow roots). */
export const runInvlpg: RunFn = (c, d, _rip, next) => {
  const [lo, hi] = effectiveAddress(c, d, next);
  if (canonicalHi(hi)) {
    c.tlb.flushPage(hi * 1048576 + (lo >>> 12));
    c.port.invlpg(c.index, (hi & 0xffff) * 4294967296 + (lo >>> 0));
  }
  return true;
};

/**
 * stos/movs, with or without rep. Every iteration is committed on its own
 * (rcx, rdi, rsi), so an exit mid-way leaves RIP at the instruction and the
 * re-run resumes where it stopped.
 *
 * @param stos stos (store rAX) rather than movs (copy [rsi])
 * @returns the handler
 */
export function runString(stos: boolean): RunFn {
  return (c, d) => {
    const r = c.r;
    const es = d.size;
    const rep = d.rep;
    const step = (c.rflagsOther & DF) !== 0 ? -es : es;
    const vl = r[0], vh = es === 8 ? r[1] : 0;
    const t = c.tlb;
    for (;;) {
      if (rep && (r[2] | r[3]) === 0) break;
      // Fast chunk: forward stos within one directly-writable page.
      if (stos && rep && step > 0) {
        const off = r[14] & 4095;
        const i = (r[14] >>> 12) & t.mask;
        const pn = r[15] * 1048576 + (r[14] >>> 12);
        if (t.tagW[i] === pn && off + es <= 4096) {
          const cnt = r[3] !== 0 ? Infinity : r[2] >>> 0;
          const n = Math.min(cnt, Math.floor((4096 - off) / es));
          const v = t.viewW[i];
          if (es === 1) {
            new Uint8Array(v.buffer, v.byteOffset + off, n).fill(vl & 0xff);
          } else {
            for (let k = 0; k < n; k++) {
              const o = off + k * es;
              if (es === 8) {
                v.setInt32(o, vl, true);
                v.setInt32(o + 4, vh, true);
              } else if (es === 4) v.setInt32(o, vl, true);
              else v.setUint16(o, vl, true);
            }
          }
          [r[14], r[15]] = add64(r[14], r[15], n * es);
          [r[2], r[3]] = add64(r[2], r[3], -n);
          continue;
        }
      }
      let wl = vl, wh = vh;
      if (!stos) {
        const st = c.rd(r[12], r[13], es);
        if (st !== 0) return false;
        wl = c.vl;
        wh = c.vh;
      }
      const st = c.wr(r[14], r[15], es, wl, wh);
      if (st === 1) return false;
      [r[14], r[15]] = add64(r[14], r[15], step);
      if (!stos) [r[12], r[13]] = add64(r[12], r[13], step);
      if (rep) [r[2], r[3]] = add64(r[2], r[3], -1);
      if (st === 2 || !rep) {
        return !rep || (r[2] | r[3]) === 0;
      }
    }
    return true;
  };
}
