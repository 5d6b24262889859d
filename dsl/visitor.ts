/**
 * CST → AST: one conversion per grammar rule (checked when this module
 * loads), each returning plain typed AST nodes from `ast.ts` with their
 * source locations. The script's frame and expressions are converted here;
 * each statement's and declaration's rules by its module (`statements/`).
 * Structural errors the grammar cannot express (an unknown `until`
 * condition, `guest NAME "x"` where NAME is not `file`) are collected in
 * {@linkcode AstBuilder.diagnostics}.
 *
 * @module
 */
import type { CstNode, IToken } from "npm:chevrotain@^11.2.0";
import type { BinaryOp, Decl, Expr, ExprNode, Loc, Stmt, UnaryOp } from "./ast.ts";
import { type Ctx, maybeTok, name, nodes, spanLoc, tok, tokLoc, toks } from "./cst.ts";
import { type Diagnostic, diagnosticAt } from "./diagnostics.ts";
import { SCRIPT_PARSER } from "./parser.ts";
import { DECLS, STEPS, VM } from "./statements/mod.ts";
import type { Build } from "./statements/statement.ts";
import { parseIntImage, parseStringImage } from "./tokens.ts";

export { tokLoc } from "./cst.ts";

/** The CST → AST conversions of the statement and declaration modules, by rule name. */
const MODULE_BUILDS: Readonly<Record<string, Build>> = Object.assign(
  {},
  VM.build,
  ...STEPS.map((def) => def.build),
  ...DECLS.map((def) => def.build),
);

/** The rules this module converts itself: the script's frame and expressions. */
const OWN_RULES = [
  "script",
  "statement",
  "block",
  "step",
  "decl",
  "expression",
  "andExpr",
  "notExpr",
  "comparison",
  "bitOr",
  "bitAnd",
  "shift",
  "additive",
  "multiplicative",
  "unary",
  "postfix",
  "primary",
] as const;

// Every rule of the grammar has a conversion (what chevrotain's `validateVisitor` checked).
for (const rule of Object.keys(SCRIPT_PARSER.getGAstProductions())) {
  if (!Object.hasOwn(MODULE_BUILDS, rule) && !(OWN_RULES as readonly string[]).includes(rule)) {
    throw new Error(`rule '${rule}' has no CST → AST conversion`);
  }
}

/**
 * Builds the AST of one parse. Create one per script: it keeps the source
 * (for expression text) and the diagnostics it found.
 */
export class AstBuilder {
  /** Errors found while building (the parse itself succeeded). */
  readonly diagnostics: Diagnostic[] = [];
  readonly #source: string;
  readonly #file: string;

  constructor(source: string, file: string) {
    this.#source = source;
    this.#file = file;
  }

  /** Converts a CST node (its rule's conversion gets `arg`). */
  visit(node: CstNode, arg?: unknown): unknown {
    const build = MODULE_BUILDS[node.name];
    if (build) return build(node.children, this, arg as never);
    return this[node.name as typeof OWN_RULES[number]](node.children);
  }

