/**
 * The typed syntax tree of a `.kvm` script. Every node carries the
 * {@linkcode Loc} of the source text it came from, so the checker and the
 * interpreter can point a caret at it.
 *
 * @module
 */
import type { Step } from "./statements/mod.ts";
import type { VmStmt } from "./statements/vm.ts";

/** A source span: 1-based line and column of its start, 0-based offset, length in characters. */
export interface Loc {
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
  /** 0-based offset in the source. */
  offset: number;
  /** Length in characters. */
  length: number;
}

/** A name with the place it was written. */
export interface Name {
  /** The name as written. */
  text: string;
  /** Where it was written. */
  loc: Loc;
}

/** Binary operators, by their spelling. */
export type BinaryOp =
  | "+"
  | "-"
  | "*"
  | "/"
  | "%"
  | "<<"
  | ">>"
  | "&"
  | "|"
  | "=="
  | "!="
  | "<"
  | "<="
  | ">"
  | ">="
  | "and"
  | "or";

/** Unary operators. */
export type UnaryOp = "-" | "~" | "not";

/** An expression's own data, by kind (see {@linkcode Expr}). */
export type ExprNode =
  | { kind: "int"; value: bigint }
  | { kind: "float"; value: number }
  | { kind: "string"; value: string }
  /** A bare word: an enum value (`done`, `on`, `WB`) or `true`/`false`. */
  | { kind: "word"; value: string }
  | { kind: "var"; name: string }
  | { kind: "field"; target: Expr; field: Name }
  | { kind: "list"; items: Expr[] }
  | { kind: "call"; fn: Name; args: Expr[] }
  | { kind: "unary"; op: UnaryOp; operand: Expr }
  | { kind: "binary"; op: BinaryOp; left: Expr; right: Expr };

/** An expression. `source` is its exact text in the script (for expectation messages). */
export type Expr = ExprNode & { loc: Loc; source: string };

/** A statement: a `vm` block or a step. */
export type Stmt = VmStmt | Step;

// Each statement's and declaration's node lives in its module under `statements/`;
// `Step` and `Decl` are the unions of the registry's modules.
export type { Decl, Step } from "./statements/mod.ts";
export type { VmStmt } from "./statements/vm.ts";
export type { MemslotDecl } from "./statements/memslot_body.ts";
export type { RunStep } from "./statements/run.ts";
export type { LetValue } from "./statements/let.ts";
export type { MigrateClause } from "./statements/migrate.ts";
export type { SlotOp } from "./statements/memslot_step.ts";
export type { IfBranch } from "./statements/if.ts";
export type { Param } from "./statements/guest.ts";

/** A parsed script. */
export interface Script {
  /** The file name used in diagnostics. */
  file: string;
  /** The full source text (diagnostics quote its lines). */
  source: string;
  /** The statements, top to bottom. */
  body: Stmt[];
}
