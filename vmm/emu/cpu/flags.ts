/**
 * Lazy arithmetic flags. An instruction that sets flags records what it did
 * (operation, operand size, both operands and the result, as 32-bit halves)
 * in a small Int32Array; a flag is computed only when something reads it
 * (a Jcc, adc/sbb, inc/dec's preserved CF, or a register dump). The flag
 * formulas exist once, as JavaScript expression text: the block compiler
 * inlines them when it knows statically which operation set the flags, and
 * {@linkcode materializeFlags} is compiled from the same text at load time.
 *
 * Layout of the record (`fl`): see the `F_*` indices. Values of 8/16-bit
 * operations are stored masked (non-negative), 32-bit ones as int32, 64-bit
 * ones as int32 lo/hi pairs; the high halves are 0 below 64 bits.
 *
 * @module
 */

/** Index of the operation kind (`OP_*`). */
export const F_OP = 0;
/** Index of the operand size in bytes (1, 2, 4, 8). */
export const F_SIZE = 1;
/** Index of the first operand, low half. */
export const F_AL = 2;
/** Index of the first operand, high half. */
export const F_AH = 3;
/** Index of the second operand, low half. */
export const F_BL = 4;
/** Index of the second operand, high half. */
export const F_BH = 5;
/** Index of the result, low half. */
export const F_RL = 6;
/** Index of the result, high half. */
export const F_RH = 7;
/** Index of the auxiliary word: carry-in (adc/sbb), old CF (inc/dec), or the flag bits (`OP_EAGER`). */
export const F_AUX = 8;
/** Length of the record. */
export const F_LEN = 9;

/** add: CF from unsigned overflow, OF from signed overflow. */
export const OP_ADD = 0;
/** adc: as add with carry-in in AUX. */
export const OP_ADC = 1;
/** sub/cmp/neg (neg as 0 - x). */
export const OP_SUB = 2;
/** sbb: as sub with borrow-in in AUX. */
export const OP_SBB = 3;
/** and/or/xor/test: CF = OF = 0. */
export const OP_LOGIC = 4;
/** inc: as add of 1, CF preserved in AUX. */
export const OP_INC = 5;
/** dec: as sub of 1, CF preserved in AUX. */
export const OP_DEC = 6;
/** Flags computed eagerly (shifts, rotates, multiplies): AUX holds the RFLAGS bits. */
export const OP_EAGER = 7;
/** shl by a constant non-zero count: B holds the count, A the original value. */
export const OP_SHL = 8;
/** shr by a constant non-zero count. */
export const OP_SHR = 9;
/** sar by a constant non-zero count. */
export const OP_SAR = 10;

/** RFLAGS.CF */
export const CF = 0x1;
/** RFLAGS.PF */
export const PF = 0x4;
/** RFLAGS.AF */
export const AF = 0x10;
/** RFLAGS.ZF */
export const ZF = 0x40;
/** RFLAGS.SF */
export const SF = 0x80;
/** RFLAGS.OF */
export const OF = 0x800;
/** The six arithmetic flags. */
export const ARITH_FLAGS = CF | PF | AF | ZF | SF | OF;

const SIZES = [1, 2, 4, 8] as const;

function signOf(lo: string, hi: string, size: number): string {
  if (size === 8) return `((${hi}) < 0)`;
  if (size === 4) return `((${lo}) < 0)`;
  return `(((${lo}) & ${size === 2 ? 0x8000 : 0x80}) !== 0)`;
}

function ult(al: string, ah: string, bl: string, bh: string, size: number): string {
  if (size !== 8) return `((${al} >>> 0) < (${bl} >>> 0))`;
  return `((${ah} >>> 0) < (${bh} >>> 0) || (${ah} === ${bh} && (${al} >>> 0) < (${bl} >>> 0)))`;
}

function ule(al: string, ah: string, bl: string, bh: string, size: number): string {
  if (size !== 8) return `((${al} >>> 0) <= (${bl} >>> 0))`;
  return `((${ah} >>> 0) < (${bh} >>> 0) || (${ah} === ${bh} && (${al} >>> 0) <= (${bl} >>> 0)))`;
}

/**
 * The names the flag expressions use for the record fields; the compiler
 * may substitute locals. Defaults read `fl[...]`.
 */
export interface FlagOperands {
  al: string;
  ah: string;
  bl: string;
  bh: string;
  rl: string;
  rh: string;
  aux: string;
}

/** Operands read from the record `fl`. */
export const FL_OPERANDS: FlagOperands = {
  al: "fl[2]",
  ah: "fl[3]",
  bl: "fl[4]",
  bh: "fl[5]",
  rl: "fl[6]",
  rh: "fl[7]",
  aux: "fl[8]",
};

