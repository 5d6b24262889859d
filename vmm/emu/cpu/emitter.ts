/**
 * The code generator behind the block compiler (`compile.ts`): it emits
 * the JavaScript text of one block, with register reads and writes on
 * int32 halves, the software-TLB check of every memory access inlined
 * (a miss calls the slow paths of `CpuCore`), lazy-flag records,
 * and the jumps that leave the block or loop inside it.
 *
 * Names the generated code relies on: `c` (the CpuCore), `r` (its
 * registers), `fl` (its flags record), `tr`/`tw`/`vr`/`vw`/`tm` (TLB tags,
 * views and mask), `n` (instructions retired), `limit`, and `s` (the
 * status of the last slow write).
 *
 * @module
 */
import type { DecodedInst } from "./inst.ts";
import { cfExpr, condExpr, OP_LOGIC } from "./flags.ts";

const TWO32 = 4294967296;

/** A 64-bit value in generated code: JS expressions for its low and high int32 halves. */
export interface Val {
  /** Low half. */
  l: string;
  /** High half (`"0"` below 64 bits). */
  h: string;
}

const ALU_JS = ["", "|", "", "", "&", "", "^", ""];

/** A number as a JS literal that is safe in any expression position. */
export function lit(n: number): string {
  return n < 0 ? `(${n})` : String(n);
}

/** A 64-bit address (a JS number) as int32 halves. */
export function splitNum(x: number): [number, number] {
  return [x | 0, Math.floor(x / TWO32) | 0];
}

/** Whether an address (a JS number) is canonical (48-bit). */
export function canonicalNum(x: number): boolean {
  return x >= -(2 ** 47) && x < 2 ** 47;
}

/**
 * The code generator of one block: locals, register access, the inlined
 * TLB checks, lazy flags, arithmetic, and the control transfers that end
 * an instruction or the block. `compileBlock` drives it per
 * instruction (`compile.ts`).
 */
export class Emitter {
  /** Lines of generated code so far. */
  out: string[] = [];
  #tmp = 0;
  /** Static knowledge of which operation last set the flags in this block. */
  flags: { op: number; size: number } | null = null;
  /** Index of the current instruction in the block (instructions retired before it). */
  k = 0;
  /** Address of the current instruction. */
  rip = 0;
  /** Address after the current instruction. */
  next = 0;
  /** Where execution continues after this instruction inside the block. */
  cont = 0;
  /** The current instruction is a direct jmp/call the block follows (see `BlockInst`). */
  follow = false;
  /** Start address of a block that loops to itself, else -1. */
  loopStart = -1;
  /** Instructions per iteration of that loop. */
  loopLen = 0;

  /** Appends a line of code. */
  emit(s: string): void {
    this.out.push(s);
  }

  /** A fresh local name with prefix `p`. */
  t(p: string): string {
    return `${p}${this.#tmp++}`;
  }

  /** Code that leaves the block at the current instruction, nothing of it committed. */
  abort(): string {
    return `{ c.rip = ${lit(this.rip)}; return n + ${this.k}; }`;
  }

  // --- registers -----------------------------------------------------------

  /** Reads register `n` at `size` (legacy AH..BH without REX). */
  regRead(n: number, size: number, rex: number): Val {
    if (size === 8) return { l: `r[${2 * n}]`, h: `r[${2 * n + 1}]` };
    if (size === 4) return { l: `r[${2 * n}]`, h: "0" };
    if (size === 2) return { l: `(r[${2 * n}] & 65535)`, h: "0" };
    if (rex === 0 && n >= 4 && n < 8) return { l: `((r[${2 * (n - 4)}] >> 8) & 255)`, h: "0" };
    return { l: `(r[${2 * n}] & 255)`, h: "0" };
  }

  /** Writes register `n` at `size`: 32-bit writes zero the high half, 8/16-bit ones merge. */
  regWrite(n: number, size: number, rex: number, v: Val): void {
    if (size === 8) {
      this.emit(`r[${2 * n}] = ${v.l}; r[${2 * n + 1}] = ${v.h};`);
    } else if (size === 4) {
      this.emit(`r[${2 * n}] = ${v.l}; r[${2 * n + 1}] = 0;`);
    } else if (size === 2) {
      this.emit(`r[${2 * n}] = (r[${2 * n}] & -65536) | (${v.l} & 65535);`);
    } else if (rex === 0 && n >= 4 && n < 8) {
      const m = 2 * (n - 4);
      this.emit(`r[${m}] = (r[${m}] & -65281) | ((${v.l} & 255) << 8);`);
    } else {
      this.emit(`r[${2 * n}] = (r[${2 * n}] & -256) | (${v.l} & 255);`);
    }
  }

