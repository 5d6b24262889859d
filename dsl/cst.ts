/**
 * Reading chevrotain's concrete syntax tree: the children of a CST node by
 * label, tokens as located {@linkcode Name}s. Shared by the expression
 * builder (`visitor.ts`) and every statement module's CST → AST conversion.
 *
 * @module
 */
import type { CstNode, IToken } from "npm:chevrotain@^11.2.0";
import type { Loc, Name } from "./ast.ts";

/** The children of a CST node, by label (a token type's name, a rule's name or a `LABEL`). */
export type Ctx = Record<string, (CstNode | IToken)[] | undefined>;

/** Where a token stands in the source. */
export function tokLoc(token: IToken): Loc {
  return {
    line: token.startLine ?? 1,
    column: token.startColumn ?? 1,
    offset: token.startOffset,
    length: token.image.length,
  };
}

/** The span from the start of `first` to the end of `last`. */
export function spanLoc(first: Loc, last: Loc): Loc {
  return {
    line: first.line,
    column: first.column,
    offset: first.offset,
    length: last.offset + last.length - first.offset,
  };
}

/** The `index`th token labelled `key` (the grammar guarantees it is there). */
export function tok(ctx: Ctx, key: string, index = 0): IToken {
  return ctx[key]![index] as IToken;
}

/** The `index`th token labelled `key`, if any. */
export function maybeTok(ctx: Ctx, key: string, index = 0): IToken | undefined {
  return ctx[key]?.[index] as IToken | undefined;
}

/** Every token labelled `key`. */
export function toks(ctx: Ctx, key: string): IToken[] {
  return (ctx[key] ?? []) as IToken[];
}

/** Every sub-rule node labelled `key`. */
export function nodes(ctx: Ctx, key: string): CstNode[] {
  return (ctx[key] ?? []) as CstNode[];
}

/** A word token as a located name. */
export function name(token: IToken): Name {
  return { text: token.image, loc: tokLoc(token) };
}

/** A `$variable` token as a located name, without the `$`. */
export function varName(token: IToken): Name {
  return { text: token.image.slice(1), loc: tokLoc(token) };
}
