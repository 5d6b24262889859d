/**
 * A small x86-64 assembler for the guest payloads. It emits exactly the
 * instruction forms of `guest/ISA.md` (the emulator decodes that subset), in
 * Intel operand order, with labels (rel8/rel32 chosen automatically or
 * forced), RIP-relative label references and data directives.
 *
 * This module is the program being built (instructions and data in order,
 * labels, the literal pool). The encoding forms live per instruction family
 * in `guest/asm/` (`moves.ts`, `arith.ts`, `system.ts`, over the ModRM/SIB
 * encoder `encoding.ts` and the operand rules `operand_rules.ts`); layout,
 * branch relaxation and label fixups in `guest/asm/layout.ts`.
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
  ALU,
  aluForm,
  type AluMethods,
  type AluOp,
  imulForm,
  MULDIV,
  type MulDivOp,
  SHIFT,
  shiftForm,
  type ShiftMethods,
  type ShiftOp,
  testForm,
  UNARY,
  unaryForm,
  type UnaryMethods,
  type UnaryOp,
} from "./asm/arith.ts";
import { encode, type EncodeSpec, fitsSigned, le } from "./asm/encoding.ts";
import { type Assembled, assembleItems, type Item } from "./asm/layout.ts";
import {
  extendForm,
  leaForm,
  movCrForm,
  movForm,
  movLabelAddress,
  movsxdForm,
  popForm,
  pushForm,
  xchgForm,
} from "./asm/moves.ts";
import {
  BRANCHES,
  type BranchOpcodes,
  indirectForm,
  invlpgForm,
  ioForm,
  jccOpcodes,
  NO_OPERAND,
  type NoOperandMethods,
} from "./asm/system.ts";
import type { Cond, ControlReg, Imm, LabelImm, Mem, Reg, RegMem } from "./operands.ts";

export type { Assembled } from "./asm/layout.ts";
export type {
  AluMethods,
  AluOp,
  MulDivOp,
  ShiftMethods,
  ShiftOp,
  UnaryMethods,
  UnaryOp,
} from "./asm/arith.ts";
export type { NoOperandMethods, NoOperandOp } from "./asm/system.ts";

/** How a branch's displacement is sized: `auto` picks rel8 when it reaches. */
export type BranchSize = "auto" | "rel8" | "rel32";

/**
 * The instructions whose forms differ only by an opcode extension, as
 * methods made from their tables: `add or adc sbb and sub xor cmp`
 * ({@linkcode AluMethods}), `shl shr sar rol ror` ({@linkcode ShiftMethods}),
 * `inc dec not neg mul div idiv` ({@linkcode UnaryMethods}) and the
 * instructions without operands ({@linkcode NoOperandMethods}). The class's
 * static block installs them from the tables of `guest/asm/`.
 */
