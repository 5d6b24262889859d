/**
 * Test support for the payload tests: the memslot layout they boot with,
 * and a tiny interpreter of the instructions the payloads use (64-bit mode,
 * paging through the image's page tables, ucalls on port 0x1000). The
 * interpreter is deliberately minimal and strict: an instruction outside
 * what it knows or an access to an unmapped or unbacked address fails the
 * test.
 *
 * @module
 */
import { assertEquals } from "@std/assert";
import {
  type BootImage,
  buildBootImage,
  type GpaRange,
  MSR_IA32_PAT,
  UCALL_PORT,
} from "../../guest/mod.ts";
import type { GuestSpec, MemslotInfo } from "../../vmm/types.ts";

export const KiB = 1024n;
export const MiB = 1n << 20n;
export const PAGE = 4096n;

function slot(name: string, gpa: bigint, size: bigint, id = 1): MemslotInfo {
  return { name, id, gpa, size, flags: [], backing: "anon", hugepage: 2n * MiB };
}

/** The test memslots: RAM, a ROM and a device region, all payloads boot with. */
export const RAM = slot("ram", MiB, 64n * MiB, 1);
export const ROM = slot("rom", 0x1000_0000n, 128n * KiB, 2);
export const GPU = slot("gpu.shm", 0x2000_0000n, MiB, 3);
export const SLOTS = [RAM, ROM, GPU];
const SYSTEM = { gpa: 0n, size: MiB };

// ------------------------------------------------------------------ interpreter

type Event =
  | { cmd: "sync"; label: string; value: bigint }
  | { cmd: "fail"; label: string; value: bigint }
  | { cmd: "done" };

/** The 64-bit mask. */
export const M64 = (1n << 64n) - 1n;

class Machine {
  pages = new Map<bigint, Uint8Array>();
  backed: GpaRange[];
  msrs = new Map<number, bigint>();
  /** Return false to drop a guest write (to provoke guest-side checks). */
  writeFilter: (gpa: bigint) => boolean = () => true;

  constructor(image: BootImage, backed: GpaRange[]) {
    this.backed = backed;
    for (const w of image.writes) {
      for (let i = 0; i < w.bytes.length; i++) this.poke(w.gpa + BigInt(i), w.bytes[i]);
    }
  }

  page(gpa: bigint): Uint8Array {
    if (!this.backed.some((r) => gpa >= r.gpa && gpa < r.gpa + r.size)) {
      throw new Error(`unbacked GPA 0x${gpa.toString(16)}`);
    }
    const pg = gpa & ~0xfffn;
    let p = this.pages.get(pg);
    if (!p) this.pages.set(pg, p = new Uint8Array(4096));
    return p;
  }
  peek(gpa: bigint): number {
    return this.page(gpa)[Number(gpa & 0xfffn)];
  }
  poke(gpa: bigint, v: number): void {
    this.page(gpa)[Number(gpa & 0xfffn)] = v;
  }
  readPhys(gpa: bigint, size: number): bigint {
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.peek(gpa + BigInt(i)));
    return v;
  }
  writePhys(gpa: bigint, size: number, v: bigint): void {
    if (!this.writeFilter(gpa)) return;
    for (let i = 0; i < size; i++) this.poke(gpa + BigInt(i), Number((v >> BigInt(8 * i)) & 0xffn));
  }
}

class Cpu {
  r: bigint[] = new Array(16).fill(0n);
  rip: bigint;
  cr3: bigint;
  cf = false;
  zf = false;
  sf = false;
  of = false;
  events: Event[] = [];
  halted = false;
  #m: Machine;

  constructor(m: Machine, image: BootImage, vcpu: number) {
    this.#m = m;
    const s = image.vcpus[vcpu];
    const names = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi"];
    for (const [k, v] of Object.entries(s.gprs)) {
      const i = names.indexOf(k);
      this.r[i >= 0 ? i : Number(k.slice(1))] = v!;
    }
    this.rip = s.rip;
    this.cr3 = s.cr3;
  }

