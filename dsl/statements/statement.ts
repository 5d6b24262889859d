/**
 * What a statement module provides: the shape every module of
 * `dsl/statements/` fills in, so that one module owns a statement's grammar,
 * its CST → AST conversion, its AST node, its static check and its
 * execution. The registry (`mod.ts`) lists the modules; the AST's `Step` and
 * `Decl` unions are derived from it, so a module without a check or an exec
 * does not type-check.
 *
 * @module
 */
import type {
  ConsumeMethodOpts,
  CstNode,
  DSLMethodOpts,
  GrammarAction,
  IOrAlt,
  IToken,
  OrMethodOpts,
  ParserMethod,
  SubruleMethodOpts,
  TokenType,
} from "npm:chevrotain@^11.2.0";
import type { Loc } from "../ast.ts";
import type { VmDraft } from "../build_vm.ts";
import type { Checker, Context, VmChecks, VmInfo } from "../check.ts";
import type { Ctx } from "../cst.ts";
import type { Interpreter } from "../interpreter.ts";
import type { AstBuilder } from "../visitor.ts";

/** A grammar rule of the script parser. */
export type Rule = ParserMethod<[], CstNode>;

/**
 * The chevrotain DSL a module's grammar calls. `CstParser` keeps these
 * methods protected; the parser hands its own instance to the modules
 * through this view (chevrotain swaps them on the instance while it records
 * the grammar, so they must be called on it, never detached).
 */
export interface GrammarDsl {
  RULE(name: string, implementation: () => void): Rule;
  CONSUME(tokType: TokenType, options?: ConsumeMethodOpts): IToken;
  CONSUME2(tokType: TokenType, options?: ConsumeMethodOpts): IToken;
  CONSUME3(tokType: TokenType, options?: ConsumeMethodOpts): IToken;
  SUBRULE(rule: Rule, options?: SubruleMethodOpts<[]>): CstNode;
  SUBRULE2(rule: Rule, options?: SubruleMethodOpts<[]>): CstNode;
  SUBRULE3(rule: Rule, options?: SubruleMethodOpts<[]>): CstNode;
  SUBRULE4(rule: Rule, options?: SubruleMethodOpts<[]>): CstNode;
  SUBRULE5(rule: Rule, options?: SubruleMethodOpts<[]>): CstNode;
  OPTION<OUT>(action: GrammarAction<OUT> | DSLMethodOpts<OUT>): OUT | undefined;
  OPTION2<OUT>(action: GrammarAction<OUT> | DSLMethodOpts<OUT>): OUT | undefined;
  OPTION3<OUT>(action: GrammarAction<OUT> | DSLMethodOpts<OUT>): OUT | undefined;
  OPTION4<OUT>(action: GrammarAction<OUT> | DSLMethodOpts<OUT>): OUT | undefined;
  MANY(action: GrammarAction<unknown> | DSLMethodOpts<unknown>): void;
  MANY2(action: GrammarAction<unknown> | DSLMethodOpts<unknown>): void;
  OR<T>(alts: IOrAlt<T>[] | OrMethodOpts<T>): T;
  OR2<T>(alts: IOrAlt<T>[] | OrMethodOpts<T>): T;
  OR3<T>(alts: IOrAlt<T>[] | OrMethodOpts<T>): T;
  LA(howMuch: number): IToken;
}

/** What a module's grammar may use: the DSL and the parser's shared rules. */
export interface GrammarEnv {
  /** The parser, as its DSL. */
  g: GrammarDsl;
  /** Keyword tokens by their spelling (`lexer.ts` makes one of each module's words). */
  K: Readonly<Record<string, TokenType>>;
  /** `{ statement* }`. */
  block: Rule;
  /** Any expression. */
  expression: Rule;
  /** One declaration inside `vm NAME { … }` (any of the registry's declarations). */
  decl: Rule;
  /** Parses `inner` one nesting level deeper (the parser bounds nesting, `MAX_NESTING`). */
  deeper(inner: () => void): void;
  /**
   * A rule several modules use (`cap` is a step and a declaration; a memslot
   * body is declared and added at run time): defined by whichever module
   * asks first, the same rule for every module after.
   */
  shared(name: string, define: () => Rule): Rule;
}

/** CST → AST of one rule: its children, the builder, and an optional argument from the caller. */
export type Build = (ctx: Ctx, b: AstBuilder, arg: never) => unknown;

/** An AST node of a statement or a declaration. */
export interface Node {
  kind: string;
  loc: Loc;
}

/** The parts every module has, for AST nodes `N`. */
interface Parts<N extends Node> {
  /**
   * The keywords that start the module's statement and can never be names
   * (so an unfinished expression stops at the next statement).
   */
  reserved: readonly string[];
  /** Other words its grammar spells as keywords; they stay usable as names (`memslot write …`). */
  words: readonly string[];
  /** Every AST kind the module produces: a key per kind, so the compiler sees one missing. */
  kinds: { readonly [K in N["kind"]]: true };
  /** Defines the module's rule(s) on the parser; returns the one its alternative consumes. */
  grammar(env: GrammarEnv): Rule;
  /** CST → AST, by the name of each rule the module defines. */
  build: Readonly<Record<string, Build>>;
  /** How a rule of the module reads in a parse error when none of its alternatives matches. */
  expected?: Readonly<Record<string, string>>;
}

/** A step: a statement other than a `vm` block. */
export interface StepDef<N extends Node> extends Parts<N> {
  /** The step acts on the current VM (the checker reports it where there is none). */
  needsVm: boolean;
  /** Static checks; `vm` is the VM the checker knows of here (null when none). */
  check(node: N, c: Checker, ctx: Context, vm: VmInfo | null): void;
  /** Runs the step. */
  exec(node: N, r: Interpreter): void | Promise<void>;
}

/** A declaration inside `vm NAME { … }`. */
export interface DeclDef<N extends Node> extends Parts<N> {
  /** At most one per vm block (`'vcpus' declared twice in vm 'a'`). */
  unique: boolean;
  /** Static checks, with what the checker knows of the VM being declared. */
  check(node: N, c: Checker, vm: VmInfo, later: VmChecks): void;
  /**
   * Its part in building the VM: what it adds to the description that
   * `vmm/builder.ts` then applies in KVM's order (settings before the VM
   * opens, then caps, quirks, memslots, devices, the guest), whatever order
   * the block lists declarations in.
   */
  describe(node: N, draft: VmDraft): void;
}

/** The AST node type of a step or declaration module. */
export type NodeOf<D> = D extends StepDef<infer N> ? N : D extends DeclDef<infer N> ? N : never;
