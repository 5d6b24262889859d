/**
 * The ALU operations that the block compiler does not inline: shifts,
 * rotates, multiplies and divides, exact at 8/16/32/64 bits on 32-bit
 * halves (BigInt only in divides, which are rare and slow on hardware too).
 * Each takes the operand(s), leaves the result in `out` and sets the
 * flags record, as the SDM specifies for the defined flags.
 *
 * @module
 */
import { AF, CF, materializeFlags, OF, resultFlags, setEagerFlags, sizeMask } from "./flags.ts";

/** Where ALU helpers leave a result: `[lo, hi]` (and `[2], [3]` for a 128-bit product). */
export type AluOut = Int32Array;

const TWO32 = 4294967296;
// Scratch for 128-bit products (the helpers are not re-entrant and never need to be).
const PRODUCT = new Int32Array(4);

/**
 * Shift or rotate: `op` is the ModRM.reg of group 2 (0 rol, 1 ror, 4 shl, 5 shr, 7 sar).
 *
 * @param args operation, size, value halves and raw count
 * @param fl the flags record
 * @param out result `[lo, hi]`
 */
export function shiftOp(
  args: { op: number; size: number; lo: number; hi: number; count: number },
  fl: Int32Array,
  out: AluOut,
): void {
  const { op, size } = args;
  let lo = args.lo | 0;
  let hi = size === 8 ? args.hi | 0 : 0;
  const count = args.count & (size === 8 ? 63 : 31);
  if (count === 0) {
    // Flags unaffected; the (possibly zero-extended) destination is still written.
    out[0] = size === 4 ? lo : size < 4 ? lo & sizeMask(size) : lo;
    out[1] = hi;
    return;
  }
  const bits = size * 8;
  let cf = 0;
  let of = 0;
  if (op === 0 || op === 1) {
    const c = count % bits;
    if (size === 8) {
      if (c !== 0) {
        const l = op === 0 ? c : 64 - c; // rotate left by l
        if (l >= 32) {
          const t = lo;
          lo = hi;
          hi = t;
        }
        const s = l & 31;
        if (s !== 0) {
          const nl = (lo << s) | (hi >>> (32 - s));
          const nh = (hi << s) | (lo >>> (32 - s));
          lo = nl;
          hi = nh;
        }
      }
    } else {
      const m = sizeMask(size);
      const v = lo & m;
      if (c !== 0) {
        const l = op === 0 ? c : bits - c;
        lo = ((v << l) | (v >>> (bits - l))) & m;
      } else lo = v;
      if (size === 4) lo |= 0;
    }
    const msb = size === 8 ? (hi >>> 31) & 1 : (lo >>> (bits - 1)) & 1;
    if (op === 0) {
      cf = lo & 1;
      of = msb ^ cf;
    } else {
      cf = msb;
      const msb1 = size === 8 ? (hi >>> 30) & 1 : (lo >>> (bits - 2)) & 1;
      of = msb ^ msb1;
    }
    const old = materializeFlags(fl);
    setEagerFlags(fl, (old & ~(CF | OF)) | (cf ? CF : 0) | (of ? OF : 0));
    out[0] = lo;
    out[1] = hi;
    return;
  }
  if (size === 8) {
    const ol = lo, oh = hi;
    if (op === 4) {
      if (count < 32) {
        cf = (oh >>> (32 - count)) & 1;
        hi = (oh << count) | (ol >>> (32 - count));
        lo = ol << count;
      } else {
        cf = count === 32 ? oh & 1 : (ol >>> (64 - count)) & 1;
        hi = ol << (count - 32);
        lo = 0;
      }
      of = ((hi >>> 31) & 1) ^ cf;
    } else {
      if (count < 32) {
        cf = (ol >>> (count - 1)) & 1;
        lo = (ol >>> count) | (oh << (32 - count));
        hi = op === 7 ? oh >> count : oh >>> count;
      } else {
        // The last bit out is bit (count - 1): bit 31 of the low half at count 32.
        cf = count === 32 ? (ol >>> 31) & 1 : (oh >>> (count - 33)) & 1;
        if (op === 7) {
          lo = oh >> (count - 32);
          hi = oh >> 31;
        } else {
          lo = count === 32 ? oh : oh >>> (count - 32);
          hi = 0;
        }
      }
      of = op === 5 ? (oh >>> 31) & 1 : 0;
    }
  } else {
    const m = sizeMask(size);
    const v = lo & m;
    if (op === 4) {
      const r = count < 32 ? v * Math.pow(2, count) : 0;
      cf = count <= bits ? Math.floor(r / Math.pow(2, bits)) & 1 : 0;
      lo = (r % TWO32) & m;
      of = ((lo >>> (bits - 1)) & 1) ^ cf;
    } else if (op === 5) {
      cf = count - 1 < bits ? (v >>> (count - 1)) & 1 : 0;
      lo = v >>> count;
      of = (v >>> (bits - 1)) & 1;
    } else {
      const sx = (v << (32 - bits)) >> (32 - bits);
      cf = (sx >> (count - 1)) & 1;
      lo = (sx >> count) & m;
      of = 0;
    }
    if (size === 4) lo |= 0;
    hi = 0;
  }
  setEagerFlags(fl, resultFlags(lo, hi, size) | (cf ? CF : 0) | (of ? OF : 0));
  out[0] = lo;
  out[1] = hi;
}

