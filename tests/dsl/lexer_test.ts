import { assertEquals } from "@std/assert";
import { SCRIPT_LEXER } from "../../dsl/lexer.ts";
import { parseDurationImage, parseIntImage, parseStringImage } from "../../dsl/tokens.ts";

function lex(text: string): string[] {
  const result = SCRIPT_LEXER.tokenize(text);
  assertEquals(result.errors, []);
  return result.tokens.map((t) => `${t.tokenType.name}:${t.image}`);
}

Deno.test("lexer skips comments and whitespace and keeps ';'", () => {
  assertEquals(lex("run # a comment\n  ; print"), ["Kw_run:run", "Semicolon:;", "Kw_print:print"]);
});

Deno.test("lexer reads integers in decimal, hex and binary with '_' separators", () => {
  assertEquals(lex("4096 0x1000 0b1010 1_000_000 0xffff_ffff_ffff_ffff"), [
    "IntLit:4096",
    "IntLit:0x1000",
    "IntLit:0b1010",
    "IntLit:1_000_000",
    "IntLit:0xffff_ffff_ffff_ffff",
  ]);
  assertEquals(parseIntImage("4096"), 4096n);
  assertEquals(parseIntImage("0x1000"), 4096n);
  assertEquals(parseIntImage("0b1010"), 10n);
  assertEquals(parseIntImage("1_000_000"), 1_000_000n);
  assertEquals(parseIntImage("0xffff_ffff_ffff_ffff"), (1n << 64n) - 1n);
});

Deno.test("lexer reads size suffixes as powers of 1024, exactly", () => {
  assertEquals(lex("4K 2M 1G 512G 1T"), [
    "IntLit:4K",
    "IntLit:2M",
    "IntLit:1G",
    "IntLit:512G",
    "IntLit:1T",
  ]);
  assertEquals(parseIntImage("4K"), 4096n);
  assertEquals(parseIntImage("2M"), 2n * 1024n * 1024n);
  assertEquals(parseIntImage("1G"), 1n << 30n);
  assertEquals(parseIntImage("512G"), 512n << 30n);
  assertEquals(parseIntImage("1T"), 1n << 40n);
});

Deno.test("lexer reads durations in ms, s and m", () => {
  assertEquals(lex("500ms 5s 2m"), ["Duration:500ms", "Duration:5s", "Duration:2m"]);
  assertEquals(parseDurationImage("500ms"), 500);
  assertEquals(parseDurationImage("5s"), 5000);
  assertEquals(parseDurationImage("2m"), 120_000);
  // `2M` is a size, `2m` a duration.
  assertEquals(lex("2M"), ["IntLit:2M"]);
});

Deno.test('lexer reads strings with \\" \\\\ and \\n escapes', () => {
  assertEquals(lex('"a \\"b\\" \\\\ \\n"'), ['StringLit:"a \\"b\\" \\\\ \\n"']);
  assertEquals(parseStringImage('"a \\"b\\" \\\\ \\n"'), 'a "b" \\ \n');
});

Deno.test("lexer reads words, keywords, variables, errno names and operators", () => {
  assertEquals(lex("vm vmx zap_all $exit.reason EINVAL"), [
    "Kw_vm:vm",
    "Ident:vmx",
    "Ident:zap_all",
    "Variable:$exit",
    "Dot:.",
    "Ident:reason",
    "UpperWord:EINVAL",
  ]);
  assertEquals(lex("stats stat vcpus vcpu"), [
    "Kw_stats:stats",
    "Kw_stat:stat",
    "Kw_vcpus:vcpus",
    "Kw_vcpu:vcpu",
  ]);
  assertEquals(
    lex("+ - * / % << >> & | ~ == != < <= > >= = -> ( ) [ ] { } , ."),
    [
      "Plus:+",
      "Minus:-",
      "Star:*",
      "Slash:/",
      "Percent:%",
      "Shl:<<",
      "Shr:>>",
      "Amp:&",
      "Pipe:|",
      "Tilde:~",
      "Eq:==",
      "Ne:!=",
      "Lt:<",
      "Le:<=",
      "Gt:>",
      "Ge:>=",
      "Assign:=",
      "Arrow:->",
      "LParen:(",
      "RParen:)",
      "LBracket:[",
      "RBracket:]",
      "LBrace:{",
      "RBrace:}",
      "Comma:,",
      "Dot:.",
    ],
  );
});

Deno.test("lexer marks numbers glued to letters and broken strings for the parser to report", () => {
  assertEquals(lex("64MB 5sec"), ["BadNumber:64MB", "BadNumber:5sec"]);
  assertEquals(lex('"abc'), ['BadString:"abc']);
});