  /** Copies a value into fresh locals (so later register writes cannot change it). */
  capture(v: Val, size: number): Val {
    const l = this.t("v");
    if (size === 8) {
      const h = this.t("w");
      this.emit(`const ${l} = ${v.l}, ${h} = ${v.h};`);
      return { l, h };
    }
    this.emit(`const ${l} = ${v.l};`);
    return { l, h: "0" };
  }

  // --- memory ----------------------------------------------------------------

  /** The effective address of `d`'s memory operand, into fresh locals. */
  ea(d: DecodedInst): Val {
    const m = d.mem!;
    const l = this.t("el"), h = this.t("eh");
    if (m.ripRel) {
      const [lo, hi] = splitNum(this.next + m.disp);
      this.emit(`const ${l} = ${lit(lo)}, ${h} = ${lit(hi)};`);
      return { l, h };
    }
    if (m.base >= 0 && m.index < 0 && m.disp === 0) {
      this.emit(`const ${l} = r[${2 * m.base}], ${h} = r[${2 * m.base + 1}];`);
      return { l, h };
    }
    if (m.base < 0 && m.index < 0) {
      this.emit(`const ${l} = ${lit(m.disp)}, ${h} = ${m.disp < 0 ? -1 : 0};`);
      return { l, h };
    }
    const sh = [0, 0, 1, 0, 2, 0, 0, 0, 3][m.scale];
    const lo: string[] = [];
    const hi: string[] = [];
    if (m.base >= 0) {
      lo.push(`(r[${2 * m.base}] >>> 0)`);
      hi.push(`r[${2 * m.base + 1}]`);
    }
    if (m.index >= 0) {
      lo.push(`(r[${2 * m.index}] >>> 0) * ${m.scale}`);
      hi.push(sh === 0 ? `r[${2 * m.index + 1}]` : `(r[${2 * m.index + 1}] << ${sh})`);
    }
    if (m.disp !== 0) lo.push(lit(m.disp));
    const s = this.t("s");
    this.emit(`const ${s} = ${lo.join(" + ")};`);
    this.emit(
      `const ${l} = ${s} | 0, ${h} = (${hi.join(" + ")} + Math.floor(${s} / 4294967296)) | 0;`,
    );
    return { l, h };
  }

  /** The inline TLB check for `size` bytes at `a` in tag array `tags`. */
  hit(a: Val, size: number, tags: string, o: string, i: string): string {
    this.emit(`const ${o} = ${a.l} & 4095, ${i} = (${a.l} >>> 12) & tm;`);
    return `${o} <= ${4096 - size} && ${tags}[${i}] === ${a.h} * 1048576 + (${a.l} >>> 12)`;
  }

  /** Loads `size` bytes at `a`: inline TLB hit, else the slow read (which may leave the block). */
  load(a: Val, size: number): Val {
    const l = this.t("ml");
    const h = size === 8 ? this.t("mh") : "0";
    const o = this.t("o"), i = this.t("i");
    this.emit(size === 8 ? `let ${l}, ${h};` : `let ${l};`);
    const cond = this.hit(a, size, "tr", o, i);
    let fast: string;
    if (size === 8) {
      fast =
        `const dv = vr[${i}]; ${l} = dv.getInt32(${o}, true); ${h} = dv.getInt32(${o} + 4, true);`;
    } else if (size === 4) fast = `${l} = vr[${i}].getInt32(${o}, true);`;
    else if (size === 2) fast = `${l} = vr[${i}].getUint16(${o}, true);`;
    else fast = `${l} = vr[${i}].getUint8(${o});`;
    this.emit(`if (${cond}) { ${fast} } else {`);
    this.emit(`if (c.rd(${a.l}, ${a.h}, ${size}) !== 0) ${this.abort()}`);
    this.emit(size === 8 ? `${l} = c.vl; ${h} = c.vh; }` : `${l} = c.vl; }`);
    return { l, h };
  }

