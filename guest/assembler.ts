/**
 * A small x86-64 assembler for the guest payloads. It emits exactly the
 * instruction forms of `guest/ISA.md` (the emulator decodes that subset), in
 * Intel operand order, with labels (rel8/rel32 chosen automatically or
 * forced), RIP-relative label references and data directives.
 *
 * @example Usage
 * ```ts
 * import { Assembler, imm, mem, R } from "./mod.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const a = new Assembler();
 * a.mov(R.rax, imm(0x1000));
 * a.label("loop");
 * a.mov(mem({ base: R.rax }), R.rbx);
 * a.add(R.rax, imm(4096));
 * a.cmp(R.rax, R.rcx);
 * a.jcc("b", "loop");
 * a.hlt();
 * const { bytes, labels } = a.assemble(0x8000n);
 * assertEquals(labels.get("loop"), 0x8007n);
 * assertEquals(bytes.at(-1), 0xf4);
 * ```
 *
 * @module
 */

import {
  encode,
  type Encoded,
  type EncodeSpec,
  ESCAPE_0F,
  fitsEither,
  fitsSigned,
  le,
  PREFIX_REP,
} from "./_encoding.ts";
import {
  type Cond,
  CONDITIONS,
  type ControlReg,
  type Imm,
  type LabelImm,
  type Mem,
  type Reg,
  type RegMem,
  type Width,
} from "./operands.ts";

/** How a branch's displacement is sized: `auto` picks rel8 when it reaches. */
export type BranchSize = "auto" | "rel8" | "rel32";

/** The result of {@linkcode Assembler.assemble}. */
export interface Assembled {
  /** The machine code and data, to be loaded at `origin`. */
  bytes: Uint8Array;
  /** Every label's absolute address. */
  labels: ReadonlyMap<string, bigint>;
}

type Resolve = (label: string) => bigint;

type Item =
  | { kind: "bytes"; bytes: Uint8Array }
  | { kind: "label"; name: string }
  | { kind: "align"; to: number; fill: number }
  | {
    kind: "fixup";
    bytes: Uint8Array;
    patch: (out: Uint8Array, addr: bigint, resolve: Resolve) => void;
  }
  | {
    kind: "branch";
    short: readonly number[] | null;
    near: readonly number[] | null;
    target: string;
    long: boolean;
    forced: boolean;
  };

/** ALU operations of the `00–3B` block and `80/81/83 /n`. */
const ALU = { add: 0, or: 1, adc: 2, sbb: 3, and: 4, sub: 5, xor: 6, cmp: 7 } as const;
type AluOp = keyof typeof ALU;
/** Shift/rotate `/n` extensions of C0/C1/D0–D3. */
const SHIFT = { rol: 0, ror: 1, shl: 4, shr: 5, sar: 7 } as const;
type ShiftOp = keyof typeof SHIFT;

const OP_ALU_IMM8 = 0x80;
const OP_ALU_IMM = 0x81;
const OP_ALU_IMM8S = 0x83;
const OP_TEST_RM_R = 0x84;
const OP_XCHG = 0x87;
const OP_MOV_RM_R = 0x88;
const OP_MOV_R_RM = 0x8a;
const OP_LEA = 0x8d;
const OP_NOP = 0x90;
const OP_CDQE = 0x98;
const OP_CQO = 0x99;
const OP_STOSB = 0xaa;
const OP_STOSQ = 0xab;
const OP_MOVSB = 0xa4;
const OP_MOV_R_IMM = 0xb8;
const OP_SHIFT_IMM = 0xc0;
const OP_RET = 0xc3;
const OP_MOV_RM_IMM = 0xc6;
const OP_SHIFT_1 = 0xd0;
const OP_SHIFT_CL = 0xd2;
const OP_LOOP = 0xe2;
const OP_IN_IMM = 0xe4;
const OP_OUT_IMM = 0xe6;
const OP_CALL = 0xe8;
const OP_JMP32 = 0xe9;
const OP_JMP8 = 0xeb;
const OP_IN_DX = 0xec;
const OP_OUT_DX = 0xee;
const OP_HLT = 0xf4;
const OP_GRP3 = 0xf6;
const OP_CLI = 0xfa;
const OP_STI = 0xfb;
const OP_GRP4 = 0xfe;
const OP_GRP5 = 0xff;
const OP_PUSH_R = 0x50;
const OP_POP_R = 0x58;
const OP_PUSH_IMM32 = 0x68;
const OP_MOVSXD = 0x63;
const OP_IMUL_IMM32 = 0x69;
const OP_IMUL_IMM8 = 0x6b;
const OP_JCC8 = 0x70;
const OP2_JCC32 = 0x80;
const OP2_MOV_R_CR = 0x20;
const OP2_MOV_CR_R = 0x22;
const OP2_GRP7 = 0x01;
const OP2_WRMSR = 0x30;
const OP2_RDTSC = 0x31;
const OP2_RDMSR = 0x32;
const OP2_CPUID = 0xa2;
const OP2_IMUL = 0xaf;
const OP2_MOVZX8 = 0xb6;
const OP2_MOVZX16 = 0xb7;
const OP2_MOVSX8 = 0xbe;
const OP2_MOVSX16 = 0xbf;
const EXT_INVLPG = 7;
const EXT_CALL_RM = 2;
const EXT_JMP_RM = 4;
const DX_CODE = 2;

