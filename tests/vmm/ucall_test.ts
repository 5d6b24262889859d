/** The host-side ucall decoder (`vmm/ucall.ts`), which both backends use. */
import { assertEquals } from "@std/assert";
import { UCALL_PORT, UcallCmd } from "../../guest/ucall.ts";
import { labelFrom, ucallExit, type UcallReader } from "../../vmm/ucall.ts";
import type { VcpuExit } from "../../vmm/types.ts";

const SLOT = 0x1000n;
const LABEL = 0x2000n;
const MEM: UcallReader = {
  u64: (gpa) => (gpa === SLOT + 8n ? LABEL : gpa === SLOT + 16n ? 7n : 0n),
  label: (gpa) => (gpa === LABEL ? "pass" : ""),
};

function out(data: bigint, size = 4, port = UCALL_PORT): VcpuExit {
  return { reason: "io", vcpu: 1, port, size, isWrite: true, data };
}

Deno.test("ucallExit() decodes done, sync and fail from the vCPU's slot", () => {
  assertEquals(ucallExit(out(BigInt(UcallCmd.DONE)), SLOT, MEM), { reason: "done", vcpu: 1 });
  assertEquals(ucallExit(out(BigInt(UcallCmd.SYNC)), SLOT, MEM), {
    reason: "sync",
    vcpu: 1,
    label: "pass",
    value: 7n,
  });
  assertEquals(ucallExit(out(BigInt(UcallCmd.FAIL)), SLOT, MEM), {
    reason: "fail",
    vcpu: 1,
    message: "pass",
    value: 7n,
  });
});

Deno.test("ucallExit() leaves every other exit as it is", () => {
  for (
    const e of [
      out(99n), // unknown command
      out(BigInt(UcallCmd.DONE), 1), // not `out dx, eax`
      out(BigInt(UcallCmd.DONE), 4, 0x80), // another port
      { reason: "io", vcpu: 0, port: UCALL_PORT, size: 4, isWrite: false, data: 0n } as const,
      { reason: "mmio", vcpu: 0, gpa: 0n, len: 8, isWrite: false, data: 0n } as const,
    ]
  ) assertEquals(ucallExit(e, SLOT, MEM), e);
});

Deno.test("labelFrom() stops at NUL, unbacked memory or 63 bytes", () => {
  const bytes = new TextEncoder().encode("iter\0x");
  assertEquals(labelFrom(0x10n, (g) => g < 0x10n + 6n ? bytes[Number(g - 0x10n)] : -1), "iter");
  assertEquals(labelFrom(0n, () => 65), "");
  assertEquals(labelFrom(0x10n, () => 65), "A".repeat(63));
});
