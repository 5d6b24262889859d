/**
 * Payload declarations: each payload's code and labels in the image, the
 * sync labels it declares, and parameter validation against its schema.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { Assembler, buildBootImage, PAYLOADS, validatePayloadParams } from "../../guest/mod.ts";
import { boot, KiB, MiB, SLOTS } from "./payload_machine.ts";

Deno.test("every payload's code is in the image and its labels are NUL-terminated strings", () => {
  const params: Record<string, Record<string, bigint | string>> = {
    write_sweep: { slot: "ram" },
    read_sweep: { slot: "ram" },
    touch: { slot: "ram", count: 1n },
    boot_sim: { ram: "ram", rom: "rom" },
    fw_boot: { ram: "ram" },
    dirty_writer: { slot: "ram" },
    spin: {},
    pt_write: {},
    gpu_fill: { slot: "gpu.shm" },
  };
  assertEquals(Object.keys(params).sort(), Object.keys(PAYLOADS).sort());
  for (const [name, p] of Object.entries(params)) {
    const image = buildBootImage({
      guest: { kind: "payload", name, params: p },
      slots: SLOTS,
      vcpus: 1,
    });
    const rip = image.vcpus[0].rip;
    assert(image.writes.some((w) => w.gpa <= rip && rip < w.gpa + BigInt(w.bytes.length)), name);
  }
});

Deno.test("every payload declares exactly the sync labels it reports", () => {
  // Parameters under which each payload reaches every sync it can make.
  const params: Record<string, Record<string, bigint | string>> = {
    write_sweep: { slot: "ram", size: 64n * KiB },
    read_sweep: { slot: "rom" },
    touch: { slot: "ram", count: 4n },
    boot_sim: { ram: "ram", rom: "rom", touch: 64n * KiB },
    fw_boot: { ram: "ram", stages: 2n, step: 64n * KiB },
    dirty_writer: { slot: "ram", stride: 64n * KiB },
    pt_write: { count: 3n },
    gpu_fill: { slot: "gpu.shm", size: 64n * KiB },
  };
  for (const [name, def] of Object.entries(PAYLOADS)) {
    if (name === "spin") {
      assertEquals(def.syncLabels, [], "spin never reports");
      continue;
    }
    const { cpus } = boot(name, params[name]);
    cpus[0].run();
    assertEquals(cpus[0].events.at(-1), { cmd: "done" }, name);
    const seen = new Set(cpus[0].events.flatMap((e) => e.cmd === "sync" ? [e.label] : []));
    assertEquals([...seen].sort(), [...def.syncLabels].sort(), name);
  }
});

Deno.test("parameter ranges are declared once and checked with the types", () => {
  const v = (name: string, p: Record<string, bigint | string>) =>
    validatePayloadParams(name, p, SLOTS);
  assertEquals(v("write_sweep", { slot: "ram", passes: 0n }), [
    'write_sweep: parameter "passes" must be at least 1',
  ]);
  assertEquals(v("gpu_fill", { slot: "gpu.shm", value: 1n << 64n }), [
    'gpu_fill: parameter "value" does not fit 64 bits',
  ]);
  assertEquals(v("dirty_writer", { slot: "ram", iterations: 0n, stride: 0n }), [
    'dirty_writer: parameter "iterations" must be at least 1',
    'dirty_writer: parameter "stride" must not be 0',
  ]);
  assertEquals(PAYLOADS.write_sweep.params.stride.multipleOf, 8n);
});

Deno.test("what is not known yet is skipped, the rest still checked", () => {
  // A value the checker cannot know (null) and memslots it cannot know (null).
  assertEquals(validatePayloadParams("write_sweep", { slot: "ram", passes: null }, null), []);
  assertEquals(validatePayloadParams("write_sweep", { slot: "ram", passes: 0n }, null), [
    'write_sweep: parameter "passes" must be at least 1',
  ]);
  assertEquals(validatePayloadParams("write_sweep", { slot: 5n }, null), [
    'write_sweep: parameter "slot" must name a memslot, not 5',
  ]);
  // The payload's own checks need every value: none run while one is unknown.
  assertEquals(
    validatePayloadParams("boot_sim", { ram: "ram", rom: "ram", remaps: null }, SLOTS),
    [],
  );
});

// ------------------------------------------------------------------ validation

Deno.test("validatePayloadParams names the parameter at fault", () => {
  const slots = SLOTS;
  const v = (name: string, p: Record<string, bigint | string>) =>
    validatePayloadParams(name, p, slots);
  assertEquals(v("write_sweep", { slot: "ram" }), []);
  assertEquals(v("write_sweep", { slot: "nope" }), [
    'write_sweep: parameter "slot" names no memslot "nope"',
  ]);
  assertEquals(v("write_sweep", {}), [
    'write_sweep: parameter "slot" is required (the memslot to access)',
  ]);
  assertStringIncludes(
    v("write_sweep", { slot: "ram", color: "red" })[0],
    'unknown parameter "color"',
  );
  assertStringIncludes(v("write_sweep", { slot: "ram", stride: 0n })[0], '"stride" must not be 0');
  assertStringIncludes(
    v("write_sweep", { slot: "ram", stride: 12n })[0],
    '"stride" (12) is not a multiple of 8',
  );
  assertStringIncludes(v("write_sweep", { slot: "ram", offset: 64n * MiB })[0], '"offset"');
  assertStringIncludes(
    v("read_sweep", { slot: "ram", offset: 4096n, size: 64n * MiB })[0],
    "ends outside slot",
  );
  assertStringIncludes(v("write_sweep", { slot: 5n })[0], "must name a memslot");
  assertStringIncludes(
    v("write_sweep", { slot: "ram", passes: "two" })[0],
    '"passes" must be an integer',
  );
  assertStringIncludes(
    v("touch", { slot: "ram", pattern: "zigzag" })[0],
    "must be one of seq|random",
  );
  assertStringIncludes(v("touch", { slot: "ram", count: 20000n })[0], '"count" (20000) exceeds');
  assertEquals(v("touch", { slot: "ram", count: 20000n, pattern: "random" }), []);
  assertStringIncludes(v("touch", { slot: "ram", pattern: "random", seed: 0n })[0], '"seed"');
  assertStringIncludes(v("boot_sim", { ram: "ram", rom: "ram" })[0], "same memslot");
  assertStringIncludes(v("boot_sim", { ram: "rom", rom: "ram", touch: 1n * MiB })[0], '"touch"');
  assertEquals(v("gpu_fill", { device: "gpu" }), []);
  assertStringIncludes(v("gpu_fill", { device: "vga" })[0], 'names no device "vga"');
  assertStringIncludes(v("gpu_fill", {})[0], 'exactly one of parameters "device" and "slot"');
  assertStringIncludes(v("gpu_fill", { device: "gpu", pat: "wt" })[0], "wc|uc|wb");
  assertStringIncludes(v("spin", { x: 1n })[0], "it takes none");
  assertStringIncludes(v("warp", {})[0], 'unknown payload "warp"');
  assertStringIncludes(
    validatePayloadParams("dirty_writer", { slot: "rom" }, slots, { vcpus: 64 })[0],
    "less than one page per vCPU",
  );
  assertStringIncludes(
    validatePayloadParams("pt_write", {}, slots, { vcpus: 513 })[0],
    "at most 512 vCPUs",
  );
});

Deno.test("PAYLOADS schemas are plain data the DSL checker can read", () => {
  for (const [name, def] of Object.entries(PAYLOADS)) {
    assertEquals(def.name, name);
    for (const [key, spec] of Object.entries(def.params)) {
      assert(["slot", "size", "int", "enum", "device"].includes(spec.type), `${name}.${key}`);
      assert(spec.doc.length > 0);
      if (spec.type === "enum") {
        assert(spec.values?.includes(spec.default as string), `${name}.${key}`);
      }
    }
  }
  // An assembler is all a payload needs to emit code.
  assert(new Assembler());
});
