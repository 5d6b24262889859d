/**
 * The `.kvm` grammar as a chevrotain CstParser. Rules are class fields (a
 * misspelt rule is a compile error) and error recovery is on, so one parse
 * reports every error it can resynchronise after. Semantics live in
 * `visitor.ts`; this file only recognises structure.
 *
 * Operator precedence, loosest first: `or`, `and`, `not`, comparisons (not
 * chained), `|`, `&`, `<< >>`, `+ -`, `* / %`, unary `- ~`, field access.
 * Bitwise operators bind tighter than comparisons (as in Python), so
 * `$a & 0xfff == 0` means `($a & 0xfff) == 0`.
 *
 * @module
 */
import { CstParser } from "npm:chevrotain@^11.2.0";
import { PARSE_MESSAGES } from "./parse_messages.ts";
import * as T from "./tokens.ts";

const K = T.KEYWORDS;

/**
 * The parser. One instance is reused: set `input` to a token vector, call
 * {@linkcode ScriptParser.script}, then read `errors`.
 */
export class ScriptParser extends CstParser {
  constructor() {
    super(T.ALL_TOKENS, {
      recoveryEnabled: true,
      nodeLocationTracking: "full",
      errorMessageProvider: PARSE_MESSAGES,
      maxLookahead: 3,
    });
    this.performSelfAnalysis();
  }

  /** The whole script. */
  script = this.RULE("script", () => {
    this.MANY(() => this.SUBRULE(this.statement));
  });