  /** Stores `size` bytes of `v` at `a`: inline TLB hit, else the slow write. */
  store(a: Val, size: number, v: Val): void {
    const o = this.t("o"), i = this.t("i");
    const cond = this.hit(a, size, "tw", o, i);
    let fast: string;
    if (size === 8) {
      fast =
        `const dv = vw[${i}]; dv.setInt32(${o}, ${v.l}, true); dv.setInt32(${o} + 4, ${v.h}, true);`;
    } else if (size === 4) fast = `vw[${i}].setInt32(${o}, ${v.l}, true);`;
    else if (size === 2) fast = `vw[${i}].setUint16(${o}, ${v.l}, true);`;
    else fast = `vw[${i}].setUint8(${o}, ${v.l});`;
    this.emit(`if (${cond}) { ${fast} } else {`);
    this.emit(`s = c.wr(${a.l}, ${a.h}, ${size}, ${v.l}, ${size === 8 ? v.h : "0"});`);
    this.emit(`if (s === 1) ${this.abort()} }`);
    this.storeCheck = true;
  }

  /** A slow write was emitted: {@linkcode Emitter.endInst} checks whether it asked to stop. */
  storeCheck = false;

  /** Makes sure `a` is writable before anything is committed (read-modify-write). */
  probe(a: Val, size: number): void {
    const o = this.t("o"), i = this.t("i");
    const cond = this.hit(a, size, "tw", o, i);
    this.emit(`if (!(${cond}) && c.probeW(${a.l}, ${a.h}, ${size}) !== 0) ${this.abort()}`);
  }

  /** Reads operand E (register or memory); `rmw` probes for the later write first. */
  readE(d: DecodedInst, size: number, rmw: boolean): { v: Val; a: Val | null } {
    if (d.rm >= 0) return { v: this.capture(this.regRead(d.rm, size, d.rex), size), a: null };
    const a = this.ea(d);
    if (rmw) this.probe(a, size);
    return { v: this.load(a, size), a };
  }

  /** Writes operand E: the register, or the address {@linkcode Emitter.readE} returned. */
  writeE(d: DecodedInst, size: number, a: Val | null, v: Val): void {
    if (a === null) this.regWrite(d.rm, size, d.rex, v);
    else this.store(a, size, v);
  }

  /** The immediate of `d` at `size`. */
  imm(d: DecodedInst, size: number): Val {
    if (size === 8) return { l: lit(d.imm | 0), h: lit(d.immHi | 0) };
    if (size === 4) return { l: lit(d.imm | 0), h: "0" };
    if (size === 2) return { l: String(d.imm & 0xffff), h: "0" };
    return { l: String(d.imm & 0xff), h: "0" };
  }

  // --- flags -----------------------------------------------------------------

  /** A local holding CF as 0/1, computed statically when the flags' producer is known. */
  carryIn(): string {
    const ci = this.t("ci");
    const f = this.flags;
    this.emit(`const ${ci} = ${f !== null ? `(${cfExpr(f.op, f.size)} ? 1 : 0)` : "c.cf()"};`);
    return ci;
  }

  /** The current instruction's flags are overwritten by the next one before anyone can see them. */
  flagsDead = false;

  /** Records the lazy-flags operands of `op` (skipped when the flags are dead). */
  setFlags(op: number, size: number, a: Val, b: Val, res: Val, aux?: string): void {
    if (this.flagsDead) {
      this.flags = null;
      return;
    }
    let s = `fl[0] = ${op}; fl[1] = ${size};`;
    if (op !== OP_LOGIC) s += ` fl[2] = ${a.l}; fl[4] = ${b.l};`;
    s += ` fl[6] = ${res.l};`;
    if (size === 8) {
      if (op !== OP_LOGIC) s += ` fl[3] = ${a.h}; fl[5] = ${b.h};`;
      s += ` fl[7] = ${res.h};`;
    }
    if (aux !== undefined) s += ` fl[8] = ${aux};`;
    this.emit(s);
    this.flags = { op, size };
  }

  /** Condition `cc` as an expression, specialised when the flags' producer is known. */
  cond(cc: number): string {
    const f = this.flags;
    return f !== null ? condExpr(cc, f.op, f.size) : `c.cond(${cc})`;
  }

