/**
 * Operands of the guest assembler: general-purpose registers with their
 * width, memory operands (ModRM/SIB addressing or RIP-relative), immediates,
 * references to label addresses, and the 16 condition codes.
 *
 * @module
 */

/** Operand width in bits. */
export type Width = 8 | 16 | 32 | 64;

/** A general-purpose register of one width. */
export interface Reg {
  /** Discriminates operands. */
  readonly kind: "reg";
  /** Intel name, e.g. `rax`, `r8d`, `sil`. */
  readonly name: string;
  /** Register number 0–15 (bit 3 goes into REX.R/X/B). */
  readonly code: number;
  /** Operand size in bits. */
  readonly width: Width;
}

/** A control register usable with `mov r64, crN` / `mov crN, r64`. */
export interface ControlReg {
  /** Discriminates operands. */
  readonly kind: "cr";
  /** Intel name. */
  readonly name: "cr0" | "cr2" | "cr3" | "cr4";
  /** N of crN (the ModRM reg field). */
  readonly code: 0 | 2 | 3 | 4;
}

/** The 64-bit register names, by register number. */
export const NAMES64 = [
  "rax",
  "rcx",
  "rdx",
  "rbx",
  "rsp",
  "rbp",
  "rsi",
  "rdi",
  "r8",
  "r9",
  "r10",
  "r11",
  "r12",
  "r13",
  "r14",
  "r15",
] as const;
/** The 32-bit names of registers 0–7. */
export const NAMES32 = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"] as const;
/** The 16-bit names of registers 0–7. */
export const NAMES16 = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"] as const;
/**
 * The byte names of registers 0–7. Without REX, codes 4–7 of the byte
 * registers are ah/ch/dh/bh; the subset has only these.
 */
export const NAMES8 = ["al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil"] as const;

/** The 64-bit register names. */
export type Low64 = typeof NAMES64[number];
/** The 32-bit names of registers 0–7. */
export type Low32 = typeof NAMES32[number];
/** The 16-bit names of registers 0–7. */
export type Low16 = typeof NAMES16[number];
/** The byte names of registers 0–7 (with REX: spl, bpl, sil, dil). */
export type Low8 = typeof NAMES8[number];
/** The numbers of the extended registers r8–r15. */
export type ExtNum = 8 | 9 | 10 | 11 | 12 | 13 | 14 | 15;
/** Every register name the assembler knows. */
export type RegName =
  | Low64
  | Low32
  | Low16
  | Low8
  | `r${ExtNum}d`
  | `r${ExtNum}w`
  | `r${ExtNum}b`;

function makeRegs(): Record<RegName, Reg> {
  const out: Record<string, Reg> = {};
  const add = (name: string, code: number, width: Width) => {
    out[name] = Object.freeze({ kind: "reg", name, code, width });
  };
  NAMES64.forEach((n, i) => add(n, i, 64));
  NAMES32.forEach((n, i) => add(n, i, 32));
  NAMES16.forEach((n, i) => add(n, i, 16));
  NAMES8.forEach((n, i) => add(n, i, 8));
  for (let i = 8; i < 16; i++) {
    add(`r${i}d`, i, 32);
    add(`r${i}w`, i, 16);
    add(`r${i}b`, i, 8);
  }
  return Object.freeze(out) as Record<RegName, Reg>;
}

/**
 * All general-purpose registers by Intel name: `R.rax`, `R.r8d`, `R.sil`, ...
 *
 * @example Usage
 * ```ts
 * import { R } from "./operands.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(R.r12.code, 12);
 * assertEquals(R.eax.width, 32);
 * ```
 */
export const R: Readonly<Record<RegName, Reg>> = makeRegs();

/** The control registers of the subset. */
export const CR: Readonly<Record<"cr0" | "cr2" | "cr3" | "cr4", ControlReg>> = Object.freeze({
  cr0: { kind: "cr", name: "cr0", code: 0 },
  cr2: { kind: "cr", name: "cr2", code: 2 },
  cr3: { kind: "cr", name: "cr3", code: 3 },
  cr4: { kind: "cr", name: "cr4", code: 4 },
});

/** An immediate; `width` forces an encoding where the instruction has a choice. */
export interface Imm {
  /** Discriminates operands. */
  readonly kind: "imm";
  /** The value (negative: two's complement). */
  readonly value: bigint;
  /** The encoded width to force, when the instruction has a choice. */
  readonly width?: Width;
}

/**
 * Makes an immediate operand.
 *
 * @param value the value (negative values are two's complement)
 * @param width force the immediate's encoded width (e.g. 32 to get `83`→`81`,
 *   8 to get `C1 /4 ib` for a shift by 1, 64 for `mov r64, imm64`)
 * @returns the immediate
 *
 * @example Usage
 * ```ts
 * import { imm } from "./operands.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(imm(0x1000).value, 0x1000n);
 * ```
 */
export function imm(value: bigint | number, width?: Width): Imm {
  return { kind: "imm", value: BigInt(value), width };
}

/** The 64-bit absolute address of a label, as an immediate (`mov r64, imm64`, `dq`). */
export interface LabelImm {
  /** Discriminates operands. */
  readonly kind: "labelImm";
  /** The label whose address is meant. */
  readonly label: string;
  /** Added to the label's address. */
  readonly addend: bigint;
}