  translate(va: bigint): bigint {
    let table = this.cr3 & 0xf_ffff_ffff_f000n;
    for (const shift of [39n, 30n, 21n, 12n]) {
      const e = this.#m.readPhys(table + ((va >> shift) & 0x1ffn) * 8n, 8);
      if (!(e & 1n)) {
        throw new Error(`#PF at 0x${va.toString(16)} (rip 0x${this.rip.toString(16)})`);
      }
      const addr = e & 0xf_ffff_ffff_f000n;
      if (shift === 12n || (shift !== 39n && (e & 0x80n))) {
        const size = 1n << shift;
        return (addr & ~(size - 1n)) | (va & (size - 1n));
      }
      table = addr;
    }
    throw new Error("unreachable");
  }
  /** The GPA of the 4 KiB PTE mapping `va`. */
  pteOf(va: bigint): bigint {
    let table = this.cr3 & 0xf_ffff_ffff_f000n;
    for (const shift of [39n, 30n, 21n]) {
      table = this.#m.readPhys(table + ((va >> shift) & 0x1ffn) * 8n, 8) & 0xf_ffff_ffff_f000n;
    }
    return table + ((va >> 12n) & 0x1ffn) * 8n;
  }
  read(va: bigint, size: number): bigint {
    return this.#m.readPhys(this.translate(va), size);
  }
  write(va: bigint, size: number, v: bigint): void {
    this.#m.writePhys(this.translate(va), size, v & ((1n << BigInt(size * 8)) - 1n));
  }
  fetch(n = 1): bigint {
    const v = this.read(this.rip, n);
    this.rip += BigInt(n);
    return v;
  }
  label(gpa: bigint): string {
    let s = "";
    for (let i = 0n; i < 63n; i++) {
      const b = Number(this.read(gpa + i, 1));
      if (!b) break;
      s += String.fromCharCode(b);
    }
    return s;
  }