  /** Reports a structural error at `loc`. */
  error(loc: Loc, message: string): void {
    this.diagnostics.push(diagnosticAt(this.#file, loc, message));
  }

  /** An expression node's AST. */
  expr(node: CstNode): Expr {
    return this.visit(node) as Expr;
  }

  /** The expression labelled `key`, if there is one. */
  optExpr(ctx: Ctx, key: string): Expr | undefined {
    const n = nodes(ctx, key)[0];
    return n ? this.expr(n) : undefined;
  }

  /** A block's statements. */
  body(block: CstNode): Stmt[] {
    return this.visit(block) as Stmt[];
  }

  #make(loc: Loc, rest: ExprNode): Expr {
    return { ...rest, loc, source: this.#source.slice(loc.offset, loc.offset + loc.length) };
  }

  /** Folds `operand (operator operand)*` left-associatively. */
  #chain(ctx: Ctx): Expr {
    const operands = nodes(ctx, "operand").map((n) => this.expr(n));
    const operators = toks(ctx, "operator");
    let acc = operands[0];
    for (let i = 0; i < operators.length; i++) {
      const right = operands[i + 1];
      acc = this.#make(spanLoc(acc.loc, right.loc), {
        kind: "binary",
        op: operators[i].image as BinaryOp,
        left: acc,
        right,
      });
    }
    return acc;
  }

  script(ctx: Ctx): Stmt[] {
    return nodes(ctx, "statement").map((n) => this.visit(n) as Stmt);
  }

  statement(ctx: Ctx): Stmt {
    const child = nodes(ctx, "vmStmt")[0] ?? nodes(ctx, "step")[0];
    return this.visit(child) as Stmt;
  }

  block(ctx: Ctx): Stmt[] {
    return nodes(ctx, "statement").map((n) => this.visit(n) as Stmt);
  }

  decl(ctx: Ctx): Decl {
    return this.visit(Object.values(ctx).flat()[0] as CstNode) as Decl;
  }

  step(ctx: Ctx): Stmt {
    return this.visit(Object.values(ctx).flat()[0] as CstNode) as Stmt;
  }

  expression(ctx: Ctx): Expr {
    return this.#chain(ctx);
  }

  andExpr(ctx: Ctx): Expr {
    return this.#chain(ctx);
  }

  notExpr(ctx: Ctx): Expr {
    const not = maybeTok(ctx, "Kw_not");
    if (!not) return this.expr(nodes(ctx, "comparison")[0]);
    const operand = this.expr(nodes(ctx, "notExpr")[0]);
    return this.#make(
      spanLoc(tokLoc(not), operand.loc),
      { kind: "unary", op: "not", operand },
    );
  }

  comparison(ctx: Ctx): Expr {
    return this.#chain(ctx);
  }

  bitOr(ctx: Ctx): Expr {
    return this.#chain(ctx);
  }

  bitAnd(ctx: Ctx): Expr {
    return this.#chain(ctx);
  }

  shift(ctx: Ctx): Expr {
    return this.#chain(ctx);
  }

  additive(ctx: Ctx): Expr {
    return this.#chain(ctx);
  }

  multiplicative(ctx: Ctx): Expr {
    return this.#chain(ctx);
  }

  unary(ctx: Ctx): Expr {
    const op = maybeTok(ctx, "operator");
    if (!op) return this.expr(nodes(ctx, "postfix")[0]);
    const operand = this.expr(nodes(ctx, "unary")[0]);
    return this.#make(spanLoc(tokLoc(op), operand.loc), {
      kind: "unary",
      op: op.image as UnaryOp,
      operand,
    });
  }

  postfix(ctx: Ctx): Expr {
    let acc = this.expr(nodes(ctx, "primary")[0]);
    for (const field of toks(ctx, "field")) {
      acc = this.#make(spanLoc(acc.loc, tokLoc(field)), {
        kind: "field",
        target: acc,
        field: name(field),
      });
    }
    return acc;
  }

  primary(ctx: Ctx): Expr {
    const first = Object.values(ctx).flat()[0] as IToken | CstNode;
    const tokenLoc = "image" in first ? tokLoc(first) : undefined;
    if (ctx.IntLit) {
      return this.#make(tokenLoc!, { kind: "int", value: parseIntImage(tok(ctx, "IntLit").image) });
    }
    if (ctx.FloatLit) {
      return this.#make(tokenLoc!, {
        kind: "float",
        value: Number(tok(ctx, "FloatLit").image.replaceAll("_", "")),
      });
    }
    if (ctx.StringLit) {
      return this.#make(tokenLoc!, {
        kind: "string",
        value: parseStringImage(tok(ctx, "StringLit").image),
      });
    }
    if (ctx.Variable) {
      return this.#make(tokenLoc!, { kind: "var", name: tok(ctx, "Variable").image.slice(1) });
    }
    if (ctx.UpperWord) {
      return this.#make(tokenLoc!, { kind: "word", value: tok(ctx, "UpperWord").image });
    }
    if (ctx.AnyWord) {
      const word = tok(ctx, "AnyWord");
      if (!ctx.LParen) return this.#make(tokLoc(word), { kind: "word", value: word.image });
      const args = nodes(ctx, "arg").map((n) => this.expr(n));
      return this.#make(spanLoc(tokLoc(word), tokLoc(tok(ctx, "RParen"))), {
        kind: "call",
        fn: name(word),
        args,
      });
    }
    if (ctx.LBracket) {
      const items = nodes(ctx, "item").map((n) => this.expr(n));
      return this.#make(spanLoc(tokLoc(tok(ctx, "LBracket")), tokLoc(tok(ctx, "RBracket"))), {
        kind: "list",
        items,
      });
    }
    // Parentheses: the inner expression, widened to include them so that an
    // enclosing expression's source text stays balanced.
    const inner = this.expr(nodes(ctx, "inner")[0]);
    const loc = spanLoc(tokLoc(tok(ctx, "LParen")), tokLoc(tok(ctx, "RParen")));
    return { ...inner, loc, source: this.#source.slice(loc.offset, loc.offset + loc.length) };
  }
}