/**
 * Makes an immediate holding a label's absolute address (resolved at assembly).
 *
 * @param label the label's name
 * @param addend added to the address
 * @returns the operand
 */
export function labelImm(label: string, addend: bigint = 0n): LabelImm {
  return { kind: "labelImm", label, addend };
}

/** A memory operand. With neither base nor index nor rip it is `[disp32]` (absolute, via SIB). */
export interface Mem {
  /** Discriminates operands. */
  readonly kind: "mem";
  /** The base register, if any. */
  readonly base?: Reg;
  /** The index register, if any (never rsp). */
  readonly index?: Reg;
  /** The index's scale. */
  readonly scale: 1 | 2 | 4 | 8;
  /** Displacement; with a label, added to the label's address. */
  readonly disp: number;
  /** RIP-relative addressing (`[rip + disp32]`). */
  readonly rip: boolean;
  /** RIP-relative to this label (implies `rip`). */
  readonly label?: string;
  /** Access width when no register operand gives it (e.g. `mov [m], imm`, `inc [m]`). */
  readonly width?: Width;
}

/** Fields of {@linkcode mem}. */
export interface MemOptions {
  /** See {@linkcode Mem.base}. */
  base?: Reg;
  /** See {@linkcode Mem.index}. */
  index?: Reg;
  /** See {@linkcode Mem.scale} (default 1). */
  scale?: 1 | 2 | 4 | 8;
  /** See {@linkcode Mem.disp} (default 0; must fit in 32 bits signed). */
  disp?: number | bigint;
  /** See {@linkcode Mem.rip}. */
  rip?: boolean;
  /** See {@linkcode Mem.label}. */
  label?: string;
  /** See {@linkcode Mem.width}. */
  width?: Width;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * Makes a memory operand.
 *
 * @param options base/index/scale/disp, or `rip`/`label` for RIP-relative, and an optional width
 * @returns the operand
 * @throws {RangeError} when the displacement does not fit a signed 32-bit field or a register is not 64-bit
 *
 * @example Usage
 * ```ts
 * import { mem, R } from "./operands.ts";
 * import { assertEquals } from "@std/assert";
 * const m = mem({ base: R.rax, index: R.rcx, scale: 8, disp: 16 });
 * assertEquals(m.scale, 8);
 * ```
 */
export function mem(options: MemOptions): Mem {
  const disp = Number(options.disp ?? 0);
  if (!Number.isInteger(disp) || disp < INT32_MIN || disp > INT32_MAX) {
    throw new RangeError(`Cannot encode displacement ${options.disp}: not a signed 32-bit value`);
  }
  for (const r of [options.base, options.index]) {
    if (r && r.width !== 64) {
      throw new RangeError(
        `Cannot address through "${r.name}": only 64-bit addressing is supported`,
      );
    }
  }
  if (options.index?.code === 4) {
    throw new RangeError(`Cannot use "rsp" as an index register`);
  }
  const rip = options.rip === true || options.label !== undefined;
  if (rip && (options.base || options.index)) {
    throw new RangeError("Cannot combine rip-relative addressing with a base or index register");
  }
  return {
    kind: "mem",
    base: options.base,
    index: options.index,
    scale: options.scale ?? 1,
    disp,
    rip,
    label: options.label,
    width: options.width,
  };
}

/**
 * A 64-bit memory operand (`qword ptr [...]`).
 *
 * @param options as {@linkcode mem}, without the width
 * @returns the operand
 */
export function qword(options: Omit<MemOptions, "width">): Mem {
  return mem({ ...options, width: 64 });
}

/**
 * A 32-bit memory operand (`dword ptr [...]`).
 *
 * @param options as {@linkcode mem}, without the width
 * @returns the operand
 */
export function dword(options: Omit<MemOptions, "width">): Mem {
  return mem({ ...options, width: 32 });
}

/**
 * A 16-bit memory operand (`word ptr [...]`).
 *
 * @param options as {@linkcode mem}, without the width
 * @returns the operand
 */
export function word(options: Omit<MemOptions, "width">): Mem {
  return mem({ ...options, width: 16 });
}

/**
 * An 8-bit memory operand (`byte ptr [...]`).
 *
 * @param options as {@linkcode mem}, without the width
 * @returns the operand
 */
export function byte(options: Omit<MemOptions, "width">): Mem {
  return mem({ ...options, width: 8 });
}

/** The 16 condition codes, by their SDM numbers (`jcc` = 0x70 + n, `0F 80` + n). */
export const CONDITIONS = {
  o: 0x0,
  no: 0x1,
  b: 0x2,
  c: 0x2,
  nae: 0x2,
  ae: 0x3,
  nb: 0x3,
  nc: 0x3,
  e: 0x4,
  z: 0x4,
  ne: 0x5,
  nz: 0x5,
  be: 0x6,
  na: 0x6,
  a: 0x7,
  nbe: 0x7,
  s: 0x8,
  ns: 0x9,
  p: 0xa,
  pe: 0xa,
  np: 0xb,
  po: 0xb,
  l: 0xc,
  nge: 0xc,
  ge: 0xd,
  nl: 0xd,
  le: 0xe,
  ng: 0xe,
  g: 0xf,
  nle: 0xf,
} as const;

/** A condition code mnemonic suffix (`jcc("b", ...)` is `jb`). */
export type Cond = keyof typeof CONDITIONS;

/** An r/m operand: a register or memory. */
export type RegMem = Reg | Mem;
