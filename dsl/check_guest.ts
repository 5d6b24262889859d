/**
 * Checks of a `guest` declaration: a flat binary's parameters, or a
 * built-in payload's name and parameters, through the parameters each
 * payload declares (`guest/payloads/<name>.ts`), so the checker and the
 * builder never disagree: every constant value is checked (name, type,
 * range, allowed words), memslot names when the layout is constant, and the
 * payload's own checks when everything is.
 *
 * @module
 */
import type { Decl } from "./ast.ts";
import type { ExprTyper, Report } from "./check_expr.ts";
import type { Region } from "./layout.ts";
import { knownOrSuggestion } from "./names.ts";
import type { Loc } from "./ast.ts";
import { isPayload, payloadNames, payloadParam, payloadProblems } from "./payloads.ts";

/** What {@linkcode checkGuest} needs from the checker. */
export interface GuestCheckEnv {
  /** Where problems go. */
  report: Report;
  /** Types the parameter values and knows the constant ones. */
  types: ExprTyper;
  /** The vCPU count when known. */
  vcpus?: number;
  /** The VM's slots and shm regions, when their layout is constant. */
  regions?: readonly Region[];
}

/**
 * Reports a sync label the VM's payload never emits (`run until sync "L"`,
 * `on sync "L"`): such a run could only end in `done` or the watchdog. A
 * guest file's labels are not known, so nothing is checked for one.
 *
 * @param payload the VM's payload and its labels, when known
 * @param label the label the script names
 * @param loc where the label is written
 * @param report where the problem goes
 */
export function checkSyncLabel(
  payload: { name: string; syncLabels: readonly string[] } | undefined,
  label: string,
  loc: Loc,
  report: Report,
): void {
  if (!payload || payload.syncLabels.includes(label)) return;
  const known = payload.syncLabels.length
    ? `its sync labels: ${payload.syncLabels.map((l) => JSON.stringify(l)).join(", ")}`
    : "it emits no sync";
  report(loc, `payload '${payload.name}' never emits sync ${JSON.stringify(label)} (${known})`);
}

/** The parameters of `guest file "x.bin" { … }` (`build_vm.ts` reads them into a file `GuestSpec`). */
const FILE_PARAMS: readonly string[] = ["load", "entry", "mode"];

/**
 * Checks one `guest` declaration, reporting through `env.report`.
 *
 * @param decl the declaration
 * @param env the checker's reporting, typing and the VM's layout
 */
export function checkGuest(decl: Decl & { kind: "guest" }, env: GuestCheckEnv): void {
  const { report, types, regions } = env;
  // A value not known before the run is null: the payload's schema checks the rest.
  const given: Record<string, bigint | string | null> = {};
  for (const p of decl.params) {
    if (Object.hasOwn(given, p.key.text)) {
      report(p.key.loc, `parameter '${p.key.text}' given twice`);
    }
    types.expr(p.value);
    given[p.key.text] = payloadParam(types.constant(p.value)) ?? null;
  }
  if (decl.file) {
    if (decl.payload.text !== "file") return;
    for (const p of decl.params) {
      if (!FILE_PARAMS.includes(p.key.text)) {
        report(
          p.key.loc,
          `guest file: unknown parameter '${p.key.text}' (known: ${FILE_PARAMS.join(", ")})`,
        );
      }
    }
    if (!decl.params.some((p) => p.key.text === "load")) {
      report(decl.payload.loc, "guest file needs 'load ADDRESS'");
    }
    const mode = given["mode"];
    if (mode !== undefined && mode !== null && mode !== "long" && mode !== "real") {
      const p = decl.params.find((p) => p.key.text === "mode")!;
      report(p.value.loc, `guest file: mode must be long or real, not '${p.value.source}'`);
    }
    return;
  }
  if (!isPayload(decl.payload.text)) {
    report(
      decl.payload.loc,
      `unknown payload '${decl.payload.text}' (${
        knownOrSuggestion(decl.payload.text, payloadNames())
      })`,
    );
    return;
  }
  const slots = regions?.map((r) => ({ name: r.slot ?? r.label, gpa: r.gpa, size: r.size })) ??
    null;
  for (const message of payloadProblems(decl.payload.text, given, slots, env.vcpus)) {
    // Point at the parameter the message names (its value, unless the key
    // itself is unknown), else at the payload.
    const param = decl.params.find((p) => message.includes(`"${p.key.text}"`));
    const loc = !param
      ? decl.payload.loc
      : message.includes("unknown parameter")
      ? param.key.loc
      : param.value.loc;
    report(loc, message);
  }
}
