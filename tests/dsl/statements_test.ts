import { assertEquals } from "@std/assert";
import type { Stmt } from "../../dsl/ast.ts";
import { KEYWORDS } from "../../dsl/lexer.ts";
import { parseScript } from "../../dsl/parse.ts";
import { DECLS, inRegistryOrder, STEPS, VM } from "../../dsl/statements/mod.ts";
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

Deno.test("declarations take effect in the registry's order, whatever order the block has", () => {
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
  assertEquals(
    inRegistryOrder(vm.decls).map((d) => d.kind === "memslot" ? d.slot.name.text : d.kind),
    ["backend", "vcpus", "cap", "quirk", "ram", "rom", "device", "guest"],
  );
});
