import { assertEquals, assertThrows } from "@std/assert";
import { checkScript } from "../../dsl/check.ts";
import { formatDiagnostic, ScriptSyntaxError } from "../../dsl/diagnostics.ts";
import { parseScript } from "../../dsl/parse.ts";

/** Every diagnostic of a script (parse or check), formatted as the CLI prints them. */
function diagnose(text: string): string {
  try {
    const script = parseScript(text, { file: "exp.kvm" });
    return checkScript(script).map((d) => formatDiagnostic(d, text)).join("\n");
  } catch (e) {
    if (e instanceof ScriptSyntaxError) return e.formatted;
    throw e;
  }
}

const VM = `vm a {
  memslot ram gpa 0x100000 size 64M
  guest write_sweep { slot ram }
}
`;

Deno.test("diagnostics: an unknown slot names the slots the vm has", () => {
  assertEquals(
    diagnose(VM + "memslot rom delete\n"),
    `exp.kvm:5:9: error: unknown memslot 'rom' (vm 'a' has ram)
memslot rom delete
        ^~~`,
  );
});

Deno.test("diagnostics: overlapping slots name both, and the system region by name", () => {
  assertEquals(
    diagnose(`vm a {
  memslot ram gpa 0x100000 size 64M
  memslot rom gpa 0x200000 size 1M
  memslot bios gpa 0xf0000 size 64K
}
`),
    `exp.kvm:3:11: error: memslot 'rom' [0x200000, 0x300000) overlaps memslot 'ram' [0x100000, 0x4100000)
  memslot rom gpa 0x200000 size 1M
          ^~~
exp.kvm:4:11: error: memslot 'bios' [0xf0000, 0x100000) overlaps the system region [0x0, 0x100000)
  memslot bios gpa 0xf0000 size 64K
          ^~~~`,
  );
});

Deno.test("diagnostics: a misaligned slot points at the address or size", () => {
  assertEquals(
    diagnose(`vm a {
  memslot ram gpa 0x100800 size 0x1800
}
`),
    `exp.kvm:2:19: error: memslot 'ram': gpa 0x100800 is not page aligned (4 KiB)
  memslot ram gpa 0x100800 size 0x1800
                  ^~~~~~~~
exp.kvm:2:33: error: memslot 'ram': size 0x1800 is not a multiple of the page size (4 KiB)
  memslot ram gpa 0x100800 size 0x1800
                                ^~~~~~`,
  );
});

Deno.test("diagnostics: payload parameter errors point at the parameter", () => {
  assertEquals(
    diagnose(`vm a {
  memslot ram gpa 0x100000 size 64M
  guest write_sweep { slot rom  pases 2 }
}
`),
    `exp.kvm:3:28: error: write_sweep: parameter "slot" names no memslot "rom"
  guest write_sweep { slot rom  pases 2 }
                           ^~~
exp.kvm:3:33: error: write_sweep: unknown parameter "pases" (known: slot, offset, size, stride, passes, value)
  guest write_sweep { slot rom  pases 2 }
                                ^~~~~`,
  );
});

Deno.test("diagnostics: unknown names suggest the close match", () => {
  assertEquals(
    diagnose(
      VM +
        "let $p = stat pf_takn\ncap page_write_traking on\nexpect error EINVALL { cap page_write_tracking off }\n",
    ),
    `exp.kvm:5:15: error: unknown stat 'pf_takn' (did you mean 'pf_taken'?)
let $p = stat pf_takn
              ^~~~~~~
exp.kvm:6:5: error: unknown capability 'page_write_traking' (did you mean 'page_write_tracking'?)
cap page_write_traking on
    ^~~~~~~~~~~~~~~~~~
exp.kvm:7:14: error: unknown errno 'EINVALL' (did you mean 'EINVAL'?)
expect error EINVALL { cap page_write_tracking off }
             ^~~~~~~`,
  );
});

Deno.test("diagnostics: every recoverable parse error is reported", () => {
  assertEquals(
    diagnose(`vm a {
  vcpus
  memslot ram gpa 0x100000 size 64M
}
run until done timeout )
print (1 +
expect $x == 1
`),
    `exp.kvm:3:3: error: expected an expression but found 'memslot'
  memslot ram gpa 0x100000 size 64M
  ^~~~~~~
exp.kvm:5:24: error: expected an expression but found ')'
run until done timeout )
                       ^
exp.kvm:7:1: error: expected an expression but found 'expect'
expect $x == 1
^~~~~~`,
  );
});

Deno.test("diagnostics: an unterminated string is one error", () => {
  assertEquals(
    diagnose('print "faults taken:, $d\nprint 1\n'),
    `exp.kvm:1:7: error: unterminated string
print "faults taken:, $d
      ^~~~~~~~~~~~~~~~~~`,
  );
});

Deno.test("diagnostics: numbers glued to letters and unknown escapes", () => {
  assertEquals(
    diagnose('print 64MB, "a\\tb"\n'),
    `exp.kvm:1:7: error: invalid number '64MB' (sizes take K, M, G or T; durations ms, s or m)
print 64MB, "a\\tb"
      ^~~~
exp.kvm:1:13: error: unknown escape '\\t' in string (use \\", \\\\ or \\n)
print 64MB, "a\\tb"
            ^~~~~~`,
  );
});

Deno.test("diagnostics: variables before any let, steps outside a vm, type errors", () => {
  assertEquals(
    diagnose(`run until done
print $y, "a" * 2
expect $exit.reason == don
`),
    `exp.kvm:1:1: error: 'run' needs a vm: declare one with 'vm NAME { … }' before it
run until done
^~~
exp.kvm:2:7: error: variable '$y' is used before any 'let' assigns it
print $y, "a" * 2
      ^~
exp.kvm:2:11: error: '*' needs numbers but '"a"' is a string
print $y, "a" * 2
          ^~~
exp.kvm:3:24: error: 'don' is not an exit reason (done, sync, fail, hlt, io, mmio, memory_fault, shutdown, timeout, internal_error, fail_entry, system_event)
expect $exit.reason == don
                       ^~~`,
  );
});

Deno.test("diagnostics: tabs in the source line keep the caret aligned", () => {
  assertEquals(
    formatDiagnostic(
      { file: "t.kvm", line: 1, column: 3, offset: 2, length: 2, message: "m" },
      "\t\tab",
    ),
    "t.kvm:1:3: error: m\n\t\tab\n\t\t^~",
  );
});

Deno.test("ScriptSyntaxError carries the diagnostics and the first position", () => {
  const e = assertThrows(
    () => parseScript("print )\nprint (", { file: "x.kvm" }),
    ScriptSyntaxError,
  );
  assertEquals(e instanceof SyntaxError, true);
  assertEquals([e.line, e.column], [1, 7]);
  assertEquals(e.diagnostics.length, 2);
  assertEquals(e.message, e.formatted);
});
