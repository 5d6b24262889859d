/**
 * The `.kvm` grammar as a chevrotain CstParser: the script, blocks and
 * expressions here, and every statement's and declaration's own rules
 * defined by its module (`statements/`), in the registry's order. Error
 * recovery is on, so one parse reports every error it can resynchronise
 * after. This file only recognises structure; the CST becomes an AST in
 * `visitor.ts` and the modules.
 *
 * Operator precedence, loosest first: `or`, `and`, `not`, comparisons (not
 * chained), `|`, `&`, `<< >>`, `+ -`, `* / %`, unary `- ~`, field access.
 * Bitwise operators bind tighter than comparisons (as in Python), so
 * `$a & 0xfff == 0` means `($a & 0xfff) == 0`.
 *
 * @module
 */
import {
  type CstNode,
  CstParser,
  type IOrAlt,
  type IToken,
  type TokenType,
} from "npm:chevrotain@^11.2.0";
import { PARSE_MESSAGES } from "./parse_messages.ts";
import { DECLS, STEPS, VM } from "./statements/mod.ts";
import type { GrammarDsl, GrammarEnv, Rule } from "./statements/statement.ts";
import { ALL_TOKENS, KEYWORDS as K } from "./lexer.ts";
import * as T from "./tokens.ts";

/**
 * How deep blocks, parenthesised expressions, lists, call arguments, `else if`
 * chains and prefix operators (`not`, `-`, `~`) may nest, together. Far
 * beyond what a script needs, and well within the JavaScript stack of every
 * later stage (the parser itself overflowed near 150 parentheses).
 */
export const MAX_NESTING = 64;

/** Thrown out of the parse at the token that nests one level too deep. */
export class NestingTooDeep extends Error {
  /** The token where the level beyond {@linkcode MAX_NESTING} starts. */
  readonly token: IToken;
  /**
   * Stops the parse at a token.
   *
   * @param token where the level too many starts
   */
  constructor(token: IToken) {
    super(`nesting deeper than ${MAX_NESTING} levels (blocks, brackets and operators together)`);
    this.name = "NestingTooDeep";
    this.token = token;
  }
}

/**
 * The parser. One instance is reused: set `input` to a token vector, call
 * {@linkcode ScriptParser.script}, then read `errors`.
 */
export class ScriptParser extends CstParser {
  #depth = 0;

