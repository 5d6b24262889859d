/**
 * CST → AST: one visitor method per grammar rule (checked by
 * `validateVisitor`), each returning plain typed AST nodes from `ast.ts`
 * with their source locations. Structural errors the grammar cannot express
 * (an unknown `until` condition, `guest NAME "x"` where NAME is not `file`)
 * are collected in {@linkcode AstBuilder.diagnostics}.
 *
 * @module
 */
import type { CstNode, IToken } from "npm:chevrotain@^11.2.0";
import type {
  BinaryOp,
  Decl,
  Expr,
  ExprNode,
  IfBranch,
  LetValue,
  Loc,
  MemslotDecl,
  Name,
  Param,
  RunStep,
  SlotOp,
  Step,
  Stmt,
  UnaryOp,
  VmStmt,
} from "./ast.ts";
import { type Diagnostic, diagnosticAt } from "./diagnostics.ts";
import { SCRIPT_PARSER } from "./parser.ts";
import { parseDurationImage, parseIntImage, parseStringImage } from "./tokens.ts";

type Ctx = Record<string, (CstNode | IToken)[] | undefined>;

/** Where a token stands in the source. */
export function tokLoc(token: IToken): Loc {
  return {
    line: token.startLine ?? 1,
    column: token.startColumn ?? 1,
    offset: token.startOffset,
    length: token.image.length,
  };
}

function spanLoc(first: Loc, last: Loc): Loc {
  return {
    line: first.line,
    column: first.column,
    offset: first.offset,
    length: last.offset + last.length - first.offset,
  };
}

function tok(ctx: Ctx, key: string, index = 0): IToken {
  return ctx[key]![index] as IToken;
}

function maybeTok(ctx: Ctx, key: string, index = 0): IToken | undefined {
  return ctx[key]?.[index] as IToken | undefined;
}

function toks(ctx: Ctx, key: string): IToken[] {
  return (ctx[key] ?? []) as IToken[];
}

function nodes(ctx: Ctx, key: string): CstNode[] {
  return (ctx[key] ?? []) as CstNode[];
}

function name(token: IToken): Name {
  return { text: token.image, loc: tokLoc(token) };
}

function varName(token: IToken): Name {
  return { text: token.image.slice(1), loc: tokLoc(token) };
}

const BaseVisitor = SCRIPT_PARSER.getBaseCstVisitorConstructor();

/**
 * Builds the AST of one parse. Create one per script: it keeps the source
 * (for expression text) and the diagnostics it found.
 */
export class AstBuilder extends BaseVisitor {
  /** Errors found while building (the parse itself succeeded). */
  readonly diagnostics: Diagnostic[] = [];
  readonly #source: string;
  readonly #file: string;

  constructor(source: string, file: string) {
    super();
    this.#source = source;
    this.#file = file;
    this.validateVisitor();
  }

  #error(loc: Loc, message: string): void {
    this.diagnostics.push(diagnosticAt(this.#file, loc, message));
  }

  #expr(node: CstNode): Expr {
    return this.visit(node) as Expr;
  }