/**
 * Unsigned 64×64 → 128-bit multiply of (al,ah)×(bl,bh) into out[0..3] (low to high).
 * 16-bit limbs: every partial product is < 2^32 and every column sum < 2^35.
 */
function mulU64Halves(al: number, ah: number, bl: number, bh: number, out: AluOut): void {
  const x0 = al & 0xffff, x1 = al >>> 16, x2 = ah & 0xffff, x3 = ah >>> 16;
  const y0 = bl & 0xffff, y1 = bl >>> 16, y2 = bh & 0xffff, y3 = bh >>> 16;
  let c = x0 * y0;
  const l0 = c % 65536;
  c = Math.floor(c / 65536) + x0 * y1 + x1 * y0;
  const l1 = c % 65536;
  c = Math.floor(c / 65536) + x0 * y2 + x1 * y1 + x2 * y0;
  const l2 = c % 65536;
  c = Math.floor(c / 65536) + x0 * y3 + x1 * y2 + x2 * y1 + x3 * y0;
  const l3 = c % 65536;
  c = Math.floor(c / 65536) + x1 * y3 + x2 * y2 + x3 * y1;
  const l4 = c % 65536;
  c = Math.floor(c / 65536) + x2 * y3 + x3 * y2;
  const l5 = c % 65536;
  c = Math.floor(c / 65536) + x3 * y3;
  const l6 = c % 65536;
  const l7 = Math.floor(c / 65536);
  out[0] = l0 | (l1 << 16);
  out[1] = l2 | (l3 << 16);
  out[2] = l4 | (l5 << 16);
  out[3] = l6 | (l7 << 16);
}

/** Signed 64×64 → 128-bit multiply of (al,ah)×(bl,bh) into out[0..3]. */
function mulS64Halves(al: number, ah: number, bl: number, bh: number, out: AluOut): void {
  mulU64Halves(al, ah, bl, bh, out);
  // Signed high half = unsigned high half - (a<0 ? b : 0) - (b<0 ? a : 0), mod 2^64.
  let hl = out[2] >>> 0, hh = out[3] >>> 0;
  if (ah < 0) {
    const t = hl - (bl >>> 0);
    hl = t < 0 ? t + TWO32 : t;
    hh = (hh - (bh >>> 0) - (t < 0 ? 1 : 0)) >>> 0;
  }
  if (bh < 0) {
    const t = hl - (al >>> 0);
    hl = t < 0 ? t + TWO32 : t;
    hh = (hh - (ah >>> 0) - (t < 0 ? 1 : 0)) >>> 0;
  }
  out[2] = hl | 0;
  out[3] = hh | 0;
}

/**
 * Two/three-operand `imul`: truncated signed product of `size` bytes; CF = OF =
 * the product did not fit. SF/ZF/PF follow the truncated result (undefined in the SDM).
 *
 * @param args size and both factors' halves
 * @param fl the flags record
 * @param out result `[lo, hi]`
 */
export function imulTrunc(
  args: { size: number; al: number; ah: number; bl: number; bh: number },
  fl: Int32Array,
  out: AluOut,
): void {
  const { size } = args;
  let lo: number, hi = 0, over: boolean;
  if (size === 8) {
    const p = PRODUCT;
    mulS64Halves(args.al, args.ah, args.bl, args.bh, p);
    lo = p[0];
    hi = p[1];
    const ext = hi < 0 ? -1 : 0;
    over = p[2] !== ext || p[3] !== ext;
  } else {
    const bits = size * 8;
    const sa = (args.al << (32 - bits)) >> (32 - bits);
    const sb = (args.bl << (32 - bits)) >> (32 - bits);
    if (size === 4) {
      // The double product may be rounded, but only when it is far outside int32
      // range, so it equals the truncated product exactly when nothing overflowed.
      lo = Math.imul(sa, sb);
      over = sa * sb !== lo;
    } else {
      const p = sa * sb;
      const t = (p << (32 - bits)) >> (32 - bits);
      over = t !== p;
      lo = t & sizeMask(size);
    }
  }
  setEagerFlags(fl, resultFlags(lo, hi, size) | (over ? CF | OF : 0));
  out[0] = lo;
  out[1] = hi;
}

/**
 * One-operand `mul`/`imul` (`signed`): rDX:rAX = rAX × src (AX = AL × src at 8
 * bits). Writes the registers directly; CF = OF = the high half is significant.
 *
 * @param args signedness, size and source halves
 * @param r the register file (int32 lo/hi pairs)
 * @param fl the flags record
 */