  // --- arithmetic --------------------------------------------------------------

  /** Computes `a op b` at `size` (op = ALU index) into fresh locals. */
  arith(op: number, size: number, a: Val, b: Val, ci: string): Val {
    const l = this.t("rl"), h = size === 8 ? this.t("rh") : "0";
    if (size === 8) {
      const s = this.t("s");
      switch (op) {
        case 0:
        case 2:
          this.emit(`const ${s} = (${a.l} >>> 0) + (${b.l} >>> 0)${op === 2 ? ` + ${ci}` : ""};`);
          this.emit(
            `const ${l} = ${s} | 0, ${h} = (${a.h} + ${b.h} + (${s} > 4294967295 ? 1 : 0)) | 0;`,
          );
          break;
        case 3:
        case 5:
        case 7:
          this.emit(`const ${s} = (${a.l} >>> 0) - (${b.l} >>> 0)${op === 3 ? ` - ${ci}` : ""};`);
          this.emit(`const ${l} = ${s} | 0, ${h} = (${a.h} - ${b.h} - (${s} < 0 ? 1 : 0)) | 0;`);
          break;
        default:
          this.emit(
            `const ${l} = ${a.l} ${ALU_JS[op]} ${b.l}, ${h} = ${a.h} ${ALU_JS[op]} ${b.h};`,
          );
      }
      return { l, h };
    }
    const wrap = size === 4 ? "| 0" : `& ${size === 2 ? 65535 : 255}`;
    switch (op) {
      case 0:
        this.emit(`const ${l} = (${a.l} + ${b.l}) ${wrap};`);
        break;
      case 2:
        this.emit(`const ${l} = (${a.l} + ${b.l} + ${ci}) ${wrap};`);
        break;
      case 3:
        this.emit(`const ${l} = (${a.l} - ${b.l} - ${ci}) ${wrap};`);
        break;
      case 5:
      case 7:
        this.emit(`const ${l} = (${a.l} - ${b.l}) ${wrap};`);
        break;
      default:
        this.emit(`const ${l} = ${a.l} ${ALU_JS[op]} ${b.l};`);
    }
    return { l, h };
  }

  /** Ends the instruction: stop the block after it if a slow write asked to. */
  endInst(): void {
    if (this.storeCheck) {
      this.emit(`if (s === 2) { c.rip = ${lit(this.cont)}; return n + ${this.k + 1}; }`);
      this.storeCheck = false;
    }
  }

  // --- control -----------------------------------------------------------------

  /** Leaves the block for a constant target, or continues the loop when it is the block's start. */
  jumpTo(target: number): void {
    if (!canonicalNum(target)) {
      this.emit(
        `c.shutdown(${
          lit(this.rip)
        }, "#GP (non-canonical branch target) with no IDT: triple fault");`,
      );
      this.emit(`return n + ${this.k};`);
      return;
    }
    if (target === this.loopStart) {
      this.emit(`n += ${this.loopLen};`);
      this.emit(`if (limit - n < ${this.loopLen}) { c.rip = ${lit(target)}; return n; }`);
      this.emit(`continue;`);
      return;
    }
    this.emit(`c.rip = ${lit(target)}; return n + ${this.k + 1};`);
  }

  /** Jump to a 64-bit target held in locals, #GP if non-canonical (checked before commit). */
  checkTarget(t: Val): void {
    this.emit(
      `if (((${t.h} << 16) >> 16) !== ${t.h}) { c.shutdown(${
        lit(this.rip)
      }, "#GP (non-canonical branch target) with no IDT: triple fault"); return n + ${this.k}; }`,
    );
  }

  /** Pushes 8 bytes (the store may leave the block before RSP changes). */
  push(v: Val): void {
    const s = this.t("p");
    const sp = { l: this.t("sl"), h: this.t("sh") };
    this.emit(`const ${s} = (r[8] >>> 0) - 8;`);
    this.emit(`const ${sp.l} = ${s} | 0, ${sp.h} = (r[9] - (${s} < 0 ? 1 : 0)) | 0;`);
    this.store(sp, 8, v);
    this.emit(`r[8] = ${sp.l}; r[9] = ${sp.h};`);
  }
}
