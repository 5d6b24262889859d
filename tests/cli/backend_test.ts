import { assertEquals, assertStrictEquals, assertThrows } from "@std/assert";
import type { BackendFactory } from "../../vmm/backend.ts";
import { selectBackend } from "../../vmm/create.ts";
import { BackendUnavailableError, errorKindOf } from "../../vmm/errors.ts";
import { exitCodeFor } from "../../cli/exit_codes.ts";
import type { Vm } from "../../vmm/types.ts";

/** A factory standing in for a host where /dev/kvm does or does not open. */
function host(kind: "kvm" | "emu", ok: boolean): BackendFactory {
  return {
    kind,
    available:
      () => (ok ? { ok: true } : { ok: false, reason: "/dev/kvm: No such file or directory" }),
    createVm: () => ({ backend: kind }) as unknown as Vm,
  };
}

Deno.test("selectBackend() takes kvm for auto when it opens, else emu", () => {
  const emu = host("emu", true);
  const kvm = host("kvm", true);
  assertStrictEquals(selectBackend("auto", { kvm, emu }), kvm);
  assertStrictEquals(selectBackend("auto", { kvm: host("kvm", false), emu }), emu);
  assertStrictEquals(selectBackend("emu", { kvm, emu }), emu);
});

Deno.test("selectBackend() never falls back from an explicit kvm", () => {
  const e = assertThrows(
    () => selectBackend("kvm", { kvm: host("kvm", false), emu: host("emu", true) }),
    BackendUnavailableError,
  );
  assertEquals(e.message, "backend kvm is not available: /dev/kvm: No such file or directory");
  // A backend failure: exit code 3 at the CLI.
  assertEquals(errorKindOf(e), "backend");
  assertEquals(exitCodeFor("backend_failed"), 3);
});