export interface Assembler extends AluMethods, ShiftMethods, UnaryMethods, NoOperandMethods {}

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

  static {
    const install = (name: string, method: (this: Assembler, ...args: never[]) => void) =>
      Object.defineProperty(Assembler.prototype, name, {
        value: method,
        writable: true,
        configurable: true,
      });
    for (const op of Object.keys(ALU) as AluOp[]) {
      install(op, function (dst: RegMem, src: RegMem | Imm) {
        this.#emit(aluForm(op, dst, src));
      });
    }
    for (const op of Object.keys(SHIFT) as ShiftOp[]) {
      install(op, function (dst: RegMem, count: Imm | Reg) {
        this.#emit(shiftForm(op, dst, count));
      });
    }
    for (const op of [...Object.keys(UNARY), ...Object.keys(MULDIV)] as (UnaryOp | MulDivOp)[]) {
      install(op, function (operand: RegMem) {
        this.#emit(unaryForm(op, operand));
      });
    }
    for (const [name, spec] of Object.entries(NO_OPERAND)) {
      const bytes = encode(spec).bytes;
      install(name, function () {
        this.#bytes(bytes);
      });
    }
  }

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
  align(to: number, fill: number = NO_OPERAND.nop.opcode[0]): void {
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

  // ---------------------------------------------------------------- moves (asm/moves.ts)

  /**
   * `mov`: `r/m, r` (88/89) · `r, r/m` (8A/8B) · `r, imm` (B8+r, or C7 /0 for a
   * 64-bit register and a sign-extended imm32, C6 /0 for 8-bit) · `r/m, imm`
   * (C6/C7 /0) · `r64, imm64` of a label address · `r64, crN` / `crN, r64` (0F 20/22).
   *
   * @param dst destination
   * @param src source
   */
  mov(dst: RegMem | ControlReg, src: RegMem | Imm | LabelImm | ControlReg): void {
    if (dst.kind === "cr" || src.kind === "cr") this.#emit(movCrForm(dst, src));
    else if (src.kind === "labelImm") this.#items.push(movLabelAddress(dst, src));
    else this.#emit(movForm(dst, src));
  }

  /**
   * `movzx r, r/m8` (0F B6) · `movzx r, r/m16` (0F B7).
   *
   * @param dst 16/32/64-bit register
   * @param src 8- or 16-bit register or memory (memory needs a width)
   */
  movzx(dst: Reg, src: RegMem): void {
    this.#emit(extendForm(false, dst, src));
  }

  /**
   * `movsx r, r/m8` (0F BE) · `movsx r, r/m16` (0F BF).
   *
   * @param dst 16/32/64-bit register
   * @param src 8- or 16-bit register or memory (memory needs a width)
   */
  movsx(dst: Reg, src: RegMem): void {
    this.#emit(extendForm(true, dst, src));
  }

  /**
   * `movsxd r64, r/m32` (REX.W 63).
   *
   * @param dst 64-bit register
   * @param src 32-bit register or memory
   */
  movsxd(dst: Reg, src: RegMem): void {
    this.#emit(movsxdForm(dst, src));
  }

  /**
   * `lea r, m` (8D).
   *
   * @param dst 16/32/64-bit register
   * @param src memory operand (RIP-relative labels give absolute addresses)
   */
  lea(dst: Reg, src: Mem): void {
    this.#emit(leaForm(dst, src));
  }

  /**
   * `xchg r/m, r` (87), 16/32/64-bit.
   *
   * @param dst register or memory
   * @param src register
   */
  xchg(dst: RegMem, src: Reg): void {
    this.#emit(xchgForm(dst, src));
  }

  /**
   * `push r64` (50+r) · `push imm32` (68, sign-extended to 64).
   *
   * @param src 64-bit register or immediate
   */
  push(src: Reg | Imm): void {
    this.#emit(pushForm(src));
  }

  /**
   * `pop r64` (58+r).
   *
   * @param dst 64-bit register
   */
  pop(dst: Reg): void {
    this.#emit(popForm(dst));
  }

  // ---------------------------------------------------------------- arithmetic (asm/arith.ts)

  /**
   * `test r/m, r` (84/85) · `test r/m, imm` (F6/F7 /0).
   *
   * @param dst register or memory
   * @param src register or immediate
   */
  test(dst: RegMem, src: Reg | Imm): void {
    this.#emit(testForm(dst, src));
  }

  /**
   * `imul r/m` (F7 /5) · `imul r, r/m` (0F AF) · `imul r, r/m, imm` (6B ib / 69 id).
   *
   * @param a the one operand, or the destination register
   * @param b the source (two- and three-operand forms)
   * @param c the immediate (three-operand form)
   */
  imul(a: RegMem, b?: RegMem, c?: Imm): void {
    this.#emit(imulForm(a, b, c));
  }

  // ---------------------------------------------------------------- control, I/O, system (asm/system.ts)

  /**
   * `jmp rel8/rel32` to a label (EB/E9) · `jmp r/m64` (FF /4).
   *
   * @param target a label or a 64-bit register/memory operand
   * @param size displacement size for a label (default `auto`)
   */
  jmp(target: string | RegMem, size: BranchSize = "auto"): void {
    if (typeof target !== "string") return this.#emit(indirectForm("jmp", target));
    this.#branch(BRANCHES.jmp, target, size);
  }

  /**
   * `jcc rel8/rel32` (70+cc / 0F 80+cc).
   *
   * @param cond the condition, e.g. `"b"`, `"ne"`, `"ge"`
   * @param target the label
   * @param size displacement size (default `auto`)
   */
  jcc(cond: Cond, target: string, size: BranchSize = "auto"): void {
    this.#branch(jccOpcodes(cond), target, size);
  }

  /**
   * `call rel32` to a label (E8) · `call r/m64` (FF /2).
   *
   * @param target a label or a 64-bit register/memory operand
   */
  call(target: string | RegMem): void {
    if (typeof target !== "string") return this.#emit(indirectForm("call", target));
    this.#branch(BRANCHES.call, target, "rel32");
  }

  /**
   * `loop rel8` (E2): decrement rcx, jump if non-zero.
   *
   * @param target the label (within rel8 reach)
   */
  loop(target: string): void {
    this.#branch(BRANCHES.loop, target, "rel8");
  }

  /**
   * `in al/ax/eax, dx` (EC/ED) · `in al/eax, imm8` (E4/E5).
   *
   * @param dst `R.al`, `R.ax` or `R.eax`
   * @param port `R.dx` or an 8-bit port number
   */
  in(dst: Reg, port: Reg | Imm): void {
    this.#emit(ioForm("in", dst, port));
  }

  /**
   * `out dx, al/ax/eax` (EE/EF) · `out imm8, al/eax` (E6/E7).
   *
   * @param port `R.dx` or an 8-bit port number
   * @param src `R.al`, `R.ax` or `R.eax`
   */
  out(port: Reg | Imm, src: Reg): void {
    this.#emit(ioForm("out", src, port));
  }

  /**
   * `invlpg m` (0F 01 /7).
   *
   * @param target the memory operand whose page's translation is flushed
   */
  invlpg(target: Mem): void {
    this.#emit(invlpgForm(target));
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
    return assembleItems(this.#items, this.#strings, origin);
  }

  // ---------------------------------------------------------------- internals

  #bytes(bytes: Uint8Array): void {
    this.#items.push({ kind: "bytes", bytes });
  }

  /** Encodes one instruction; a RIP-relative label operand becomes a fixup. */
  #emit(spec: EncodeSpec): void {
    const enc = encode(spec);
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

  #branch(op: BranchOpcodes, label: string, size: BranchSize): void {
    const { short, near } = op;
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
}
