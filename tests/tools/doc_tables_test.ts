/**
 * The docs' capability, quirk and stat tables equal the registries' rows, so
 * they cannot drift (`deno run -A tools/doc_tables.ts` regenerates them).
 */
import { assertEquals } from "@std/assert";
import { DOCS, docTables, expectedRows } from "../../tools/doc_tables.ts";

for (const [path, names] of Object.entries(DOCS)) {
  Deno.test(`${path}: the generated tables match the registries`, () => {
    const text = Deno.readTextFileSync(new URL(`../../${path}`, import.meta.url));
    const tables = docTables(text);
    assertEquals([...tables.keys()].sort(), [...names].sort(), "marked tables");
    for (const name of names) {
      assertEquals(
        tables.get(name),
        expectedRows(name),
        `${path} table ${name}: run deno run -A tools/doc_tables.ts`,
      );
    }
  });
}