/** Opcode extensions of F6/F7 (group 3) and FE/FF (groups 4/5). */
const GRP3 = { test: 0, not: 2, neg: 3, mul: 4, imul: 5, div: 6, idiv: 7 } as const;
const GRP45 = { inc: 0, dec: 1 } as const;

const REL8_SIZE = 1;
const REL32_SIZE = 4;

/**
 * The assembler: call instruction methods in program order, then
 * {@linkcode Assembler.assemble}. Methods throw `RangeError`/`TypeError` at the
 * call for operands the subset cannot encode, so errors point at the source.
 */
export class Assembler {
  #items: Item[] = [];
  #labels = new Set<string>();
  #strings = new Map<string, string>();
  #unique = 0;

  // ---------------------------------------------------------------- labels, data

  /**
   * Defines a label at the current position.
   *
   * @param name the label (unique within this assembler)
   */
  label(name: string): void {
    if (this.#labels.has(name)) throw new RangeError(`Cannot redefine label "${name}"`);
    this.#labels.add(name);
    this.#items.push({ kind: "label", name });
  }

  /**
   * Returns a fresh label name (not yet placed) for code emitted by helpers.
   *
   * @param hint readable part of the name
   * @returns a name no other `newLabel` call returns
   */
  newLabel(hint = "L"): string {
    return `.${hint}.${this.#unique++}`;
  }

  /**
   * Interns a NUL-terminated ASCII string in a literal pool emitted after the
   * code, and returns its label (use it with `mem({ label })` and `lea`).
   *
   * @param text the string (ASCII)
   * @returns the label of its first byte
   */
  cstring(text: string): string {
    let name = this.#strings.get(text);
    if (!name) {
      name = `.str.${this.#strings.size}`;
      this.#strings.set(text, name);
    }
    return name;
  }

  /**
   * Emits raw bytes.
   *
   * @param bytes the bytes (numbers 0–255)
   */
  db(...bytes: number[]): void {
    for (const b of bytes) {
      if (!Number.isInteger(b) || b < -128 || b > 255) {
        throw new RangeError(`Cannot emit byte ${b}: not an 8-bit value`);
      }
    }
    this.#bytes(new Uint8Array(bytes.map((b) => b & 0xff)));
  }

  /**
   * Emits 16-bit little-endian words.
   *
   * @param values the values
   */
  dw(...values: (bigint | number)[]): void {
    for (const v of values) this.#bytes(new Uint8Array(le(BigInt(v), 2)));
  }

  /**
   * Emits 32-bit little-endian words.
   *
   * @param values the values
   */
  dd(...values: (bigint | number)[]): void {
    for (const v of values) this.#bytes(new Uint8Array(le(BigInt(v), 4)));
  }

  /**
   * Emits 64-bit little-endian words; a {@linkcode LabelImm} emits a label's address.
   *
   * @param values the values or label references
   */
  dq(...values: (bigint | number | LabelImm)[]): void {
    for (const v of values) {
      if (typeof v === "object") {
        this.#items.push({
          kind: "fixup",
          bytes: new Uint8Array(8),
          patch: (out, _addr, resolve) => out.set(le(resolve(v.label) + v.addend, 8)),
        });
      } else {
        this.#bytes(new Uint8Array(le(BigInt(v), 8)));
      }
    }
  }

  /**
   * Emits an ASCII string and its terminating NUL.
   *
   * @param text the string
   */
  asciz(text: string): void {
    const bytes = new Uint8Array(text.length + 1);
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0 || c > 0x7f) throw new RangeError(`Cannot emit "${text}": not NUL-free ASCII`);
      bytes[i] = c;
    }
    this.#bytes(bytes);
  }

  /**
   * Pads with `fill` to the next multiple of `to` (relative to address 0).
   *
   * @param to a power of two
   * @param fill the padding byte (default `nop`)
   */
  align(to: number, fill: number = OP_NOP): void {
    if (!Number.isInteger(to) || to <= 0 || (to & (to - 1)) !== 0) {
      throw new RangeError(`Cannot align to ${to}: not a power of two`);
    }
    this.#items.push({ kind: "align", to, fill });
  }

  /**
   * Reserves `size` zero bytes.
   *
   * @param size the number of bytes
   */
  space(size: number): void {
    this.#bytes(new Uint8Array(size));
  }

  // ---------------------------------------------------------------- moves

  /**
   * `mov`: `r/m, r` (88/89) · `r, r/m` (8A/8B) · `r, imm` (B8+r, or C7 /0 for a
   * 64-bit register and a sign-extended imm32, C6 /0 for 8-bit) · `r/m, imm`
   * (C6/C7 /0) · `r64, imm64` of a label address · `r64, crN` / `crN, r64` (0F 20/22).
   *
   * @param dst destination
   * @param src source
   */
  mov(dst: RegMem | ControlReg, src: RegMem | Imm | LabelImm | ControlReg): void {
    if (dst.kind === "cr" || src.kind === "cr") return this.#movCr(dst, src);
    if (src.kind === "labelImm") {
      const ref = src;
      if (dst.kind !== "reg" || dst.width !== 64) {
        throw new TypeError("Cannot load a label address: destination must be a 64-bit register");
      }
      const enc = encode({ width: 64, opcode: [OP_MOV_R_IMM], opReg: dst.code, imm: zeros(8) });
      this.#items.push({
        kind: "fixup",
        bytes: enc.bytes,
        patch: (out, _addr, resolve) => out.set(le(resolve(ref.label) + ref.addend, 8), 2),
      });
      return;
    }
    if (src.kind === "imm") {
      const w = widthOf(dst);
      src = signed64(src, w);
      if (dst.kind === "reg" && (w === 32 || w === 64)) {
        // B8+r carries imm32 (32-bit) or imm64 (64-bit, only when the value needs it or is forced).
        const wide = w === 64 && (src.width === 64 || !fitsSigned(src.value, 32));
        if (w === 32 || wide) {
          const size = w === 32 ? 4 : 8;
          checkImm(src.value, w === 32 ? "either32" : "either64");
          return this.#emit({
            width: w,
            opcode: [OP_MOV_R_IMM],
            opReg: dst.code,
            imm: immBytes(src.value, size),
          });
        }
      }
      return this.#emit({
        width: w,
        opcode: [w === 8 ? OP_MOV_RM_IMM : OP_MOV_RM_IMM + 1],
        reg: 0,
        rm: dst,
        byteRegs: regs(dst),
        imm: fullImm(src, w),
      });
    }
    if (src.kind === "reg") {
      const w = sameWidth(dst, src);
      return this.#emit({
        width: w,
        opcode: [w === 8 ? OP_MOV_RM_R : OP_MOV_RM_R + 1],
        reg: src.code,
        rm: dst,
        byteRegs: regs(dst, src),
      });
    }
    if (dst.kind !== "reg") throw new TypeError("Cannot move memory to memory");
    const w = sameWidth(dst, src);
    this.#emit({
      width: w,
      opcode: [w === 8 ? OP_MOV_R_RM : OP_MOV_R_RM + 1],
      reg: dst.code,
      rm: src,
      byteRegs: regs(dst),
    });
  }

  /**
   * `movzx r, r/m8` (0F B6) · `movzx r, r/m16` (0F B7).
   *
   * @param dst 16/32/64-bit register
   * @param src 8- or 16-bit register or memory (memory needs a width)
   */
  movzx(dst: Reg, src: RegMem): void {
    this.#extend(dst, src, OP2_MOVZX8, OP2_MOVZX16);
  }

  /**
   * `movsx r, r/m8` (0F BE) · `movsx r, r/m16` (0F BF).
   *
   * @param dst 16/32/64-bit register
   * @param src 8- or 16-bit register or memory (memory needs a width)
   */
  movsx(dst: Reg, src: RegMem): void {
    this.#extend(dst, src, OP2_MOVSX8, OP2_MOVSX16);
  }

  /**
   * `movsxd r64, r/m32` (REX.W 63).
   *
   * @param dst 64-bit register
   * @param src 32-bit register or memory
   */
  movsxd(dst: Reg, src: RegMem): void {
    if (dst.width !== 64 || widthOf(src, 32) !== 32) {
      throw new TypeError("Cannot encode movsxd: needs r64, r/m32");
    }
    this.#emit({ width: 64, opcode: [OP_MOVSXD], reg: dst.code, rm: src });
  }

  /**
   * `lea r, m` (8D).
   *
   * @param dst 16/32/64-bit register
   * @param src memory operand (RIP-relative labels give absolute addresses)
   */
  lea(dst: Reg, src: Mem): void {
    if (dst.width === 8) throw new TypeError("Cannot encode lea with an 8-bit register");
    this.#emit({ width: dst.width, opcode: [OP_LEA], reg: dst.code, rm: src });
  }

  /**
   * `xchg r/m, r` (87), 16/32/64-bit.
   *
   * @param dst register or memory
   * @param src register
   */
  xchg(dst: RegMem, src: Reg): void {
    const w = sameWidth(dst, src);
    if (w === 8) throw new TypeError("Cannot encode 8-bit xchg: not in the subset");
    this.#emit({ width: w, opcode: [OP_XCHG], reg: src.code, rm: dst });
  }

  /**
   * `push r64` (50+r) · `push imm32` (68, sign-extended to 64).
   *
   * @param src 64-bit register or immediate
   */
  push(src: Reg | Imm): void {
    if (src.kind === "imm") {
      checkImm(src.value, "signed32");
      return this.#emit({ width: null, opcode: [OP_PUSH_IMM32], imm: immBytes(src.value, 4) });
    }
    if (src.width !== 64) throw new TypeError(`Cannot push "${src.name}": only 64-bit registers`);
    this.#emit({ width: null, opcode: [OP_PUSH_R], opReg: src.code });
  }

  /**
   * `pop r64` (58+r).
   *
   * @param dst 64-bit register
   */
  pop(dst: Reg): void {
    if (dst.width !== 64) throw new TypeError(`Cannot pop "${dst.name}": only 64-bit registers`);
    this.#emit({ width: null, opcode: [OP_POP_R], opReg: dst.code });
  }

  // ---------------------------------------------------------------- ALU

  /**
   * `add` (00–03, 80/81/83 /0). Register sources use the `r/m, r` form,
   * memory sources `r, r/m`; immediates use imm8 when they fit (force with `imm(v, 32)`).
   *
   * @param dst register or memory
   * @param src register, memory or immediate
   */
  add(dst: RegMem, src: RegMem | Imm): void {
    this.#alu("add", dst, src);
  }

  /**
   * `or` (08–0B, 80/81/83 /1).
   *
   * @param dst register or memory
   * @param src register, memory or immediate
   */
  or(dst: RegMem, src: RegMem | Imm): void {
    this.#alu("or", dst, src);
  }

  /**
   * `adc` (10–13, 80/81/83 /2).
   *
   * @param dst register or memory
   * @param src register, memory or immediate
   */
  adc(dst: RegMem, src: RegMem | Imm): void {
    this.#alu("adc", dst, src);
  }

  /**
   * `sbb` (18–1B, 80/81/83 /3).
   *
   * @param dst register or memory
   * @param src register, memory or immediate
   */
  sbb(dst: RegMem, src: RegMem | Imm): void {
    this.#alu("sbb", dst, src);
  }

  /**
   * `and` (20–23, 80/81/83 /4).
   *
   * @param dst register or memory
   * @param src register, memory or immediate
   */
  and(dst: RegMem, src: RegMem | Imm): void {
    this.#alu("and", dst, src);
  }

  /**
   * `sub` (28–2B, 80/81/83 /5).
   *
   * @param dst register or memory
   * @param src register, memory or immediate
   */
  sub(dst: RegMem, src: RegMem | Imm): void {
    this.#alu("sub", dst, src);
  }

  /**
   * `xor` (30–33, 80/81/83 /6).
   *
   * @param dst register or memory
   * @param src register, memory or immediate
   */
  xor(dst: RegMem, src: RegMem | Imm): void {
    this.#alu("xor", dst, src);
  }

  /**
   * `cmp` (38–3B, 80/81/83 /7).
   *
   * @param dst register or memory
   * @param src register, memory or immediate
   */
  cmp(dst: RegMem, src: RegMem | Imm): void {
    this.#alu("cmp", dst, src);
  }

  /**
   * `test r/m, r` (84/85) · `test r/m, imm` (F6/F7 /0).
   *
   * @param dst register or memory
   * @param src register or immediate
   */
  test(dst: RegMem, src: Reg | Imm): void {
    if (src.kind === "imm") {
      const w = widthOf(dst);
      src = signed64(src, w);
      return this.#emit({
        width: w,
        opcode: [w === 8 ? OP_GRP3 : OP_GRP3 + 1],
        reg: GRP3.test,
        rm: dst,
        byteRegs: regs(dst),
        imm: fullImm(src, w),
      });
    }
    const w = sameWidth(dst, src);
    this.#emit({
      width: w,
      opcode: [w === 8 ? OP_TEST_RM_R : OP_TEST_RM_R + 1],
      reg: src.code,
      rm: dst,
      byteRegs: regs(dst, src),
    });
  }

  /**
   * `inc r/m` (FE/FF /0).
   *
   * @param dst register or memory (memory needs a width)
   */
  inc(dst: RegMem): void {
    this.#unary([OP_GRP4, OP_GRP5], GRP45.inc, dst);
  }

  /**
   * `dec r/m` (FE/FF /1).
   *
   * @param dst register or memory (memory needs a width)
   */
  dec(dst: RegMem): void {
    this.#unary([OP_GRP4, OP_GRP5], GRP45.dec, dst);
  }

  /**
   * `not r/m` (F6/F7 /2).
   *
   * @param dst register or memory (memory needs a width)
   */
  not(dst: RegMem): void {
    this.#unary([OP_GRP3, OP_GRP3 + 1], GRP3.not, dst);
  }

  /**
   * `neg r/m` (F6/F7 /3).
   *
   * @param dst register or memory (memory needs a width)
   */
  neg(dst: RegMem): void {
    this.#unary([OP_GRP3, OP_GRP3 + 1], GRP3.neg, dst);
  }

  /**
   * `mul r/m` (F7 /4): rdx:rax = rax * src (16/32/64-bit).
   *
   * @param src register or memory
   */
  mul(src: RegMem): void {
    this.#muldiv(GRP3.mul, src);
  }

  /**
   * `div r/m` (F7 /6): unsigned rdx:rax / src.
   *
   * @param src register or memory
   */
  div(src: RegMem): void {
    this.#muldiv(GRP3.div, src);
  }

  /**
   * `idiv r/m` (F7 /7): signed rdx:rax / src.
   *
   * @param src register or memory
   */
  idiv(src: RegMem): void {
    this.#muldiv(GRP3.idiv, src);
  }

  /**
   * `imul r/m` (F7 /5) · `imul r, r/m` (0F AF) · `imul r, r/m, imm` (6B ib / 69 id).
   *
   * @param a the one operand, or the destination register
   * @param b the source (two- and three-operand forms)
   * @param c the immediate (three-operand form)
   */
  imul(a: RegMem, b?: RegMem, c?: Imm): void {
    if (!b) return this.#muldiv(GRP3.imul, a);
    if (a.kind !== "reg") throw new TypeError("Cannot encode imul: destination must be a register");
    const w = sameWidth(a, b);
    if (w === 8) throw new TypeError("Cannot encode 8-bit imul: not in the subset");
    if (!c) return this.#emit({ width: w, opcode: [ESCAPE_0F, OP2_IMUL], reg: a.code, rm: b });
    c = signed64(c, w);
    const short = c.width === 8 || (c.width === undefined && fitsSigned(c.value, 8));
    if (short) checkImm(c.value, "signed8");
    this.#emit({
      width: w,
      opcode: [short ? OP_IMUL_IMM8 : OP_IMUL_IMM32],
      reg: a.code,
      rm: b,
      imm: short ? immBytes(c.value, 1) : fullImm(c, w),
    });
  }

  /**
   * `shl r/m, imm8|1|cl` (C0/C1, D0/D1, D2/D3 /4). A count of 1 uses D0/D1
   * unless the immediate is forced to 8 bits.
   *
   * @param dst register or memory
   * @param count immediate or `R.cl`
   */
  shl(dst: RegMem, count: Imm | Reg): void {
    this.#shift("shl", dst, count);
  }

  /**
   * `shr r/m, imm8|1|cl` (/5).
   *
   * @param dst register or memory
   * @param count immediate or `R.cl`
   */
  shr(dst: RegMem, count: Imm | Reg): void {
    this.#shift("shr", dst, count);
  }

  /**
   * `sar r/m, imm8|1|cl` (/7).
   *
   * @param dst register or memory
   * @param count immediate or `R.cl`
   */
  sar(dst: RegMem, count: Imm | Reg): void {
    this.#shift("sar", dst, count);
  }

  /**
   * `rol r/m, imm8|1|cl` (/0).
   *
   * @param dst register or memory
   * @param count immediate or `R.cl`
   */
  rol(dst: RegMem, count: Imm | Reg): void {
    this.#shift("rol", dst, count);
  }

  /**
   * `ror r/m, imm8|1|cl` (/1).
   *
   * @param dst register or memory
   * @param count immediate or `R.cl`
   */
  ror(dst: RegMem, count: Imm | Reg): void {
    this.#shift("ror", dst, count);
  }

  /** `cqo` (REX.W 99): sign-extend rax into rdx:rax. */
  cqo(): void {
    this.#emit({ width: 64, opcode: [OP_CQO] });
  }

  /** `cdqe` (REX.W 98): sign-extend eax into rax. */
  cdqe(): void {
    this.#emit({ width: 64, opcode: [OP_CDQE] });
  }

  // ---------------------------------------------------------------- control

  /**
   * `jmp rel8/rel32` to a label (EB/E9) · `jmp r/m64` (FF /4).
   *
   * @param target a label or a 64-bit register/memory operand
   * @param size displacement size for a label (default `auto`)
   */
  jmp(target: string | RegMem, size: BranchSize = "auto"): void {
    if (typeof target !== "string") return this.#indirect(EXT_JMP_RM, target);
    this.#branch([OP_JMP8], [OP_JMP32], target, size);
  }

  /**
   * `jcc rel8/rel32` (70+cc / 0F 80+cc).
   *
   * @param cond the condition, e.g. `"b"`, `"ne"`, `"ge"`
   * @param target the label
   * @param size displacement size (default `auto`)
   */
  jcc(cond: Cond, target: string, size: BranchSize = "auto"): void {
    const cc = CONDITIONS[cond];
    if (cc === undefined) throw new RangeError(`Cannot encode jcc: unknown condition "${cond}"`);
    this.#branch([OP_JCC8 + cc], [ESCAPE_0F, OP2_JCC32 + cc], target, size);
  }

  /**
   * `call rel32` to a label (E8) · `call r/m64` (FF /2).
   *
   * @param target a label or a 64-bit register/memory operand
   */
  call(target: string | RegMem): void {
    if (typeof target !== "string") return this.#indirect(EXT_CALL_RM, target);
    this.#branch(null, [OP_CALL], target, "rel32");
  }

  /** `ret` (C3). */
  ret(): void {
    this.#emit({ width: null, opcode: [OP_RET] });
  }

  /**
   * `loop rel8` (E2): decrement rcx, jump if non-zero.
   *
   * @param target the label (within rel8 reach)
   */
  loop(target: string): void {
    this.#branch([OP_LOOP], null, target, "rel8");
  }

  // ---------------------------------------------------------------- system

  /**
   * `in al/ax/eax, dx` (EC/ED) · `in al/eax, imm8` (E4/E5).
   *
   * @param dst `R.al`, `R.ax` or `R.eax`
   * @param port `R.dx` or an 8-bit port number
   */
  in(dst: Reg, port: Reg | Imm): void {
    this.#io(OP_IN_DX, OP_IN_IMM, dst, port);
  }

  /**
   * `out dx, al/ax/eax` (EE/EF) · `out imm8, al/eax` (E6/E7).
   *
   * @param port `R.dx` or an 8-bit port number
   * @param src `R.al`, `R.ax` or `R.eax`
   */
  out(port: Reg | Imm, src: Reg): void {
    this.#io(OP_OUT_DX, OP_OUT_IMM, src, port);
  }

  /** `out dx, eax` (EF), the ucall instruction. */
  out_dx_eax(): void {
    this.#emit({ width: null, opcode: [OP_OUT_DX + 1] });
  }

  /** `hlt` (F4). */
  hlt(): void {
    this.#emit({ width: null, opcode: [OP_HLT] });
  }

  /** `nop` (90). */
  nop(): void {
    this.#emit({ width: null, opcode: [OP_NOP] });
  }

  /** `pause` (F3 90). */
  pause(): void {
    this.#emit({ width: null, prefixes: [PREFIX_REP], opcode: [OP_NOP] });
  }

  /** `cpuid` (0F A2). */
  cpuid(): void {
    this.#emit({ width: null, opcode: [ESCAPE_0F, OP2_CPUID] });
  }

  /** `rdtsc` (0F 31). */
  rdtsc(): void {
    this.#emit({ width: null, opcode: [ESCAPE_0F, OP2_RDTSC] });
  }

  /** `wrmsr` (0F 30): MSR[ecx] = edx:eax. */
  wrmsr(): void {
    this.#emit({ width: null, opcode: [ESCAPE_0F, OP2_WRMSR] });
  }

  /** `rdmsr` (0F 32): edx:eax = MSR[ecx]. */
  rdmsr(): void {
    this.#emit({ width: null, opcode: [ESCAPE_0F, OP2_RDMSR] });
  }

  /** `cli` (FA). */
  cli(): void {
    this.#emit({ width: null, opcode: [OP_CLI] });
  }

  /** `sti` (FB). */
  sti(): void {
    this.#emit({ width: null, opcode: [OP_STI] });
  }

  /**
   * `invlpg m` (0F 01 /7).
   *
   * @param target the memory operand whose page's translation is flushed
   */
  invlpg(target: Mem): void {
    if (target.kind !== "mem") throw new TypeError("Cannot encode invlpg: needs a memory operand");
    this.#emit({ width: null, opcode: [ESCAPE_0F, OP2_GRP7], reg: EXT_INVLPG, rm: target });
  }

  /** `rep stosb` (F3 AA). */
  rep_stosb(): void {
    this.#emit({ width: null, prefixes: [PREFIX_REP], opcode: [OP_STOSB] });
  }

  /** `rep stosq` (F3 REX.W AB). */
  rep_stosq(): void {
    this.#emit({ width: 64, prefixes: [PREFIX_REP], opcode: [OP_STOSQ] });
  }

  /** `rep movsb` (F3 A4). */
  rep_movsb(): void {
    this.#emit({ width: null, prefixes: [PREFIX_REP], opcode: [OP_MOVSB] });
  }

  // ---------------------------------------------------------------- assembly

  /**
   * Lays out the program at `origin`, sizes the branches (rel8 where it
   * reaches unless forced) and resolves labels. Does not change the
   * assembler, so it can be called again with another origin.
   *
   * @param origin the load address of the first byte
   * @returns the bytes and every label's address
   * @throws {RangeError} for an undefined label or a forced rel8 out of reach
   */
  assemble(origin: bigint = 0n): Assembled {
    const items: Item[] = this.#items.map((it) => it.kind === "branch" ? { ...it } : it);
    for (const [text, name] of this.#strings) {
      items.push({ kind: "label", name });
      const bytes = new Uint8Array(text.length + 1);
      for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
      items.push({ kind: "bytes", bytes });
    }
    // Relaxation: branches only ever grow (rel8 → rel32), so this terminates.
    let addrs: bigint[];
    let labels: Map<string, bigint>;
    for (;;) {
      ({ addrs, labels } = layout(items, origin));
      let grown = false;
      for (let i = 0; i < items.length; i++) {
        const it = items[i];
        if (it.kind !== "branch" || it.long || it.forced) continue;
        const disp = target(labels, it.target) - (addrs[i] + BigInt(it.short!.length + REL8_SIZE));
        if (!fitsSigned(disp, 8)) {
          if (!it.near) throw new RangeError(`Cannot reach "${it.target}" with rel8`);
          it.long = true;
          grown = true;
        }
      }
      if (!grown) break;
    }
    const end = addrs.length ? addrs[addrs.length - 1] : origin;
    const out = new Uint8Array(Number(end - origin));
    const resolve = (name: string) => target(labels, name);
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      const at = Number(addrs[i] - origin);
      switch (it.kind) {
        case "bytes":
          out.set(it.bytes, at);
          break;
        case "fixup": {
          const bytes = it.bytes.slice();
          it.patch(bytes, addrs[i], resolve);
          out.set(bytes, at);
          break;
        }
        case "align":
          out.fill(it.fill, at, Number(addrs[i + 1] - origin));
          break;
        case "branch": {
          const op = it.long ? it.near! : it.short!;
          const size = it.long ? REL32_SIZE : REL8_SIZE;
          const next = addrs[i] + BigInt(op.length + size);
          const disp = resolve(it.target) - next;
          if (!fitsSigned(disp, size * 8)) {
            throw new RangeError(`Cannot reach "${it.target}" with rel${size * 8}`);
          }
          out.set([...op, ...le(disp, size)], at);
          break;
        }
        case "label":
          break;
      }
    }
    return { bytes: out, labels };
  }

  // ---------------------------------------------------------------- internals

  #bytes(bytes: Uint8Array): void {
    this.#items.push({ kind: "bytes", bytes });
  }

  #emit(spec: EncodeSpec): void {
    const enc: Encoded = encode(spec);
    const m = spec.rm;
    if (m && m.kind === "mem" && m.label !== undefined) {
      const label = m.label;
      const at = enc.ripDispAt!;
      this.#items.push({
        kind: "fixup",
        bytes: enc.bytes,
        patch: (out, addr, resolve) => {
          const next = addr + BigInt(out.length);
          const disp = resolve(label) + BigInt(m.disp) - next;
          if (!fitsSigned(disp, 32)) {
            throw new RangeError(`Cannot reach "${label}" with rip+disp32`);
          }
          out.set(le(disp, 4), at);
        },
      });
      return;
    }
    this.#bytes(enc.bytes);
  }

  #branch(
    short: number[] | null,
    near: number[] | null,
    label: string,
    size: BranchSize,
  ): void {
    if (size === "rel8" && !short) throw new RangeError("Cannot encode this branch with rel8");
    if (size === "rel32" && !near) throw new RangeError("Cannot encode this branch with rel32");
    this.#items.push({
      kind: "branch",
      short,
      near,
      target: label,
      long: size === "rel32" || !short,
      forced: size !== "auto",
    });
  }

  #indirect(ext: number, target: RegMem): void {
    if (widthOf(target, 64) !== 64) {
      throw new TypeError("Cannot branch through a register or memory that is not 64-bit");
    }
    this.#emit({ width: null, opcode: [OP_GRP5], reg: ext, rm: target });
  }

  #alu(op: AluOp, dst: RegMem, src: RegMem | Imm): void {
    const n = ALU[op];
    if (src.kind === "imm") {
      const w = widthOf(dst);
      src = signed64(src, w);
      if (w === 8) {
        checkImm(src.value, "either8");
        return this.#emit({
          width: w,
          opcode: [OP_ALU_IMM8],
          reg: n,
          rm: dst,
          byteRegs: regs(dst),
          imm: immBytes(src.value, 1),
        });
      }
      const short = src.width === 8 || (src.width === undefined && fitsSigned(src.value, 8));
      if (short) checkImm(src.value, "signed8");
      return this.#emit({
        width: w,
        opcode: [short ? OP_ALU_IMM8S : OP_ALU_IMM],
        reg: n,
        rm: dst,
        imm: short ? immBytes(src.value, 1) : fullImm(src, w),
      });
    }
    const base = n << 3;
    if (src.kind === "reg") {
      const w = sameWidth(dst, src);
      return this.#emit({
        width: w,
        opcode: [base + (w === 8 ? 0 : 1)],
        reg: src.code,
        rm: dst,
        byteRegs: regs(dst, src),
      });
    }
    if (dst.kind !== "reg") throw new TypeError(`Cannot encode ${op} with two memory operands`);
    const w = sameWidth(dst, src);
    this.#emit({
      width: w,
      opcode: [base + (w === 8 ? 2 : 3)],
      reg: dst.code,
      rm: src,
      byteRegs: regs(dst),
    });
  }

  #unary(opcodes: [number, number], ext: number, dst: RegMem): void {
    const w = widthOf(dst);
    this.#emit({
      width: w,
      opcode: [w === 8 ? opcodes[0] : opcodes[1]],
      reg: ext,
      rm: dst,
      byteRegs: regs(dst),
    });
  }

  #muldiv(ext: number, src: RegMem): void {
    const w = widthOf(src);
    if (w === 8) throw new TypeError("Cannot encode 8-bit mul/div: the subset has only F7");
    this.#emit({ width: w, opcode: [OP_GRP3 + 1], reg: ext, rm: src });
  }

  #shift(op: ShiftOp, dst: RegMem, count: Imm | Reg): void {
    const w = widthOf(dst);
    const wide = w === 8 ? 0 : 1;
    const base = { width: w, reg: SHIFT[op], rm: dst, byteRegs: regs(dst) };
    if (count.kind === "reg") {
      if (count.code !== 1 || count.width !== 8) {
        throw new TypeError(`Cannot shift by "${count.name}": only cl`);
      }
      return this.#emit({ ...base, opcode: [OP_SHIFT_CL + wide] });
    }
    checkImm(count.value, "unsigned8");
    if (count.value === 1n && count.width === undefined) {
      return this.#emit({ ...base, opcode: [OP_SHIFT_1 + wide] });
    }
    this.#emit({ ...base, opcode: [OP_SHIFT_IMM + wide], imm: immBytes(count.value, 1) });
  }

  #extend(dst: Reg, src: RegMem, op8: number, op16: number): void {
    const sw = widthOf(src);
    if (sw !== 8 && sw !== 16) throw new TypeError("Cannot extend: source must be 8 or 16 bits");
    if (dst.width === 8 || dst.width <= sw) {
      throw new TypeError(`Cannot extend into "${dst.name}": must be wider than the source`);
    }
    this.#emit({
      width: dst.width,
      opcode: [ESCAPE_0F, sw === 8 ? op8 : op16],
      reg: dst.code,
      rm: src,
      byteRegs: regs(src),
    });
  }

  #movCr(dst: RegMem | ControlReg, src: RegMem | Imm | LabelImm | ControlReg): void {
    if (dst.kind === "cr" && src.kind === "reg" && src.width === 64) {
      return this.#emit({ width: null, opcode: [ESCAPE_0F, OP2_MOV_CR_R], reg: dst.code, rm: src });
    }
    if (src.kind === "cr" && dst.kind === "reg" && dst.width === 64) {
      return this.#emit({ width: null, opcode: [ESCAPE_0F, OP2_MOV_R_CR], reg: src.code, rm: dst });
    }
    throw new TypeError("Cannot encode mov with a control register: needs a 64-bit register");
  }

  #io(dxOp: number, immOp: number, acc: Reg, port: Reg | Imm): void {
    if (acc.code !== 0 || acc.width === 64) {
      throw new TypeError(`Cannot do port I/O with "${acc.name}": only al, ax, eax`);
    }
    const wide = acc.width === 8 ? 0 : 1;
    if (port.kind === "reg") {
      if (port.code !== DX_CODE || port.width !== 16) {
        throw new TypeError(`Cannot use "${port.name}" as a port: only dx`);
      }
      return this.#emit({ width: acc.width === 16 ? 16 : null, opcode: [dxOp + wide] });
    }
    if (acc.width === 16) throw new TypeError("Cannot encode in/out ax with an imm8 port");
    checkImm(port.value, "unsigned8");
    this.#emit({ width: null, opcode: [immOp + wide], imm: immBytes(port.value, 1) });
  }
}