  /** A `vm` block or a step, with an optional `;`. */
  statement = this.RULE("statement", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.vmStmt) },
      { ALT: () => this.SUBRULE(this.step) },
    ]);
    this.OPTION(() => this.CONSUME(T.Semicolon));
  });

  block = this.RULE("block", () => {
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.statement));
    this.CONSUME(T.RBrace);
  });

  vmStmt = this.RULE("vmStmt", () => {
    this.CONSUME(K.vm);
    this.CONSUME(T.AnyWord, { LABEL: "name" });
    this.CONSUME(T.LBrace);
    this.MANY(() => {
      this.SUBRULE(this.decl);
      this.OPTION(() => this.CONSUME(T.Semicolon));
    });
    this.CONSUME(T.RBrace);
  });

  decl = this.RULE("decl", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.backendDecl) },
      { ALT: () => this.SUBRULE(this.mmuDecl) },
      { ALT: () => this.SUBRULE(this.vcpusDecl) },
      { ALT: () => this.SUBRULE(this.systemDecl) },
      { ALT: () => this.SUBRULE(this.capClause) },
      { ALT: () => this.SUBRULE(this.quirkClause) },
      { ALT: () => this.SUBRULE(this.memslotDecl) },
      { ALT: () => this.SUBRULE(this.deviceDecl) },
      { ALT: () => this.SUBRULE(this.guestDecl) },
    ]);
  });

  backendDecl = this.RULE("backendDecl", () => {
    this.CONSUME(K.backend);
    this.CONSUME(T.AnyWord, { LABEL: "value" });
  });

  mmuDecl = this.RULE("mmuDecl", () => {
    this.CONSUME(K.mmu);
    this.CONSUME(T.AnyWord, { LABEL: "value" });
  });

  vcpusDecl = this.RULE("vcpusDecl", () => {
    this.CONSUME(K.vcpus);
    this.SUBRULE(this.expression);
  });

  systemDecl = this.RULE("systemDecl", () => {
    this.CONSUME(K.system);
    this.CONSUME(K.gpa);
    this.SUBRULE(this.expression, { LABEL: "gpa" });
    this.CONSUME(K.size);
    this.SUBRULE2(this.expression, { LABEL: "size" });
  });

  /**
   * `cap NAME [VALUE]`: the value may be left out (`cap memory_fault_nowait`
   * means `on`), so it is taken only from the same line as the name.
   */
  capClause = this.RULE("capClause", () => {
    this.CONSUME(K.cap);
    const capName = this.CONSUME(T.AnyWord, { LABEL: "name" });
    this.OPTION({
      GATE: () => this.LA(1).startLine === capName.endLine,
      DEF: () => this.CONSUME2(T.AnyWord, { LABEL: "value" }),
    });
  });

  quirkClause = this.RULE("quirkClause", () => {
    this.CONSUME(K.quirk);
    this.CONSUME(T.AnyWord, { LABEL: "name" });
    this.CONSUME2(T.AnyWord, { LABEL: "value" });
  });

  memslotDecl = this.RULE("memslotDecl", () => {
    this.CONSUME(K.memslot);
    this.CONSUME(T.AnyWord, { LABEL: "name" });
    this.SUBRULE(this.memslotBody);
  });

  /** `gpa A size S` then flags, `backing B`, `hugepage P` in any order. */
  memslotBody = this.RULE("memslotBody", () => {
    this.CONSUME(K.gpa);
    this.SUBRULE(this.expression, { LABEL: "gpa" });
    this.CONSUME(K.size);
    this.SUBRULE2(this.expression, { LABEL: "size" });
    this.MANY(() =>
      this.OR([
        { ALT: () => this.SUBRULE(this.flagName, { LABEL: "flag" }) },
        {
          ALT: () => {
            this.CONSUME(K.backing);
            this.CONSUME(T.AnyWord, { LABEL: "backing" });
          },
        },
        {
          ALT: () => {
            this.CONSUME(K.hugepage);
            this.SUBRULE3(this.expression, { LABEL: "hugepage" });
          },
        },
      ])
    );
  });

  /** A memslot flag: a plain name, or `dirty_log` (which is also a keyword). */
  flagName = this.RULE("flagName", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Ident) },
      { ALT: () => this.CONSUME(K.dirty_log) },
    ]);
  });

  deviceDecl = this.RULE("deviceDecl", () => {
    this.CONSUME(K.device);
    this.CONSUME(T.AnyWord, { LABEL: "kind" });
    this.CONSUME2(T.AnyWord, { LABEL: "name" });
    this.CONSUME(T.LBrace);
    this.MANY(() =>
      this.OR([
        {
          ALT: () => {
            this.CONSUME(K.mmio);
            this.SUBRULE(this.expression, { LABEL: "mmio" });
          },
        },
        {
          ALT: () => {
            this.CONSUME(K.shm);
            this.CONSUME(K.gpa);
            this.SUBRULE2(this.expression, { LABEL: "shmGpa" });
            this.CONSUME(K.size);
            this.SUBRULE3(this.expression, { LABEL: "shmSize" });
          },
        },
        {
          ALT: () => {
            this.CONSUME(K.noncoherent);
            this.OPTION(() => {
              this.CONSUME(K.via);
              this.CONSUME3(T.AnyWord, { LABEL: "via" });
            });
          },
        },
      ])
    );
    this.CONSUME(T.RBrace);
  });

  guestDecl = this.RULE("guestDecl", () => {
    this.CONSUME(K.guest);
    this.CONSUME(T.AnyWord, { LABEL: "payload" });
    this.OPTION(() => this.CONSUME(T.StringLit, { LABEL: "file" }));
    this.CONSUME(T.LBrace);
    this.MANY(() => {
      this.CONSUME(T.KeyWord, { LABEL: "key" });
      this.SUBRULE(this.expression, { LABEL: "value" });
      this.OPTION2(() => this.CONSUME(T.Comma));
    });
    this.CONSUME(T.RBrace);
  });

  step = this.RULE("step", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.runStep) },
      { ALT: () => this.SUBRULE(this.onStep) },
      { ALT: () => this.SUBRULE(this.demandStep) },
      { ALT: () => this.SUBRULE(this.memslotStep) },
      { ALT: () => this.SUBRULE(this.trackStep) },
      { ALT: () => this.SUBRULE(this.untrackStep) },
      { ALT: () => this.SUBRULE(this.capClause) },
      { ALT: () => this.SUBRULE(this.quirkClause) },
      { ALT: () => this.SUBRULE(this.expectStep) },
      { ALT: () => this.SUBRULE(this.letStep) },
      { ALT: () => this.SUBRULE(this.markStep) },
      { ALT: () => this.SUBRULE(this.statsStep) },
      { ALT: () => this.SUBRULE(this.printStep) },
      { ALT: () => this.SUBRULE(this.forStep) },
      { ALT: () => this.SUBRULE(this.repeatStep) },
      { ALT: () => this.SUBRULE(this.timeStep) },
      { ALT: () => this.SUBRULE(this.ifStep) },
    ]);
  });

  /** `run [vcpu N] [until done|exit|sync "L"] [timeout D]`, options in any order. */
  runStep = this.RULE("runStep", () => {
    this.CONSUME(K.run);
    this.MANY(() =>
      this.OR([
        {
          ALT: () => {
            this.CONSUME(K.vcpu);
            this.SUBRULE(this.expression, { LABEL: "vcpu" });
          },
        },
        {
          ALT: () => {
            this.CONSUME(K.until);
            this.CONSUME(T.AnyWord, { LABEL: "until" });
            this.OPTION(() => this.CONSUME(T.StringLit, { LABEL: "label" }));
          },
        },
        {
          ALT: () => {
            this.CONSUME(K.timeout);
            this.CONSUME(T.Duration, { LABEL: "timeout" });
          },
        },
      ])
    );
  });

  /** `on memory_fault { … }` / `on sync "L" { … }`. */
  onStep = this.RULE("onStep", () => {
    this.CONSUME(K.on);
    this.CONSUME(T.AnyWord, { LABEL: "event" });
    this.OPTION(() => this.CONSUME(T.StringLit, { LABEL: "label" }));
    this.SUBRULE(this.block);
  });

  demandStep = this.RULE("demandStep", () => {
    this.CONSUME(K.demand);
    this.CONSUME(T.AnyWord, { LABEL: "mode" });
    this.CONSUME2(T.AnyWord, { LABEL: "slot" });
    this.OPTION(() => {
      this.CONSUME(K.handlers);
      this.SUBRULE(this.expression, { LABEL: "handlers" });
    });
  });

  memslotStep = this.RULE("memslotStep", () => {
    this.CONSUME(K.memslot);
    this.CONSUME(T.AnyWord, { LABEL: "name" });
    this.SUBRULE(this.memslotOp);
  });

  memslotOp = this.RULE("memslotOp", () => {
    this.OR([
      { ALT: () => this.CONSUME(K.delete) },
      {
        ALT: () => {
          this.CONSUME(K.move);
          this.CONSUME(K.gpa);
          this.SUBRULE(this.expression, { LABEL: "moveGpa" });
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.flags);
          this.MANY(() =>
            this.OR2([
              {
                ALT: () => {
                  this.CONSUME(T.Plus);
                  this.SUBRULE(this.flagName, { LABEL: "addFlag" });
                },
              },
              {
                ALT: () => {
                  this.CONSUME(T.Minus);
                  this.SUBRULE2(this.flagName, { LABEL: "removeFlag" });
                },
              },
            ])
          );
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.populate);
          this.MANY2(() =>
            this.OR3([
              {
                ALT: () => {
                  this.CONSUME(K.offset);
                  this.SUBRULE2(this.expression, { LABEL: "offset" });
                },
              },
              {
                ALT: () => {
                  this.CONSUME(K.size);
                  this.SUBRULE3(this.expression, { LABEL: "size" });
                },
              },
            ])
          );
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.write);
          this.CONSUME2(K.offset);
          this.SUBRULE4(this.expression, { LABEL: "writeOffset" });
          this.CONSUME(K.value);
          this.SUBRULE5(this.expression, { LABEL: "writeValue" });
        },
      },
      { ALT: () => this.SUBRULE(this.memslotBody) },
    ]);
  });

  trackStep = this.RULE("trackStep", () => {
    this.CONSUME(K.track);
    this.CONSUME(T.AnyWord, { LABEL: "name" });
    this.CONSUME(K.gpa);
    this.SUBRULE(this.expression, { LABEL: "gpa" });
    this.OPTION(() => {
      this.CONSUME(K.size);
      this.SUBRULE2(this.expression, { LABEL: "size" });
    });
  });

  untrackStep = this.RULE("untrackStep", () => {
    this.CONSUME(K.untrack);
    this.CONSUME(T.AnyWord, { LABEL: "name" });
  });

  /** `expect error ERRNO { … }` or `expect EXPR [else "msg"]`. */
  expectStep = this.RULE("expectStep", () => {
    this.CONSUME(K.expect);
    this.OR({
      IGNORE_AMBIGUITIES: true,
      DEF: [
        {
          ALT: () => {
            this.CONSUME(K.error);
            this.CONSUME(T.UpperWord, { LABEL: "errno" });
            this.SUBRULE(this.block);
          },
        },
        {
          ALT: () => {
            this.SUBRULE(this.expression);
            this.OPTION(() => {
              this.CONSUME(K.else);
              this.CONSUME(T.StringLit, { LABEL: "message" });
            });
          },
        },
      ],
    });
  });

  letStep = this.RULE("letStep", () => {
    this.CONSUME(K.let);
    this.CONSUME(T.Variable);
    this.CONSUME(T.Assign);
    this.SUBRULE(this.letValue);
  });

  letValue = this.RULE("letValue", () => {
    this.OR({
      IGNORE_AMBIGUITIES: true,
      DEF: [
        {
          ALT: () => {
            this.CONSUME(K.stat);
            this.CONSUME(T.AnyWord, { LABEL: "stat" });
            this.OPTION(() => {
              this.CONSUME(K.vcpu);
              this.SUBRULE(this.expression, { LABEL: "vcpu" });
            });
          },
        },
        {
          ALT: () => {
            this.CONSUME(K.memtype);
            this.CONSUME(K.gpa);
            this.SUBRULE2(this.expression, { LABEL: "memtypeGpa" });
          },
        },
        {
          ALT: () => {
            this.CONSUME(K.memslot);
            this.CONSUME2(T.AnyWord, { LABEL: "readSlot" });
            this.CONSUME(K.read);
            this.CONSUME(K.offset);
            this.SUBRULE3(this.expression, { LABEL: "readOffset" });
          },
        },
        {
          ALT: () => {
            this.CONSUME(K.dirty_log);
            this.CONSUME3(T.AnyWord, { LABEL: "dirtySlot" });
            this.OPTION2(() => this.CONSUME(K.clear));
          },
        },
        { ALT: () => this.SUBRULE4(this.expression, { LABEL: "expr" }) },
      ],
    });
  });

  markStep = this.RULE("markStep", () => {
    this.CONSUME(K.mark);
    this.OPTION(() => this.CONSUME(T.StringLit));
  });

  statsStep = this.RULE("statsStep", () => {
    this.CONSUME(K.stats);
    this.MANY(() => this.CONSUME(T.Ident));
  });

  printStep = this.RULE("printStep", () => {
    this.CONSUME(K.print);
    this.SUBRULE(this.expression);
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.SUBRULE2(this.expression);
    });
  });

  forStep = this.RULE("forStep", () => {
    this.CONSUME(K.for);
    this.CONSUME(T.Variable);
    this.CONSUME(K.in);
    this.SUBRULE(this.expression);
    this.SUBRULE(this.block);
  });

  repeatStep = this.RULE("repeatStep", () => {
    this.CONSUME(K.repeat);
    this.SUBRULE(this.expression);
    this.SUBRULE(this.block);
  });

  /** `time { … } [-> $var]` (the variable defaults to `$elapsed`). */
  timeStep = this.RULE("timeStep", () => {
    this.CONSUME(K.time);
    this.SUBRULE(this.block);
    this.OPTION(() => {
      this.CONSUME(T.Arrow);
      this.CONSUME(T.Variable);
    });
  });

  /** `if EXPR { … } [else if EXPR { … }]* [else { … }]`: an `else if` nests another ifStep. */
  ifStep = this.RULE("ifStep", () => {
    this.CONSUME(K.if);
    this.SUBRULE(this.expression, { LABEL: "condition" });
    this.SUBRULE(this.block, { LABEL: "then" });
    this.OPTION(() => {
      this.CONSUME(K.else);
      this.OR([
        { ALT: () => this.SUBRULE2(this.ifStep, { LABEL: "elseIf" }) },
        { ALT: () => this.SUBRULE2(this.block, { LABEL: "otherwise" }) },
      ]);
    });
  });

  expression = this.RULE("expression", () => {
    this.SUBRULE(this.andExpr, { LABEL: "operand" });
    this.MANY(() => {
      this.CONSUME(K.or, { LABEL: "operator" });
      this.SUBRULE2(this.andExpr, { LABEL: "operand" });
    });
  });

  andExpr = this.RULE("andExpr", () => {
    this.SUBRULE(this.notExpr, { LABEL: "operand" });
    this.MANY(() => {
      this.CONSUME(K.and, { LABEL: "operator" });
      this.SUBRULE2(this.notExpr, { LABEL: "operand" });
    });
  });

  notExpr = this.RULE("notExpr", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(K.not);
          this.SUBRULE(this.notExpr);
        },
      },
      { ALT: () => this.SUBRULE(this.comparison) },
    ]);
  });

  comparison = this.RULE("comparison", () => {
    this.SUBRULE(this.bitOr, { LABEL: "operand" });
    this.OPTION(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Eq, { LABEL: "operator" }) },
        { ALT: () => this.CONSUME(T.Ne, { LABEL: "operator" }) },
        { ALT: () => this.CONSUME(T.Le, { LABEL: "operator" }) },
        { ALT: () => this.CONSUME(T.Ge, { LABEL: "operator" }) },
        { ALT: () => this.CONSUME(T.Lt, { LABEL: "operator" }) },
        { ALT: () => this.CONSUME(T.Gt, { LABEL: "operator" }) },
      ]);
      this.SUBRULE2(this.bitOr, { LABEL: "operand" });
    });
  });

  bitOr = this.RULE("bitOr", () => {
    this.SUBRULE(this.bitAnd, { LABEL: "operand" });
    this.MANY(() => {
      this.CONSUME(T.Pipe, { LABEL: "operator" });
      this.SUBRULE2(this.bitAnd, { LABEL: "operand" });
    });
  });

  bitAnd = this.RULE("bitAnd", () => {
    this.SUBRULE(this.shift, { LABEL: "operand" });
    this.MANY(() => {
      this.CONSUME(T.Amp, { LABEL: "operator" });
      this.SUBRULE2(this.shift, { LABEL: "operand" });
    });
  });

  shift = this.RULE("shift", () => {
    this.SUBRULE(this.additive, { LABEL: "operand" });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Shl, { LABEL: "operator" }) },
        { ALT: () => this.CONSUME(T.Shr, { LABEL: "operator" }) },
      ]);
      this.SUBRULE2(this.additive, { LABEL: "operand" });
    });
  });

  additive = this.RULE("additive", () => {
    this.SUBRULE(this.multiplicative, { LABEL: "operand" });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Plus, { LABEL: "operator" }) },
        { ALT: () => this.CONSUME(T.Minus, { LABEL: "operator" }) },
      ]);
      this.SUBRULE2(this.multiplicative, { LABEL: "operand" });
    });
  });

  multiplicative = this.RULE("multiplicative", () => {
    this.SUBRULE(this.unary, { LABEL: "operand" });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Star, { LABEL: "operator" }) },
        { ALT: () => this.CONSUME(T.Slash, { LABEL: "operator" }) },
        { ALT: () => this.CONSUME(T.Percent, { LABEL: "operator" }) },
      ]);
      this.SUBRULE2(this.unary, { LABEL: "operand" });
    });
  });

  unary = this.RULE("unary", () => {
    this.OR([
      {
        ALT: () => {
          this.OR2([
            { ALT: () => this.CONSUME(T.Minus, { LABEL: "operator" }) },
            { ALT: () => this.CONSUME(T.Tilde, { LABEL: "operator" }) },
          ]);
          this.SUBRULE(this.unary);
        },
      },
      { ALT: () => this.SUBRULE(this.postfix) },
    ]);
  });

  postfix = this.RULE("postfix", () => {
    this.SUBRULE(this.primary);
    this.MANY(() => {
      this.CONSUME(T.Dot);
      this.CONSUME(T.AnyWord, { LABEL: "field" });
    });
  });

  primary = this.RULE("primary", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.IntLit) },
      { ALT: () => this.CONSUME(T.FloatLit) },
      { ALT: () => this.CONSUME(T.StringLit) },
      { ALT: () => this.CONSUME(T.Variable) },
      { ALT: () => this.CONSUME(T.UpperWord) },
      {
        ALT: () => {
          this.CONSUME(T.AnyWord);
          this.OPTION(() => {
            this.CONSUME(T.LParen);
            this.OPTION2(() => {
              this.SUBRULE(this.expression, { LABEL: "arg" });
              this.MANY(() => {
                this.CONSUME(T.Comma);
                this.SUBRULE2(this.expression, { LABEL: "arg" });
              });
            });
            this.CONSUME(T.RParen);
          });
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.LBracket);
          this.OPTION3(() => {
            this.SUBRULE3(this.expression, { LABEL: "item" });
            this.MANY2(() => {
              this.CONSUME2(T.Comma);
              this.SUBRULE4(this.expression, { LABEL: "item" });
            });
            this.OPTION4(() => this.CONSUME3(T.Comma));
          });
          this.CONSUME(T.RBracket);
        },
      },
      {
        ALT: () => {
          this.CONSUME2(T.LParen);
          this.SUBRULE5(this.expression, { LABEL: "inner" });
          this.CONSUME2(T.RParen);
        },
      },
    ]);
  });
}

/** The one parser instance (chevrotain parsers are built once and reused). */
export const SCRIPT_PARSER: ScriptParser = new ScriptParser();