/** Expression text (a boolean) for CF after `op` at `size`. */
export function cfExpr(op: number, size: number, o: FlagOperands = FL_OPERANDS): string {
  switch (op) {
    case OP_ADD:
      return ult(o.rl, o.rh, o.al, o.ah, size);
    case OP_ADC:
      return `(${o.aux} !== 0 ? ${ule(o.rl, o.rh, o.al, o.ah, size)} : ${
        ult(o.rl, o.rh, o.al, o.ah, size)
      })`;
    case OP_SUB:
      return ult(o.al, o.ah, o.bl, o.bh, size);
    case OP_SBB:
      return `(${o.aux} !== 0 ? ${ule(o.al, o.ah, o.bl, o.bh, size)} : ${
        ult(o.al, o.ah, o.bl, o.bh, size)
      })`;
    case OP_LOGIC:
      return "false";
    case OP_INC:
    case OP_DEC:
      return `(${o.aux} !== 0)`;
    case OP_SHL:
    case OP_SHR:
    case OP_SAR:
      return `(${shiftCarry(op, size, o)} !== 0)`;
    default:
      return `((${o.aux} & ${CF}) !== 0)`;
  }
}

/** The last bit shifted out (count in `bl`, 1..63 or 1..31). */
function shiftCarry(op: number, size: number, o: FlagOperands): string {
  const c = o.bl;
  const bits = size * 8;
  if (op === OP_SHL) {
    if (size === 8) {
      return `(${c} <= 32 ? (${o.ah} >>> (32 - ${c})) & 1 : (${o.al} >>> (64 - ${c})) & 1)`;
    }
    return `(${c} <= ${bits} ? (${o.al} >>> (${bits} - ${c})) & 1 : 0)`;
  }
  if (size === 8) {
    const hi = op === OP_SAR ? ">>" : ">>>";
    return `(${c} <= 32 ? (${o.al} >>> (${c} - 1)) & 1 : (${o.ah} ${hi} (${c} - 33)) & 1)`;
  }
  if (op === OP_SHR) return `(${c} - 1 < ${bits} ? (${o.al} >>> (${c} - 1)) & 1 : 0)`;
  const sh = 32 - bits;
  return `((((${o.al} << ${sh}) >> ${sh}) >> (${c} - 1)) & 1)`;
}

/** Expression text (a boolean) for ZF. */
export function zfExpr(op: number, size: number, o: FlagOperands = FL_OPERANDS): string {
  if (op === OP_EAGER) return `((${o.aux} & ${ZF}) !== 0)`;
  return size === 8 ? `((${o.rl} | ${o.rh}) === 0)` : `(${o.rl} === 0)`;
}

/** Expression text (a boolean) for SF. */
export function sfExpr(op: number, size: number, o: FlagOperands = FL_OPERANDS): string {
  if (op === OP_EAGER) return `((${o.aux} & ${SF}) !== 0)`;
  return signOf(o.rl, o.rh, size);
}

/** Expression text (a boolean) for OF. */
export function ofExpr(op: number, size: number, o: FlagOperands = FL_OPERANDS): string {
  switch (op) {
    case OP_ADD:
    case OP_ADC:
    case OP_INC:
      return signOf(
        `((${o.al} ^ ${o.rl}) & (${o.bl} ^ ${o.rl}))`,
        `((${o.ah} ^ ${o.rh}) & (${o.bh} ^ ${o.rh}))`,
        size,
      );
    case OP_SUB:
    case OP_SBB:
    case OP_DEC:
      return signOf(
        `((${o.al} ^ ${o.bl}) & (${o.al} ^ ${o.rl}))`,
        `((${o.ah} ^ ${o.bh}) & (${o.ah} ^ ${o.rh}))`,
        size,
      );
    case OP_LOGIC:
    case OP_SAR:
      return "false";
    case OP_SHL:
      return `(${signOf(o.rl, o.rh, size)} !== (${shiftCarry(op, size, o)} !== 0))`;
    case OP_SHR:
      return signOf(o.al, o.ah, size);
    default:
      return `((${o.aux} & ${OF}) !== 0)`;
  }
}

/** Expression text (a boolean) for PF: even parity of the low result byte. */
export function pfExpr(op: number, _size: number, o: FlagOperands = FL_OPERANDS): string {
  if (op === OP_EAGER) return `((${o.aux} & ${PF}) !== 0)`;
  return `(((0x9669 >> ((${o.rl} ^ (${o.rl} >> 4)) & 15)) & 1) !== 0)`;
}

/** Expression text (a boolean) for AF. */
export function afExpr(op: number, _size: number, o: FlagOperands = FL_OPERANDS): string {
  if (op === OP_EAGER) return `((${o.aux} & ${AF}) !== 0)`;
  if (op === OP_LOGIC || op >= OP_SHL) return "false";
  return `(((${o.al} ^ ${o.bl} ^ ${o.rl}) & 16) !== 0)`;
}

/**
 * Expression text (a boolean) for condition `cc` (the low nibble of Jcc:
 * o no b ae e ne be a s ns p np l ge le g).
 */