function layout(items: Item[], origin: bigint): { addrs: bigint[]; labels: Map<string, bigint> } {
  const addrs: bigint[] = [];
  const labels = new Map<string, bigint>();
  let pc = origin;
  for (const it of items) {
    addrs.push(pc);
    switch (it.kind) {
      case "bytes":
      case "fixup":
        pc += BigInt(it.bytes.length);
        break;
      case "label":
        labels.set(it.name, pc);
        break;
      case "align": {
        const to = BigInt(it.to);
        pc = (pc + to - 1n) / to * to;
        break;
      }
      case "branch":
        pc += BigInt(it.long ? it.near!.length + REL32_SIZE : it.short!.length + REL8_SIZE);
        break;
    }
  }
  addrs.push(pc);
  return { addrs, labels };
}

function target(labels: Map<string, bigint>, name: string): bigint {
  const addr = labels.get(name);
  if (addr === undefined) throw new RangeError(`Cannot resolve label "${name}": not defined`);
  return addr;
}

function zeros(n: number): Uint8Array {
  return new Uint8Array(n);
}

function regs(...ops: RegMem[]): Reg[] {
  return ops.filter((o): o is Reg => o.kind === "reg");
}

/** Width of an r/m operand; memory without a width takes `fallback` or is an error. */
function widthOf(op: RegMem, fallback?: Width): Width {
  if (op.kind === "reg") return op.width;
  const w = op.width ?? fallback;
  if (w === undefined) {
    throw new TypeError("Cannot infer the operand size: give the memory operand a width");
  }
  return w;
}

