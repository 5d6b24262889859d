import { assertEquals } from "@std/assert";
import {
  MEMTYPE,
  MSR_MTRR_CAP,
  MSR_MTRR_DEF_TYPE,
  MSR_MTRR_FIX16K_80000,
  MSR_MTRR_FIX4K_C0000,
  MSR_MTRR_FIX64K_00000,
  MSR_MTRR_PHYSBASE0,
} from "../../../guest/msr.ts";
import { combineMtrrPat, isMtrrMsr, MtrrState } from "../../../vmm/emu/mtrr.ts";

const { UC, WC, WT, WP, WB } = MEMTYPE;
const G = 1 << 30;

function enabled(def: number = WB, fixed = false): MtrrState {
  const m = new MtrrState();
  assertEquals(
    m.write(MSR_MTRR_DEF_TYPE, BigInt(def) | (1n << 11n) | (fixed ? 1n << 10n : 0n)),
    null,
  );
  return m;
}

function variable(m: MtrrState, n: number, base: number, size: number, type: number): void {
  assertEquals(m.write(MSR_MTRR_PHYSBASE0 + 2 * n, BigInt(base) | BigInt(type)), null);
  const mask = ((1n << 52n) - 1n) & ~(BigInt(size) - 1n);
  assertEquals(m.write(MSR_MTRR_PHYSBASE0 + 2 * n + 1, mask | (1n << 11n)), null);
}

Deno.test("MTRRs at reset are disabled: UC everywhere; MTRRCAP reads as KVM reports it", () => {
  const m = new MtrrState();
  assertEquals(m.typeOf(0), UC);
  assertEquals(m.typeOf(G), UC);
  assertEquals(m.read(MSR_MTRR_CAP), 0x508n);
  assertEquals(m.read(MSR_MTRR_DEF_TYPE), 0n);
  assertEquals(m.read(0x277), undefined, "PAT is not an MTRR");
  assertEquals([isMtrrMsr(0x20f), isMtrrMsr(0x210), isMtrrMsr(0x26f), isMtrrMsr(0x270)], [
    true,
    false,
    true,
    false,
  ]);
});

Deno.test("wrmsr to MTRRs is #GP where KVM's kvm_mtrr_valid() says so", () => {
  const m = new MtrrState();
  assertEquals(typeof m.write(MSR_MTRR_CAP, 0n), "string", "MTRRCAP is read-only");
  assertEquals(typeof m.write(MSR_MTRR_DEF_TYPE, 2n), "string", "type 2 is reserved");
  assertEquals(typeof m.write(MSR_MTRR_DEF_TYPE, 1n << 12n), "string", "reserved bit");
  assertEquals(typeof m.write(MSR_MTRR_FIX64K_00000, 0x0606060606060603n), "string");
  assertEquals(typeof m.write(MSR_MTRR_PHYSBASE0, 0x100n | 6n), "string", "base bits 8-11");
  assertEquals(typeof m.write(MSR_MTRR_PHYSBASE0 + 1, 0x400n), "string", "mask bits 0-10");
  assertEquals(typeof m.write(MSR_MTRR_PHYSBASE0, 1n << 52n), "string", "above MAXPHYADDR");
  assertEquals(m.write(MSR_MTRR_PHYSBASE0, BigInt(G) | 6n), null);
  assertEquals(m.read(MSR_MTRR_PHYSBASE0), BigInt(G) | 6n);
});

Deno.test("fixed ranges apply below 1 MiB when FE is set", () => {
  const m = enabled(WB, true);
  m.write(MSR_MTRR_FIX64K_00000, 0x0606060606060600n); // 0-64K UC
  m.write(MSR_MTRR_FIX16K_80000 + 1, 0x0101010101010101n); // A0000-BFFFF WC
  m.write(MSR_MTRR_FIX4K_C0000 + 7, 0x0500000000000000n); // FF000 WP
  assertEquals(
    [m.typeOf(0), m.typeOf(0x10000), m.typeOf(0xa0000), m.typeOf(0xbf000), m.typeOf(0xff000)],
    [UC, WB, WC, WC, WP],
  );
  assertEquals(m.typeOf(0xf8000), UC, "fixed entries default to 0 (UC) once FE is on");
  assertEquals(m.typeOf(0x100000), WB, "above 1 MiB: the default type");
});

Deno.test("variable ranges combine as the SDM says: UC wins, WT with WB gives WT", () => {
  const m = enabled(WB);
  variable(m, 0, G, G, WT);
  variable(m, 1, G, 2 * G, WB);
  variable(m, 2, 3 * G, G, UC);
  variable(m, 3, 2 * G, 2 * G, WB);
  assertEquals([m.typeOf(G), m.typeOf(2 * G), m.typeOf(3 * G), m.typeOf(5 * G)], [WT, WB, UC, WB]);
  m.write(MSR_MTRR_PHYSBASE0 + 7, 0n); // pair 3 invalid now
  assertEquals(m.typeOf(2 * G), WB, "default type");
  const d = enabled(UC);
  variable(d, 0, G, G, WC);
  variable(d, 1, G, G, WP);
  assertEquals(d.typeOf(G), UC, "other overlaps are undefined: taken as UC");
  assertEquals(d.typeOf(0), UC, "default");
});

Deno.test("MTRR and PAT types combine per SDM table 11-7", () => {
  assertEquals(combineMtrrPat(WB, WC), WC);
  assertEquals(combineMtrrPat(UC, WB), UC);
  assertEquals(combineMtrrPat(WT, WB), WT);
  assertEquals(combineMtrrPat(WB, 7), UC, "UC- over WB");
  assertEquals(combineMtrrPat(WC, 7), WC, "UC- over WC");
  assertEquals(combineMtrrPat(WC, WB), WC);
  assertEquals(combineMtrrPat(WB, WP), WP);
  assertEquals(combineMtrrPat(UC, WC), WC);
});
