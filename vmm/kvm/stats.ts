/**
 * KVM binary stats (KVM_GET_STATS_FD): the header and descriptors are
 * parsed once, by name; values are read with pread at their offsets.
 *
 * @module
 */
import { ErrnoError } from "../errors.ts";
import { closeFd } from "./ioctl.ts";
import { errno, libc } from "./libc.ts";
import { SIZEOF, STATS_DESC, STATS_HEADER } from "./uapi.ts";

interface StatDesc {
  /** Offset of the value from the start of the fd's data. */
  offset: number;
  /** Number of u64 values (1 unless a histogram). */
  size: number;
}

/**
 * One stats fd (VM or vCPU), kept open for the owner's life.
 *
 * @example
 * ```ts ignore
 * const stats = new StatsReader(vcpu.statsFd());
 * console.log(stats.read("exits"));
 * ```
 */
export class StatsReader {
  #fd: number;
  #descs = new Map<string, StatDesc>();
  #buf = new Uint8Array(8);
  #view = new DataView(this.#buf.buffer);

  /**
   * Parse the header and descriptors of a stats fd (which it then owns).
   *
   * @param fd from KVM_GET_STATS_FD
   */
  constructor(fd: number) {
    this.#fd = fd;
    try {
      const head = this.#pread(SIZEOF.kvm_stats_header, 0);
      const hv = new DataView(head.buffer);
      const nameSize = hv.getUint32(STATS_HEADER.name_size, true);
      const num = hv.getUint32(STATS_HEADER.num_desc, true);
      const descOff = hv.getUint32(STATS_HEADER.desc_offset, true);
      const dataOff = hv.getUint32(STATS_HEADER.data_offset, true);
      const stride = SIZEOF.kvm_stats_desc + nameSize;
      const all = this.#pread(stride * num, descOff);
      const dv = new DataView(all.buffer);
      const dec = new TextDecoder();
      for (let i = 0; i < num; i++) {
        const o = i * stride;
        const raw = all.subarray(o + STATS_DESC.name, o + STATS_DESC.name + nameSize);
        const end = raw.indexOf(0);
        const name = dec.decode(raw.subarray(0, end < 0 ? raw.length : end));
        this.#descs.set(name, {
          offset: dataOff + dv.getUint32(o + STATS_DESC.offset, true),
          size: dv.getUint16(o + STATS_DESC.size, true),
        });
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  #pread(len: number, offset: number): Uint8Array<ArrayBuffer> {
    const b = new Uint8Array(len);
    const n = libc().pread(this.#fd, b, BigInt(len), BigInt(offset));
    if (n < 0) throw new ErrnoError("pread(stats fd)", errno(), "cannot read KVM binary stats");
    return b;
  }

  /** The stat names this fd provides. */
  names(): string[] {
    return [...this.#descs.keys()];
  }

  /** Whether the fd provides `name`. */
  has(name: string): boolean {
    return this.#descs.has(name);
  }

  /**
   * Read a stat's value (a histogram reads as the sum of its buckets).
   *
   * @param name the Linux binary-stats name
   * @returns the value, or undefined when this fd has no such stat
   */
  read(name: string): bigint | undefined {
    const d = this.#descs.get(name);
    if (d === undefined) return undefined;
    let sum = 0n;
    for (let i = 0; i < Math.max(1, d.size); i++) {
      const n = libc().pread(this.#fd, this.#buf, 8n, BigInt(d.offset + i * 8));
      if (Number(n) !== 8) {
        throw new ErrnoError("pread(stats fd)", errno(), `cannot read stat ${name}`);
      }
      sum += this.#view.getBigUint64(0, true);
    }
    return sum;
  }

  /** Close the fd. Idempotent. */
  close(): void {
    closeFd(this.#fd);
    this.#fd = -1;
  }
}