  #optExpr(ctx: Ctx, key: string): Expr | undefined {
    const n = nodes(ctx, key)[0];
    return n ? this.#expr(n) : undefined;
  }

  #body(block: CstNode): Stmt[] {
    return this.visit(block) as Stmt[];
  }

  #make(loc: Loc, rest: ExprNode): Expr {
    return { ...rest, loc, source: this.#source.slice(loc.offset, loc.offset + loc.length) };
  }

  /** Folds `operand (operator operand)*` left-associatively. */
  #chain(ctx: Ctx): Expr {
    const operands = nodes(ctx, "operand").map((n) => this.#expr(n));
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

  vmStmt(ctx: Ctx): VmStmt {
    return {
      kind: "vm",
      loc: tokLoc(tok(ctx, "Kw_vm")),
      name: name(tok(ctx, "name")),
      decls: nodes(ctx, "decl").map((n) => this.visit(n) as Decl),
    };
  }

  decl(ctx: Ctx): Decl {
    return this.visit(Object.values(ctx).flat()[0] as CstNode) as Decl;
  }

  backendDecl(ctx: Ctx): Decl {
    return { kind: "backend", loc: tokLoc(tok(ctx, "Kw_backend")), value: name(tok(ctx, "value")) };
  }

  mmuDecl(ctx: Ctx): Decl {
    return { kind: "mmu", loc: tokLoc(tok(ctx, "Kw_mmu")), value: name(tok(ctx, "value")) };
  }

  vcpusDecl(ctx: Ctx): Decl {
    return {
      kind: "vcpus",
      loc: tokLoc(tok(ctx, "Kw_vcpus")),
      count: this.#expr(nodes(ctx, "expression")[0]),
    };
  }

  systemDecl(ctx: Ctx): Decl {
    return {
      kind: "system",
      loc: tokLoc(tok(ctx, "Kw_system")),
      gpa: this.#expr(nodes(ctx, "gpa")[0]),
      size: this.#expr(nodes(ctx, "size")[0]),
    };
  }

  /** `cap NAME [VALUE]`, the same node as a declaration and as a step. */
  capClause(ctx: Ctx): Decl & Step & { kind: "cap" } {
    const capName = name(tok(ctx, "name"));
    const value = maybeTok(ctx, "value");
    return {
      kind: "cap",
      loc: tokLoc(tok(ctx, "Kw_cap")),
      name: capName,
      // `cap NAME` alone enables: the value reads `on`, located at the name.
      value: value ? name(value) : { text: "on", loc: capName.loc },
    };
  }

  /** `quirk NAME on|off`, the same node as a declaration and as a step. */
  quirkClause(ctx: Ctx): Decl & Step & { kind: "quirk" } {
    return {
      kind: "quirk",
      loc: tokLoc(tok(ctx, "Kw_quirk")),
      name: name(tok(ctx, "name")),
      value: name(tok(ctx, "value")),
    };
  }

  memslotDecl(ctx: Ctx): Decl {
    const body = this.visit(nodes(ctx, "memslotBody")[0]) as Omit<MemslotDecl, "name">;
    return {
      kind: "memslot",
      loc: tokLoc(tok(ctx, "Kw_memslot")),
      slot: { name: name(tok(ctx, "name")), ...body },
    };
  }

  memslotBody(ctx: Ctx): Omit<MemslotDecl, "name"> {
    const backing = maybeTok(ctx, "backing");
    return {
      gpa: this.#expr(nodes(ctx, "gpa")[0]),
      size: this.#expr(nodes(ctx, "size")[0]),
      flags: nodes(ctx, "flag").map((n) => this.visit(n) as Name),
      backing: backing ? name(backing) : undefined,
      hugepage: this.#optExpr(ctx, "hugepage"),
    };
  }

  flagName(ctx: Ctx): Name {
    return name(maybeTok(ctx, "Ident") ?? tok(ctx, "Kw_dirty_log"));
  }

  deviceDecl(ctx: Ctx): Decl {
    const noncoherent = maybeTok(ctx, "Kw_noncoherent");
    const via = maybeTok(ctx, "via");
    return {
      kind: "device",
      loc: tokLoc(tok(ctx, "Kw_device")),
      deviceKind: name(tok(ctx, "kind")),
      name: name(tok(ctx, "name")),
      mmio: this.#optExpr(ctx, "mmio"),
      shmGpa: this.#optExpr(ctx, "shmGpa"),
      shmSize: this.#optExpr(ctx, "shmSize"),
      noncoherent: noncoherent ? tokLoc(noncoherent) : undefined,
      via: via ? name(via) : undefined,
    };
  }

  guestDecl(ctx: Ctx): Decl {
    const payload = name(tok(ctx, "payload"));
    const fileTok = maybeTok(ctx, "file");
    if (fileTok && payload.text !== "file") {
      this.#error(tokLoc(fileTok), `expected '{' after the payload name '${payload.text}'`);
    }
    const values = nodes(ctx, "value");
    const params: Param[] = toks(ctx, "key").map((key, i) => ({
      key: name(key),
      value: this.#expr(values[i]),
    }));
    return {
      kind: "guest",
      loc: tokLoc(tok(ctx, "Kw_guest")),
      payload,
      file: fileTok ? { path: parseStringImage(fileTok.image), loc: tokLoc(fileTok) } : undefined,
      params,
    };
  }

  step(ctx: Ctx): Step {
    return this.visit(Object.values(ctx).flat()[0] as CstNode) as Step;
  }

  runStep(ctx: Ctx): Step {
    const run: RunStep = { until: { kind: "done" } };
    const vcpu = this.#optExpr(ctx, "vcpu");
    if (vcpu) run.vcpu = vcpu;
    const until = maybeTok(ctx, "until");
    const label = maybeTok(ctx, "label");
    if (until) {
      if (until.image === "sync") {
        if (label) run.until = { kind: "sync", label: parseStringImage(label.image) };
        else this.#error(tokLoc(until), "'until sync' needs a label: until sync \"LABEL\"");
      } else if (until.image === "done" || until.image === "exit") {
        run.until = { kind: until.image };
        if (label) this.#error(tokLoc(label), `'until ${until.image}' takes no label`);
      } else {
        this.#error(
          tokLoc(until),
          `unknown run condition '${until.image}' (expected done, sync "LABEL" or exit)`,
        );
      }
    }
    const timeout = maybeTok(ctx, "timeout");
    if (timeout) run.timeoutMs = parseDurationImage(timeout.image);
    for (const key of ["vcpu", "until", "timeout"]) {
      const again = (ctx[key] ?? [])[1];
      if (again) {
        const loc = "image" in again ? tokLoc(again) : tokLoc(tok(ctx, `Kw_${key}`, 1));
        this.#error(loc, `'${key}' given twice in one run`);
      }
    }
    return { kind: "run", loc: tokLoc(tok(ctx, "Kw_run")), run };
  }

  onStep(ctx: Ctx): Step {
    const loc = tokLoc(tok(ctx, "Kw_on"));
    const event = tok(ctx, "event");
    const label = maybeTok(ctx, "label");
    const body = this.#body(nodes(ctx, "block")[0]);
    if (event.image === "sync") {
      if (label) return { kind: "on_sync", loc, label: parseStringImage(label.image), body };
      this.#error(tokLoc(event), "'on sync' needs a label: on sync \"LABEL\" { … }");
    } else if (event.image === "memory_fault") {
      if (label) this.#error(tokLoc(label), "'on memory_fault' takes no label");
      return { kind: "on_memory_fault", loc, body };
    } else {
      this.#error(
        tokLoc(event),
        `unknown event '${event.image}' (expected memory_fault or sync "LABEL")`,
      );
    }
    return { kind: "on_memory_fault", loc, body };
  }

  demandStep(ctx: Ctx): Step {
    return {
      kind: "demand",
      loc: tokLoc(tok(ctx, "Kw_demand")),
      mode: name(tok(ctx, "mode")),
      slot: name(tok(ctx, "slot")),
      handlers: this.#optExpr(ctx, "handlers"),
    };
  }

  memslotStep(ctx: Ctx): Step {
    return {
      kind: "memslot",
      loc: tokLoc(tok(ctx, "Kw_memslot")),
      slot: name(tok(ctx, "name")),
      op: this.visit(nodes(ctx, "memslotOp")[0], name(tok(ctx, "name"))) as SlotOp,
    };
  }

  memslotOp(ctx: Ctx, slotName: Name): SlotOp {
    if (ctx.Kw_delete) return { kind: "delete" };
    if (ctx.Kw_move) return { kind: "move", gpa: this.#expr(nodes(ctx, "moveGpa")[0]) };
    if (ctx.Kw_flags) {
      return {
        kind: "flags",
        add: nodes(ctx, "addFlag").map((n) => this.visit(n) as Name),
        remove: nodes(ctx, "removeFlag").map((n) => this.visit(n) as Name),
      };
    }
    if (ctx.Kw_populate) {
      return {
        kind: "populate",
        offset: this.#optExpr(ctx, "offset"),
        size: this.#optExpr(ctx, "size"),
      };
    }
    if (ctx.Kw_write) {
      return {
        kind: "write",
        offset: this.#expr(nodes(ctx, "writeOffset")[0]),
        value: this.#expr(nodes(ctx, "writeValue")[0]),
      };
    }
    const body = this.visit(nodes(ctx, "memslotBody")[0]) as Omit<MemslotDecl, "name">;
    return { kind: "add", slot: { name: slotName, ...body } };
  }

  trackStep(ctx: Ctx): Step {
    return {
      kind: "track",
      loc: tokLoc(tok(ctx, "Kw_track")),
      name: name(tok(ctx, "name")),
      gpa: this.#expr(nodes(ctx, "gpa")[0]),
      size: this.#optExpr(ctx, "size"),
    };
  }

  untrackStep(ctx: Ctx): Step {
    return { kind: "untrack", loc: tokLoc(tok(ctx, "Kw_untrack")), name: name(tok(ctx, "name")) };
  }

  expectStep(ctx: Ctx): Step {
    const loc = tokLoc(tok(ctx, "Kw_expect"));
    const errno = maybeTok(ctx, "errno");
    if (errno) {
      return {
        kind: "expect_error",
        loc,
        errno: name(errno),
        body: this.#body(nodes(ctx, "block")[0]),
      };
    }
    const message = maybeTok(ctx, "message");
    return {
      kind: "expect",
      loc,
      expr: this.#expr(nodes(ctx, "expression")[0]),
      message: message ? parseStringImage(message.image) : undefined,
    };
  }

  letStep(ctx: Ctx): Step {
    return {
      kind: "let",
      loc: tokLoc(tok(ctx, "Kw_let")),
      variable: varName(tok(ctx, "Variable")),
      value: this.visit(nodes(ctx, "letValue")[0]) as LetValue,
    };
  }

  letValue(ctx: Ctx): LetValue {
    if (ctx.Kw_stat) {
      return { kind: "stat", name: name(tok(ctx, "stat")), vcpu: this.#optExpr(ctx, "vcpu") };
    }
    if (ctx.Kw_memtype) return { kind: "memtype", gpa: this.#expr(nodes(ctx, "memtypeGpa")[0]) };
    if (ctx.Kw_memslot) {
      return {
        kind: "slot_read",
        slot: name(tok(ctx, "readSlot")),
        offset: this.#expr(nodes(ctx, "readOffset")[0]),
      };
    }
    if (ctx.Kw_dirty_log) {
      return { kind: "dirty_log", slot: name(tok(ctx, "dirtySlot")), clear: !!ctx.Kw_clear };
    }
    return { kind: "expr", expr: this.#expr(nodes(ctx, "expr")[0]) };
  }

  markStep(ctx: Ctx): Step {
    const label = maybeTok(ctx, "StringLit");
    return {
      kind: "mark",
      loc: tokLoc(tok(ctx, "Kw_mark")),
      label: label ? parseStringImage(label.image) : undefined,
    };
  }

  statsStep(ctx: Ctx): Step {
    return {
      kind: "stats",
      loc: tokLoc(tok(ctx, "Kw_stats")),
      names: toks(ctx, "Ident").map(name),
    };
  }

  printStep(ctx: Ctx): Step {
    return {
      kind: "print",
      loc: tokLoc(tok(ctx, "Kw_print")),
      exprs: nodes(ctx, "expression").map((n) => this.#expr(n)),
    };
  }

  forStep(ctx: Ctx): Step {
    return {
      kind: "for",
      loc: tokLoc(tok(ctx, "Kw_for")),
      variable: varName(tok(ctx, "Variable")),
      list: this.#expr(nodes(ctx, "expression")[0]),
      body: this.#body(nodes(ctx, "block")[0]),
    };
  }

  repeatStep(ctx: Ctx): Step {
    return {
      kind: "repeat",
      loc: tokLoc(tok(ctx, "Kw_repeat")),
      count: this.#expr(nodes(ctx, "expression")[0]),
      body: this.#body(nodes(ctx, "block")[0]),
    };
  }

  timeStep(ctx: Ctx): Step {
    const loc = tokLoc(tok(ctx, "Kw_time"));
    const variable = maybeTok(ctx, "Variable");
    return {
      kind: "time",
      loc,
      body: this.#body(nodes(ctx, "block")[0]),
      variable: variable ? varName(variable) : { text: "elapsed", loc },
    };
  }

  ifStep(ctx: Ctx): Step {
    const branches: IfBranch[] = [{
      condition: this.#expr(nodes(ctx, "condition")[0]),
      body: this.#body(nodes(ctx, "then")[0]),
    }];
    const elseIf = nodes(ctx, "elseIf")[0];
    const otherwise = nodes(ctx, "otherwise")[0];
    if (elseIf) {
      const inner = this.visit(elseIf) as Step & { kind: "if" };
      branches.push(...inner.branches);
      return { kind: "if", loc: tokLoc(tok(ctx, "Kw_if")), branches, otherwise: inner.otherwise };
    }
    return {
      kind: "if",
      loc: tokLoc(tok(ctx, "Kw_if")),
      branches,
      otherwise: otherwise ? this.#body(otherwise) : undefined,
    };
  }

  expression(ctx: Ctx): Expr {
    return this.#chain(ctx);
  }

  andExpr(ctx: Ctx): Expr {
    return this.#chain(ctx);
  }

  notExpr(ctx: Ctx): Expr {
    const not = maybeTok(ctx, "Kw_not");
    if (!not) return this.#expr(nodes(ctx, "comparison")[0]);
    const operand = this.#expr(nodes(ctx, "notExpr")[0]);
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
    if (!op) return this.#expr(nodes(ctx, "postfix")[0]);
    const operand = this.#expr(nodes(ctx, "unary")[0]);
    return this.#make(spanLoc(tokLoc(op), operand.loc), {
      kind: "unary",
      op: op.image as UnaryOp,
      operand,
    });
  }

  postfix(ctx: Ctx): Expr {
    let acc = this.#expr(nodes(ctx, "primary")[0]);
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
      const args = nodes(ctx, "arg").map((n) => this.#expr(n));
      return this.#make(spanLoc(tokLoc(word), tokLoc(tok(ctx, "RParen"))), {
        kind: "call",
        fn: name(word),
        args,
      });
    }
    if (ctx.LBracket) {
      const items = nodes(ctx, "item").map((n) => this.#expr(n));
      return this.#make(spanLoc(tokLoc(tok(ctx, "LBracket")), tokLoc(tok(ctx, "RBracket"))), {
        kind: "list",
        items,
      });
    }
    // Parentheses: the inner expression, widened to include them so that an
    // enclosing expression's source text stays balanced.
    const inner = this.#expr(nodes(ctx, "inner")[0]);
    const loc = spanLoc(tokLoc(tok(ctx, "LParen")), tokLoc(tok(ctx, "RParen")));
    return { ...inner, loc, source: this.#source.slice(loc.offset, loc.offset + loc.length) };
  }
}
