/**
 * `expect EXPR [else "msg"]` (an expectation: passed or failed, with the
 * operands shown) and `expect error ERRNO { … } [else "msg"]` (the block's first error
 * must be that errno; inside it the checker is lenient about slot names and
 * alignment, which such a block exists to provoke).
 *
 * @module
 */
import type { Expr, Loc, Name, Stmt } from "../ast.ts";
import { maybeTok, name, nodes, tok, tokLoc } from "../cst.ts";
import { operandsOf, truthy } from "../evaluate.ts";
import { knownOrSuggestion } from "../names.ts";
import { rootCause } from "../runtime.ts";
import * as T from "../tokens.ts";
import { parseStringImage } from "../tokens.ts";
import { formatValue } from "../values.ts";
import { TYPE_NAMES } from "../check_expr.ts";
import { ERRNO_NUMBERS, ErrnoError } from "../../vmm/errors.ts";
import type { Interpreter } from "../interpreter.ts";
import type { StepDef } from "./statement.ts";

/** `expect EXPR [else "msg"]` or `expect error ERRNO { … }`. */
export type ExpectStmt =
  & { loc: Loc }
  & (
    | { kind: "expect"; expr: Expr; message?: string }
    | { kind: "expect_error"; errno: Name; body: Stmt[]; message?: string }
  );

/** The `expect` steps. */
export const EXPECT: StepDef<ExpectStmt> = {
  kinds: { expect: true, expect_error: true },
  reserved: ["expect"],
  words: ["error", "else"],
  needsVm: false,
  grammar: ({ g, K, block, expression }) =>
    /** `expect error ERRNO { … } [else "msg"]` or `expect EXPR [else "msg"]`. */
    g.RULE("expectStep", () => {
      g.CONSUME(K.expect);
      g.OR({
        IGNORE_AMBIGUITIES: true,
        DEF: [
          {
            ALT: () => {
              g.CONSUME(K.error);
              g.CONSUME(T.UpperWord, { LABEL: "errno" });
              g.SUBRULE(block);
              g.OPTION2(() => {
                g.CONSUME2(K.else);
                g.CONSUME2(T.StringLit, { LABEL: "message" });
              });
            },
          },
          {
            ALT: () => {
              g.SUBRULE(expression);
              g.OPTION(() => {
                g.CONSUME(K.else);
                g.CONSUME(T.StringLit, { LABEL: "message" });
              });
            },
          },
        ],
      });
    }),
  build: {
    expectStep(ctx, b): ExpectStmt {
      const loc = tokLoc(tok(ctx, "Kw_expect"));
      const errno = maybeTok(ctx, "errno");
      const message = maybeTok(ctx, "message");
      if (errno) {
        return {
          kind: "expect_error",
          loc,
          errno: name(errno),
          body: b.body(nodes(ctx, "block")[0]),
          message: message ? parseStringImage(message.image) : undefined,
        };
      }
      return {
        kind: "expect",
        loc,
        expr: b.expr(nodes(ctx, "expression")[0]),
        message: message ? parseStringImage(message.image) : undefined,
      };
    },
  },
  check(step, c, ctx) {
    if (step.kind === "expect") {
      // What `truthy` accepts at run time; anything else fails there, so say it now.
      const t = c.expr(step.expr);
      if (t !== "bool" && t !== "int" && t !== "unknown") {
        const hint = step.expr.kind === "word" && step.expr.value === "error"
          ? " (to expect an errno: expect error ERRNO { … })"
          : "";
        c.error(
          step.expr.loc,
          `'expect' needs a boolean but '${step.expr.source}' is ${TYPE_NAMES[t]}${hint}`,
        );
      }
      return;
    }
    if (!Object.hasOwn(ERRNO_NUMBERS, step.errno.text)) {
      c.error(
        step.errno.loc,
        `unknown errno '${step.errno.text}' (${
          knownOrSuggestion(step.errno.text, Object.keys(ERRNO_NUMBERS))
        })`,
      );
    }
    if (step.body.length === 0) {
      c.error(step.loc, "'expect error' needs a step in its block");
    }
    {
      const lenient = c.lenient;
      c.lenient = true;
      c.statements(step.body, { ...ctx, inExpectError: true });
      c.lenient = lenient;
    }
  },
  async exec(step, r) {
    if (step.kind === "expect") expect(r, step);
    else await expectError(r, step);
  },
};

function expect(r: Interpreter, step: ExpectStmt & { kind: "expect" }): void {
  const ok = truthy(r.eval(step.expr), step.expr);
  const event = {
    event: "expect",
    ok,
    location: r.location(step.expr.loc),
    expression: step.expr.source,
    message: step.message,
  } as const;
  if (ok) {
    r.passed++;
    r.options.output.emit({ ...event, operands: [] });
    return;
  }
  r.failed++;
  // An operand that short-circuiting skipped may not evaluate (`$x != 0 and 1 / $x > 1`): leave it out.
  const operands = operandsOf(step.expr).flatMap((e) => {
    try {
      return [{ expression: e.source, value: r.eval(e) }];
    } catch {
      return [];
    }
  });
  const shown = operands.map((o) => `${o.expression} = ${formatValue(o.value)}`).join(", ");
  const message = `${step.message ?? "expectation failed"}: ${step.expr.source}${
    shown ? ` (${shown})` : ""
  }`;
  r.options.output.emit({
    ...event,
    operands,
    diagnostic: r.diagnostic(step.expr.loc, message),
  });
}

async function expectError(
  r: Interpreter,
  step: ExpectStmt & { kind: "expect_error" },
): Promise<void> {
  const wanted = step.errno.text;
  let failure: string | undefined;
  try {
    await r.exec(step.body);
    failure = `expected ${wanted} but the step succeeded`;
  } catch (e) {
    const cause = rootCause(e);
    if (!(cause instanceof ErrnoError)) throw e;
    if (cause.errno !== wanted) {
      failure = `expected ${wanted} but got ${cause.errno}: ${cause.message}`;
    }
  }
  const loc = {
    ...step.loc,
    length: step.errno.loc.offset + step.errno.loc.length - step.loc.offset,
  };
  const expression = `error ${wanted}`;
  // `else "msg"` heads the failure, as it does an expectation's.
  if (failure !== undefined && step.message !== undefined) failure = `${step.message}: ${failure}`;
  if (failure === undefined) r.passed++;
  else r.failed++;
  r.options.output.emit({
    event: "expect",
    ok: failure === undefined,
    location: r.location(step.loc),
    expression,
    message: failure,
    operands: [],
    diagnostic: failure === undefined ? undefined : r.diagnostic(loc, failure),
  });
}