  /**
   * Runs `inner` one nesting level deeper, stopping the parse beyond
   * {@linkcode MAX_NESTING}, before the JavaScript stack runs out.
   */
  #deeper(inner: () => void): void {
    this.ACTION(() => {
      if (++this.#depth > MAX_NESTING) throw new NestingTooDeep(this.LA(1));
    });
    try {
      inner();
    } finally {
      this.ACTION(() => this.#depth--);
    }
  }

  /** The whole script. */
  script: Rule = this.RULE("script", () => {
    this.ACTION(() => this.#depth = 0);
    this.MANY(() => this.SUBRULE(this.statement));
  });

  /** A `vm` block or a step, with an optional `;`. */
  statement: Rule = this.RULE("statement", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.#vmStmt) },
      { ALT: () => this.SUBRULE(this.step) },
    ]);
    this.OPTION(() => this.CONSUME(T.Semicolon));
  });

  /**
   * A left-associative binary level: `operand (operator operand)*`, the
   * operators being `operators` (the AST builder folds it, `visitor.ts`).
   * `operand` is read when the rule runs: the next level is defined later.
   */
  #binary(name: string, operand: () => Rule, operators: readonly TokenType[]): Rule {
    const alts = operators.map((t) => ({ ALT: () => this.CONSUME(t, { LABEL: "operator" }) }));
    return this.RULE(name, () => {
      this.SUBRULE(operand(), { LABEL: "operand" });
      this.MANY(() => {
        if (alts.length === 1) alts[0].ALT();
        else this.OR(alts);
        this.SUBRULE2(operand(), { LABEL: "operand" });
      });
    });
  }

  /** `{ statement* }`: the body of loops, handlers, `if` and `expect error`. */
  block: Rule = this.RULE("block", () => {
    this.CONSUME(T.LBrace);
    this.#deeper(() => this.MANY(() => this.SUBRULE(this.statement)));
    this.CONSUME(T.RBrace);
  });

  /** Any step of the registry (`statements/mod.ts`), in its order. */
  step: Rule = this.RULE("step", () => {
    this.OR(this.#stepAlts);
  });

  /** Any declaration of the registry, in its order. */
  decl: Rule = this.RULE("decl", () => {
    this.OR(this.#declAlts);
  });

  expression: Rule = this.#binary("expression", () => this.andExpr, [K.or]);

  andExpr: Rule = this.#binary("andExpr", () => this.notExpr, [K.and]);

  notExpr = this.RULE("notExpr", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(K.not);
          this.#deeper(() => this.SUBRULE(this.notExpr));
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

  bitOr: Rule = this.#binary("bitOr", () => this.bitAnd, [T.Pipe]);

  bitAnd: Rule = this.#binary("bitAnd", () => this.shift, [T.Amp]);

  shift: Rule = this.#binary("shift", () => this.additive, [T.Shl, T.Shr]);

  additive: Rule = this.#binary("additive", () => this.multiplicative, [T.Plus, T.Minus]);

  multiplicative: Rule = this.#binary("multiplicative", () => this.unary, [
    T.Star,
    T.Slash,
    T.Percent,
  ]);

  unary = this.RULE("unary", () => {
    this.OR([
      {
        ALT: () => {
          this.OR2([
            { ALT: () => this.CONSUME(T.Minus, { LABEL: "operator" }) },
            { ALT: () => this.CONSUME(T.Tilde, { LABEL: "operator" }) },
          ]);
          this.#deeper(() => this.SUBRULE(this.unary));
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
            this.OPTION2(() =>
              this.#deeper(() => {
                this.SUBRULE(this.expression, { LABEL: "arg" });
                this.MANY(() => {
                  this.CONSUME(T.Comma);
                  this.SUBRULE2(this.expression, { LABEL: "arg" });
                });
              })
            );
            this.CONSUME(T.RParen);
          });
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.LBracket);
          this.OPTION3(() =>
            this.#deeper(() => {
              this.SUBRULE3(this.expression, { LABEL: "item" });
              this.MANY2(() => {
                this.CONSUME2(T.Comma);
                this.SUBRULE4(this.expression, { LABEL: "item" });
              });
              this.OPTION4(() => this.CONSUME3(T.Comma));
            })
          );
          this.CONSUME(T.RBracket);
        },
      },
      {
        ALT: () => {
          this.CONSUME2(T.LParen);
          this.#deeper(() => this.SUBRULE5(this.expression, { LABEL: "inner" }));
          this.CONSUME2(T.RParen);
        },
      },
    ]);
  });
  #vmStmt: Rule;
  #stepAlts: IOrAlt<CstNode>[];
  #declAlts: IOrAlt<CstNode>[];

  constructor() {
    super(ALL_TOKENS, {
      recoveryEnabled: true,
      nodeLocationTracking: "full",
      errorMessageProvider: PARSE_MESSAGES,
      maxLookahead: 3,
    });
    // Each module defines its rules once, here, before the self-analysis (never per parse).
    const shared = new Map<string, Rule>();
    const env: GrammarEnv = {
      // CstParser keeps its DSL protected: the modules get this instance through a typed view.
      g: this as unknown as GrammarDsl,
      K,
      block: this.block,
      expression: this.expression,
      decl: this.decl,
      deeper: (inner) => this.#deeper(inner),
      shared(name, define) {
        let rule = shared.get(name);
        if (!rule) shared.set(name, rule = define());
        return rule;
      },
    };
    const alternative = (rule: Rule): IOrAlt<CstNode> => ({ ALT: () => this.SUBRULE(rule) });
    this.#vmStmt = VM.grammar(env);
    this.#stepAlts = STEPS.map((def) => alternative(def.grammar(env)));
    this.#declAlts = DECLS.map((def) => alternative(def.grammar(env)));
    this.performSelfAnalysis();
  }
}

/** The one parser instance (chevrotain parsers are built once and reused). */
export const SCRIPT_PARSER: ScriptParser = new ScriptParser();