export function mulWide(
  args: { signed: boolean; size: number; lo: number; hi: number },
  r: Int32Array,
  fl: Int32Array,
): void {
  const { size, signed } = args;
  let over: boolean;
  let rl: number, rh = 0;
  if (size === 8) {
    const p = PRODUCT;
    if (signed) mulS64Halves(r[0], r[1], args.lo, args.hi, p);
    else mulU64Halves(r[0], r[1], args.lo, args.hi, p);
    r[0] = p[0];
    r[1] = p[1];
    r[4] = p[2];
    r[5] = p[3];
    const ext = signed ? (p[1] < 0 ? -1 : 0) : 0;
    over = p[2] !== ext || p[3] !== ext;
    rl = p[0];
    rh = p[1];
  } else {
    const bits = size * 8;
    const m = sizeMask(size);
    let a = (r[0] & m) >>> 0, b = (args.lo & m) >>> 0;
    if (signed) {
      a = (a << (32 - bits)) >> (32 - bits);
      b = (b << (32 - bits)) >> (32 - bits);
    }
    let low: number, high: number;
    if (size === 4) {
      // 32×32 → 64 through the 64-bit multiplier (sign-extended halves when signed).
      const p = PRODUCT;
      if (signed) mulS64Halves(a, a >> 31, b, b >> 31, p);
      else mulU64Halves(a, 0, b, 0, p);
      low = p[0] >>> 0;
      high = p[1] >>> 0;
      over = signed ? p[1] !== p[0] >> 31 : high !== 0;
    } else {
      // At most 16×16 bits: the double product is exact.
      const p = a * b;
      low = p & m;
      high = (p >> bits) & m;
      over = signed ? ((p << (32 - bits)) >> (32 - bits)) !== p : high !== 0;
    }
    rl = low;
    if (size === 1) {
      r[0] = (r[0] & ~0xffff) | low | (high << 8);
    } else if (size === 2) {
      r[0] = (r[0] & ~0xffff) | low;
      r[4] = (r[4] & ~0xffff) | high;
    } else {
      r[0] = low;
      r[1] = 0;
      r[4] = high;
      r[5] = 0;
    }
  }
  setEagerFlags(fl, (resultFlags(rl, rh, size) & ~AF) | (over ? CF | OF : 0));
}

/**
 * One-operand `div`/`idiv` (`signed`) of rDX:rAX (AX at 8 bits) by src.
 * Writes quotient and remainder only on success; flags are undefined and
 * left unchanged.
 *
 * @param args signedness, size and divisor halves
 * @param r the register file (int32 lo/hi pairs)
 * @returns false on #DE (divide by zero or quotient overflow), with nothing written
 */
export function divWide(
  args: { signed: boolean; size: number; lo: number; hi: number },
  r: Int32Array,
): boolean {
  const { size, signed } = args;
  const bits = size * 8;
  const B = BigInt(bits);
  const u64 = (lo: number, hi: number) => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  let divisor: bigint;
  let dividend: bigint;
  if (size === 8) {
    divisor = u64(args.lo, args.hi);
    dividend = (u64(r[4], r[5]) << 64n) | u64(r[0], r[1]);
  } else if (size === 1) {
    divisor = BigInt(args.lo & 0xff);
    dividend = BigInt(r[0] & 0xffff);
  } else {
    const m = sizeMask(size);
    divisor = BigInt((args.lo & m) >>> 0);
    dividend = (BigInt((r[4] & m) >>> 0) << B) | BigInt((r[0] & m) >>> 0);
  }
  if (signed) {
    divisor = BigInt.asIntN(bits, divisor);
    dividend = BigInt.asIntN(bits * 2, dividend);
  }
  if (divisor === 0n) return false;
  const q = dividend / divisor; // truncates toward zero, as idiv does
  const rem = dividend % divisor; // sign of the dividend, as idiv does
  if (signed ? BigInt.asIntN(bits, q) !== q : BigInt.asUintN(bits, q) !== q) return false;
  const ql = BigInt.asUintN(bits, q);
  const rl = BigInt.asUintN(bits, rem);
  if (size === 8) {
    r[0] = Number(ql & 0xffffffffn) | 0;
    r[1] = Number(ql >> 32n) | 0;
    r[4] = Number(rl & 0xffffffffn) | 0;
    r[5] = Number(rl >> 32n) | 0;
  } else if (size === 4) {
    r[0] = Number(ql) | 0;
    r[1] = 0;
    r[4] = Number(rl) | 0;
    r[5] = 0;
  } else if (size === 2) {
    r[0] = (r[0] & ~0xffff) | Number(ql);
    r[4] = (r[4] & ~0xffff) | Number(rl);
  } else {
    r[0] = (r[0] & ~0xffff) | Number(ql) | (Number(rl) << 8);
  }
  return true;
}