function sameWidth(a: RegMem, b: RegMem): Width {
  const wa = a.kind === "reg" ? a.width : a.width;
  const wb = b.kind === "reg" ? b.width : b.width;
  const w = wa ?? wb;
  if (w === undefined) throw new TypeError("Cannot infer the operand size");
  if ((wa !== undefined && wa !== w) || (wb !== undefined && wb !== w)) {
    throw new TypeError(`Cannot mix operand sizes ${wa} and ${wb}`);
  }
  return w;
}

type ImmRange = "signed8" | "unsigned8" | "either8" | "signed32" | "either32" | "either64";

function checkImm(value: bigint, range: ImmRange): void {
  const ok = {
    signed8: () => fitsSigned(value, 8),
    unsigned8: () => value >= 0n && value < 256n,
    either8: () => fitsEither(value, 8),
    signed32: () => fitsSigned(value, 32),
    either32: () => fitsEither(value, 32),
    either64: () => fitsEither(value, 64),
  }[range]();
  if (!ok) throw new RangeError(`Cannot encode immediate ${value}: out of range (${range})`);
}

/**
 * For 64-bit operations, reads an immediate in [2^63, 2^64) as the negative
 * value with the same bits, so `0xffff…f000` encodes as a sign-extended imm.
 */
function signed64(src: Imm, w: Width): Imm {
  if (w !== 64 || !fitsEither(src.value, 64)) return src;
  return { ...src, value: BigInt.asIntN(64, src.value) };
}

function immBytes(value: bigint, size: number): Uint8Array {
  return new Uint8Array(le(value, size));
}

/** The full-size immediate of an operation of width `w`: ib, iw, id, or id sign-extended to 64. */
function fullImm(src: Imm, w: Width): Uint8Array {
  switch (w) {
    case 8:
      checkImm(src.value, "either8");
      return immBytes(src.value, 1);
    case 16:
      if (!fitsEither(src.value, 16)) {
        throw new RangeError(`Cannot encode immediate ${src.value}: not a 16-bit value`);
      }
      return immBytes(src.value, 2);
    case 32:
      checkImm(src.value, "either32");
      return immBytes(src.value, 4);
    case 64:
      checkImm(src.value, "signed32");
      return immBytes(src.value, 4);
  }
}