export function condExpr(
  cc: number,
  op: number,
  size: number,
  o: FlagOperands = FL_OPERANDS,
): string {
  let e: string;
  switch (cc >> 1) {
    case 0:
      e = ofExpr(op, size, o);
      break;
    case 1:
      e = cfExpr(op, size, o);
      break;
    case 2:
      e = zfExpr(op, size, o);
      break;
    case 3:
      e = `(${cfExpr(op, size, o)} || ${zfExpr(op, size, o)})`;
      break;
    case 4:
      e = sfExpr(op, size, o);
      break;
    case 5:
      e = pfExpr(op, size, o);
      break;
    case 6:
      e = `(${sfExpr(op, size, o)} !== ${ofExpr(op, size, o)})`;
      break;
    default:
      e = `(${zfExpr(op, size, o)} || (${sfExpr(op, size, o)} !== ${ofExpr(op, size, o)}))`;
  }
  return (cc & 1) !== 0 ? `!${e}` : e;
}

type FlagFn = (fl: Int32Array) => number;

function compileTable(make: (op: number, size: number) => string): FlagFn[] {
  const t: FlagFn[] = [];
  for (let op = 0; op <= OP_SAR; op++) {
    for (const size of SIZES) {
      t[op * 9 + size] = new Function("fl", `"use strict"; return ${make(op, size)};`) as FlagFn;
    }
  }
  return t;
}

const ALL_FNS = compileTable((op, size) =>
  `(${cfExpr(op, size)} ? ${CF} : 0) | (${pfExpr(op, size)} ? ${PF} : 0) | (${
    afExpr(op, size)
  } ? ${AF} : 0) | (${zfExpr(op, size)} ? ${ZF} : 0) | (${sfExpr(op, size)} ? ${SF} : 0) | (${
    ofExpr(op, size)
  } ? ${OF} : 0)`
);
const CF_FNS = compileTable((op, size) => `${cfExpr(op, size)} ? 1 : 0`);

/**
 * The six arithmetic flags as RFLAGS bits, from the lazy record.
 *
 * @param fl the lazy-flags record
 * @returns CF|PF|AF|ZF|SF|OF bits
 */
export function materializeFlags(fl: Int32Array): number {
  return ALL_FNS[fl[F_OP] * 9 + fl[F_SIZE]](fl);
}

/**
 * CF alone (0 or 1), from the lazy record.
 *
 * @param fl the lazy-flags record
 * @returns CF
 */
export function carryFlag(fl: Int32Array): number {
  return CF_FNS[fl[F_OP] * 9 + fl[F_SIZE]](fl);
}

/**
 * Replaces the record by explicit flag bits (`OP_EAGER`).
 *
 * @param fl the lazy-flags record
 * @param bits RFLAGS arithmetic bits
 */
export function setEagerFlags(fl: Int32Array, bits: number): void {
  fl[F_OP] = OP_EAGER;
  fl[F_SIZE] = 8;
  fl[F_AUX] = bits & ARITH_FLAGS;
}

/**
 * Evaluates condition `cc` (Jcc low nibble) on the lazy record.
 *
 * @param fl the lazy-flags record
 * @param cc the condition
 * @returns whether it holds
 */
export function testCondition(fl: Int32Array, cc: number): boolean {
  const f = materializeFlags(fl);
  const cf = (f & CF) !== 0, zf = (f & ZF) !== 0, sf = (f & SF) !== 0, of = (f & OF) !== 0;
  let v: boolean;
  switch (cc >> 1) {
    case 0:
      v = of;
      break;
    case 1:
      v = cf;
      break;
    case 2:
      v = zf;
      break;
    case 3:
      v = cf || zf;
      break;
    case 4:
      v = sf;
      break;
    case 5:
      v = (f & PF) !== 0;
      break;
    case 6:
      v = sf !== of;
      break;
    default:
      v = zf || sf !== of;
  }
  return (cc & 1) !== 0 ? !v : v;
}

/**
 * Result-derived flags (PF, ZF, SF) for a value of `size` bytes, as RFLAGS bits.
 *
 * @param lo low 32 bits of the result (masked to the size)
 * @param hi high 32 bits (0 below 64-bit)
 * @param size operand size in bytes
 * @returns PF|ZF|SF bits
 */
export function resultFlags(lo: number, hi: number, size: number): number {
  let f = 0;
  const b = lo & 0xff;
  if (((0x9669 >> ((b ^ (b >> 4)) & 15)) & 1) !== 0) f |= PF;
  const zero = size === 8 ? (lo | hi) === 0 : (lo & sizeMask(size)) === 0;
  if (zero) f |= ZF;
  const sign = size === 8
    ? hi < 0
    : size === 4
    ? (lo | 0) < 0
    : (lo & (size === 2 ? 0x8000 : 0x80)) !== 0;
  if (sign) f |= SF;
  return f;
}

/**
 * The value mask of an operand size below 64 bits.
 *
 * @param size 1, 2 or 4
 * @returns 0xff, 0xffff or 0xffffffff
 */
export function sizeMask(size: number): number {
  return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
}
