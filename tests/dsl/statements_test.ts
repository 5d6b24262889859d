import { assertEquals } from "@std/assert";
import type { Stmt } from "../../dsl/ast.ts";
import { KEYWORDS } from "../../dsl/lexer.ts";
import { parseScript } from "../../dsl/parse.ts";
import { declDef, DECLS, STEPS, VM } from "../../dsl/statements/mod.ts";
import { u64Of, VmDraft } from "../../dsl/build_vm.ts";
import { AnyWord } from "../../dsl/tokens.ts";

Deno.test("every statement module's words are keywords; its reserved words can never be names", () => {
  for (const module of [VM, ...STEPS, ...DECLS]) {
    for (const word of module.reserved) {
      assertEquals(KEYWORDS[word]?.CATEGORIES?.includes(AnyWord), false, word);
    }
    for (const word of module.words) {
      const reserved = [VM, ...STEPS, ...DECLS].some((m) => m.reserved.includes(word));
      assertEquals(KEYWORDS[word]?.CATEGORIES?.includes(AnyWord), !reserved, word);
    }
  }
});

Deno.test("declarations describe the VM whatever order the block has; vmm/builder.ts orders boot", () => {
  const [vm] = parseScript(`vm a {
    guest halt {}
    memslot ram gpa 1M size 64K
    quirk cd_nw_cleared on
    device virtio_gpu gpu { mmio 0xd000_0000 shm gpa 2M size 64K }
    cap page_write_tracking on
    memslot rom gpa 4M size 4K readonly
    vcpus 2
    backend emu
  }`).body as Stmt[];
  if (vm.kind !== "vm") throw new Error("expected a vm block");
  const vars = new Map();
  const draft = new VmDraft({
    file: "t.kvm",
    vars,
    openVm: () => {
      throw new Error("unused");
    },
    onOpen: () => {},
  }, u64Of(vars));
  for (const d of vm.decls) declDef(d).describe(d, draft);
  const desc = draft.description("a");
  assertEquals(desc.backend, "emu");
  assertEquals(desc.vcpus, 2);
  assertEquals(desc.caps, [["page_write_tracking", "on"]]);
  assertEquals(desc.quirks, [["cd_nw_cleared", true]]);
  assertEquals(desc.memslots?.map((m) => m.name), ["ram", "rom"]);
  assertEquals(desc.devices?.map((d) => d.name), ["gpu"]);
  assertEquals(typeof desc.guest, "function");
});