  #flagsLogic(res: bigint, bits: number): bigint {
    const mask = (1n << BigInt(bits)) - 1n;
    res &= mask;
    this.cf = false;
    this.of = false;
    this.zf = res === 0n;
    this.sf = (res >> BigInt(bits - 1)) === 1n;
    return res;
  }
  #alu(op: number, a: bigint, b: bigint, bits: number): bigint {
    const mask = (1n << BigInt(bits)) - 1n;
    const sign = 1n << BigInt(bits - 1);
    switch (op) {
      case 0: { // add
        const res = (a + b) & mask;
        this.cf = a + b > mask;
        this.of = ((a ^ res) & (b ^ res) & sign) !== 0n;
        this.zf = res === 0n;
        this.sf = (res & sign) !== 0n;
        return res;
      }
      case 5:
      case 7: { // sub, cmp
        const res = (a - b) & mask;
        this.cf = a < b;
        this.of = ((a ^ b) & (a ^ res) & sign) !== 0n;
        this.zf = res === 0n;
        this.sf = (res & sign) !== 0n;
        return op === 7 ? a : res;
      }
      case 1:
        return this.#flagsLogic(a | b, bits);
      case 4:
        return this.#flagsLogic(a & b, bits);
      case 6:
        return this.#flagsLogic(a ^ b, bits);
    }
    throw new Error(`ALU op ${op} not modelled`);
  }
  #cond(cc: number): boolean {
    const base = [
      this.of,
      this.cf,
      this.zf,
      this.cf || this.zf,
      this.sf,
      false,
      this.sf !== this.of,
      this.zf || this.sf !== this.of,
    ][cc >> 1];
    if (cc >> 1 === 5) throw new Error("parity not modelled");
    return cc & 1 ? !base : base;
  }

  /** Runs one instruction. */
  step(): void {
    let rex = 0;
    let rep = false;
    let b = Number(this.fetch());
    if (b === 0xf3) {
      rep = true;
      b = Number(this.fetch());
    }
    if ((b & 0xf0) === 0x40) {
      rex = b;
      b = Number(this.fetch());
    }
    const w = rex & 8 ? 64 : 32;
    const getR = (i: number, bits = w) => this.r[i] & ((1n << BigInt(bits)) - 1n);
    const setR = (i: number, v: bigint, bits = w) => {
      // 32-bit writes zero-extend, as in 64-bit mode.
      this.r[i] = v & ((1n << BigInt(bits)) - 1n);
    };
    const modrm = () => {
      const m = Number(this.fetch());
      const mod = m >> 6;
      const reg = ((m >> 3) & 7) | (rex & 4 ? 8 : 0);
      let rm = m & 7;
      if (mod === 3) return { reg, isReg: true, rm: rm | (rex & 1 ? 8 : 0), ea: 0n, ripRel: false };
      let ea = 0n;
      let ripRel = false;
      if (rm === 4) {
        const sib = Number(this.fetch());
        const idx = ((sib >> 3) & 7) | (rex & 2 ? 8 : 0);
        const base = (sib & 7) | (rex & 1 ? 8 : 0);
        if (idx !== 4) ea += this.r[idx] << BigInt(sib >> 6);
        if ((sib & 7) === 5 && mod === 0) ea += BigInt.asIntN(32, this.fetch(4));
        else ea += this.r[base];
      } else if (rm === 5 && mod === 0) {
        ripRel = true;
        ea = BigInt.asIntN(32, this.fetch(4));
      } else {
        rm |= rex & 1 ? 8 : 0;
        ea = this.r[rm];
      }
      if (mod === 1) ea += BigInt.asIntN(8, this.fetch(1));
      if (mod === 2) ea += BigInt.asIntN(32, this.fetch(4));
      return { reg, isReg: false, rm: 0, ea, ripRel };
    };
    type ModRM = ReturnType<typeof modrm>;
    /** Effective address, after any immediate has been fetched (rip-relative needs the end). */
    const addr = (o: ModRM) => ((o.ripRel ? this.rip + o.ea : o.ea) & M64);
    const getRM = (o: ModRM, bits = w) => o.isReg ? getR(o.rm, bits) : this.read(addr(o), bits / 8);
    const setRM = (o: ModRM, v: bigint, bits = w) =>
      o.isReg ? setR(o.rm, v, bits) : this.write(addr(o), bits / 8, v);
    const simm = (n: number) => BigInt.asUintN(w, BigInt.asIntN(n * 8, this.fetch(n)));

    if ((b & 0xc7) <= 3 && b < 0x40 && (b & 1)) { // ALU r/m,r (01) and r,r/m (03)
      const o = modrm();
      const op = b >> 3;
      if (b & 2) setR(o.reg, this.#alu(op, getR(o.reg), getRM(o), w));
      else {
        const res = this.#alu(op, getRM(o), getR(o.reg), w);
        if (op !== 7) setRM(o, res);
      }
      return;
    }
    if (b === 0x0f) {
      const b2 = Number(this.fetch());
      if (b2 === 0xaf) {
        const o = modrm();
        setR(o.reg, BigInt.asUintN(w, getR(o.reg) * getRM(o)));
      } else if (b2 === 0x01) {
        const o = modrm();
        if ((o.reg & 7) !== 7 || o.isReg) throw new Error("0F 01: only invlpg m");
        addr(o); // no TLB here: nothing to flush
      } else if (b2 === 0x30) {
        this.#m.msrs.set(Number(getR(1, 32)), (getR(2, 32) << 32n) | getR(0, 32));
      } else if (b2 === 0x32) {
        const v = this.#m.msrs.get(Number(getR(1, 32))) ?? 0n;
        setR(0, v & 0xffff_ffffn, 64);
        setR(2, v >> 32n, 64);
      } else if (b2 >= 0x80 && b2 <= 0x8f) {
        const d = BigInt.asIntN(32, this.fetch(4));
        if (this.#cond(b2 - 0x80)) this.rip += d;
      } else throw new Error(`opcode 0f ${b2.toString(16)} not modelled`);
      return;
    }
    if (b >= 0x70 && b <= 0x7f) {
      const d = BigInt.asIntN(8, this.fetch(1));
      if (this.#cond(b - 0x70)) this.rip += d;
      return;
    }
    if (b >= 0xb8 && b <= 0xbf) {
      const i = (b - 0xb8) | (rex & 1 ? 8 : 0);
      setR(i, this.fetch(w / 8));
      return;
    }
    switch (b) {
      case 0x89: {
        const o = modrm();
        setRM(o, getR(o.reg));
        return;
      }
      case 0x8b: {
        const o = modrm();
        setR(o.reg, getRM(o));
        return;
      }
      case 0x8d: {
        const o = modrm();
        setR(o.reg, addr(o));
        return;
      }
      case 0xc7: {
        const o = modrm();
        const v = simm(4);
        setRM(o, v);
        return;
      }
      case 0x81:
      case 0x83: {
        const o = modrm();
        const v = simm(b === 0x81 ? 4 : 1);
        const res = this.#alu(o.reg & 7, getRM(o), v, w);
        if ((o.reg & 7) !== 7) setRM(o, res);
        return;
      }
      case 0xc1: {
        const o = modrm();
        const n = this.fetch(1) & (w === 64 ? 63n : 31n);
        const v = getRM(o);
        if ((o.reg & 7) === 4) setRM(o, this.#flagsLogic(v << n, w));
        else if ((o.reg & 7) === 5) setRM(o, this.#flagsLogic(v >> n, w));
        else throw new Error("C1: only shl/shr modelled");
        return;
      }
      case 0xf7: {
        const o = modrm();
        const ext = o.reg & 7;
        if (ext === 0) this.#flagsLogic(getRM(o) & simm(4), w);
        else if (ext === 6) {
          const divisor = getRM(o);
          const dividend = (getR(2) << BigInt(w)) | getR(0);
          if (divisor === 0n) throw new Error("#DE");
          setR(0, dividend / divisor);
          setR(2, dividend % divisor);
        } else throw new Error(`F7 /${ext} not modelled`);
        return;
      }
      case 0xff: {
        const o = modrm();
        if ((o.reg & 7) !== 0) throw new Error("FF: only inc modelled");
        const cf = this.cf;
        setRM(o, this.#alu(0, getRM(o), 1n, w));
        this.cf = cf;
        return;
      }
      case 0xeb:
      case 0xe9: {
        // Fetch first: `this.rip += fetch()` would add to the pre-fetch rip.
        const d = b === 0xeb ? BigInt.asIntN(8, this.fetch(1)) : BigInt.asIntN(32, this.fetch(4));
        this.rip += d;
        return;
      }
      case 0x90:
        if (!rep) throw new Error("nop not expected");
        return; // pause
      case 0xab: {
        if (!rep || w !== 64) throw new Error("only rep stosq");
        while (this.r[1] !== 0n) {
          this.write(this.r[7], 8, this.r[0]);
          this.r[7] += 8n;
          this.r[1] -= 1n;
        }
        return;
      }
      case 0xef: {
        assertEquals(getR(2, 16), BigInt(UCALL_PORT));
        const cmd = Number(getR(0, 32));
        const slotVa = this.r[15];
        assertEquals(this.read(slotVa, 8), BigInt(cmd), "slot +0 holds cmd");
        const labelGpa = this.read(slotVa + 8n, 8);
        const value = this.read(slotVa + 16n, 8);
        if (cmd === 1) this.events.push({ cmd: "done" });
        else if (cmd === 2) this.events.push({ cmd: "sync", label: this.label(labelGpa), value });
        else if (cmd === 3) this.events.push({ cmd: "fail", label: this.label(labelGpa), value });
        else throw new Error(`bad ucall ${cmd}`);
        return;
      }
      case 0xf4:
        this.halted = true;
        return;
    }
    throw new Error(
      `opcode ${b.toString(16)} not modelled (rip 0x${(this.rip - 1n).toString(16)})`,
    );
  }

  /** Runs until done/fail/hlt or the step budget. */
  run(budget = 5_000_000): void {
    for (let i = 0; i < budget && !this.halted; i++) {
      this.step();
      const last = this.events.at(-1);
      if (last && last.cmd !== "sync") return;
    }
  }
}

/** Boots payload `name` with `params` on `vcpus` interpreted vCPUs over the test memslots. */
export function boot(
  name: string,
  params: Record<string, bigint | string>,
  vcpus = 1,
): { m: Machine; cpus: Cpu[]; image: BootImage } {
  const guest: GuestSpec = { kind: "payload", name, params };
  const image = buildBootImage({ guest, slots: SLOTS, vcpus, system: SYSTEM });
  const m = new Machine(image, [SYSTEM, ...SLOTS]);
  m.msrs.set(MSR_IA32_PAT, image.vcpus[0].pat);
  const cpus = image.vcpus.map((_, i) => new Cpu(m, image, i));
  return { m, cpus, image };
}

/** The events of a payload that syncs `label` with 1, 2, …, `n`, then reports done. */
export function countedSyncs(label: string, n: number): object[] {
  const syncs = Array.from({ length: n }, (_, i) => ({ cmd: "sync", label, value: BigInt(i + 1) }));
  return [...syncs, { cmd: "done" }];
}
