/**
 * The typed syntax tree of a `.kvm` script. Every node carries the
 * {@linkcode Loc} of the source text it came from, so the checker and the
 * interpreter can point a caret at it.
 *
 * @module
 */

/** A source span: 1-based line and column of its start, 0-based offset, length in characters. */
export interface Loc {
  line: number;
  column: number;
  offset: number;
  length: number;
}

/** A name with the place it was written. */
export interface Name {
  text: string;
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

/** A `key value` parameter of a guest block. */
export interface Param {
  key: Name;
  value: Expr;
}

/** A declaration inside `vm NAME { … }`. */
export type Decl =
  & { loc: Loc }
  & (
    | { kind: "backend"; value: Name }
    | { kind: "mmu"; value: Name }
    | { kind: "vcpus"; count: Expr }
    | { kind: "system"; gpa: Expr; size: Expr }
    | { kind: "cap"; name: Name; value: Name }
    | { kind: "quirk"; name: Name; value: Name }
    | { kind: "memslot"; slot: MemslotDecl }
    | {
      kind: "device";
      deviceKind: Name;
      name: Name;
      mmio?: Expr;
      shmGpa?: Expr;
      shmSize?: Expr;
      noncoherent?: Loc;
      via?: Name;
    }
    | { kind: "guest"; payload: Name; file?: { path: string; loc: Loc }; params: Param[] }
  );

/** `memslot NAME gpa A size S [FLAGS] [backing B] [hugepage P]`. */
export interface MemslotDecl {
  name: Name;
  gpa: Expr;
  size: Expr;
  flags: Name[];
  backing?: Name;
  hugepage?: Expr;
}

/** A `vm NAME { … }` statement. */
export interface VmStmt {
  kind: "vm";
  loc: Loc;
  name: Name;
  decls: Decl[];
}

/** What `let` assigns. */
export type LetValue =
  | { kind: "expr"; expr: Expr }
  | { kind: "stat"; name: Name; vcpu?: Expr }
  | { kind: "memtype"; gpa: Expr }
  | { kind: "slot_read"; slot: Name; offset: Expr }
  | { kind: "dirty_log"; slot: Name; clear: boolean };

/** `run` options. */
export interface RunStep {
  vcpu?: Expr;
  until: { kind: "done" } | { kind: "exit" } | { kind: "sync"; label: string };
  timeoutMs?: number;
}

/** A memslot change at run time. */
export type SlotOp =
  | { kind: "delete" }
  | { kind: "move"; gpa: Expr }
  | { kind: "flags"; add: Name[]; remove: Name[] }
  | { kind: "populate"; offset?: Expr; size?: Expr }
  | { kind: "write"; offset: Expr; value: Expr }
  | { kind: "add"; slot: MemslotDecl };

/** A step: anything but a `vm` block. `loc` spans the step's first token. */
export type Step =
  & { loc: Loc }
  & (
    | { kind: "run"; run: RunStep }
    | { kind: "on_memory_fault"; body: Stmt[] }
    | { kind: "on_sync"; label: string; body: Stmt[] }
    | { kind: "demand"; mode: Name; slot: Name; handlers?: Expr }
    | { kind: "memslot"; slot: Name; op: SlotOp }
    | { kind: "track"; name: Name; gpa: Expr; size?: Expr }
    | { kind: "untrack"; name: Name }
    | { kind: "cap"; name: Name; value: Name }
    | { kind: "quirk"; name: Name; value: Name }
    | { kind: "expect"; expr: Expr; message?: string }
    | { kind: "expect_error"; errno: Name; body: Stmt[] }
    | { kind: "let"; variable: Name; value: LetValue }
    | { kind: "mark"; label?: string }
    | { kind: "stats"; names: Name[] }
    | { kind: "print"; exprs: Expr[] }
    | { kind: "for"; variable: Name; list: Expr; body: Stmt[] }
    | { kind: "repeat"; count: Expr; body: Stmt[] }
    | { kind: "time"; body: Stmt[]; variable: Name }
    | { kind: "if"; branches: IfBranch[]; otherwise?: Stmt[] }
  );

/** One `if` / `else if` branch: its condition and the steps it guards. */
export interface IfBranch {
  condition: Expr;
  body: Stmt[];
}

/** A statement: a `vm` block or a step. */
export type Stmt = VmStmt | Step;

/** A parsed script. */
export interface Script {
  /** The file name used in diagnostics. */
  file: string;
  /** The full source text (diagnostics quote its lines). */
  source: string;
  body: Stmt[];
}
