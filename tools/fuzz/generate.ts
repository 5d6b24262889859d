/**
 * Grammar-aware generation of `.kvm` scripts: a vm block, then steps whose
 * expressions nest, with numbers at the edges (0, 2^63, 2^64 - 1, 2^64,
 * past the integer limit, empty `0x_`) and, now and then, structures past
 * the language's limits (nesting, operator chains, literal sizes).
 *
 * @module
 */
import type { Rng } from "./rng.ts";

/** Integers at the edges, as written in scripts. */
export const EDGE_NUMBERS: readonly string[] = [
  "0",
  "1",
  "7",
  "8",
  "4K",
  "2M",
  "1G",
  "1T",
  "0x1000",
  "0x7fff_ffff_ffff_ffff",
  "0x8000_0000_0000_0000",
  "0xffff_ffff_ffff_ffff",
  "0x1_0000_0000_0000_0000",
  "0xffff_ffff",
  "0x1_0000_0000",
  "4096",
  "4097",
  "65536",
  "0x100000000",
  "18446744073709551616",
  "0x_",
  "0b_",
  "0b1_0",
  "1_",
  "1__0",
  "0x" + "f".repeat(1100),
  "9".repeat(1300),
  "1.5",
  "0.0",
];

const BINARY_OPS = [
  "+",
  "-",
  "*",
  "/",
  "%",
  "&",
  "|",
  "<<",
  ">>",
  "==",
  "!=",
  "<",
  "<=",
  ">",
  ">=",
  "and",
  "or",
];
const UNARY_OPS = ["-", "~", "not "];
const VARIABLES = [
  "$x",
  "$y",
  "$exit",
  "$d",
  "$t",
  "$backend",
  "$mmu",
  "$vcpus",
  "$i",
  "$elapsed",
  "$nope",
];
const FIELDS = [
  "reason",
  "vcpu",
  "gpa",
  "len",
  "value",
  "label",
  "pages",
  "first",
  "last",
  "type",
  "ipat",
  "bogus",
];
const WORDS = [
  "done",
  "exit",
  "on",
  "off",
  "kvm",
  "emu",
  "tdp",
  "shadow",
  "WB",
  "UC",
  "true",
  "false",
  "ram",
];
const PAYLOADS = [
  "write_sweep",
  "read_sweep",
  "touch",
  "spin",
  "dirty_writer",
  "pt_write",
  "boot_sim",
  "gpu_fill",
  "nope",
];
const PARAMS = [
  "slot",
  "stride",
  "passes",
  "offset",
  "size",
  "value",
  "count",
  "label",
  "device",
  "bogus",
];
const STATS = ["exits", "ucalls", "pf_taken", "instructions", "tlb_flush", "nope"];
const ERRNOS = ["EINVAL", "EEXIST", "ENOENT", "EFAULT", "E2BIG", "ENOPE"];
const FLAGS = ["dirty_log", "readonly", "absent_fault", "noncoherent_dma", "bogus"];
const CAPS = ["page_write_tracking", "memslot_zap_control", "memory_fault_nowait", "bogus_cap"];

/** Numbers of a tame script: valid where a size, offset or count goes. */
const TAME_NUMBERS = ["0", "1", "2", "8", "64", "4K", "0x1000", "0x2000", "0xffff_ffff_ffff_ffff"];

/** Generates random scripts from the grammar. */
export class Generator {
  readonly #rng: Rng;
  /** A tame script keeps to valid names and numbers, so it gets past the checker and runs. */
  #tame = false;

  /**
   * Makes a generator.
   *
   * @param rng the random source (its seed fixes every script)
   */
  constructor(rng: Rng) {
    this.#rng = rng;
  }

  /** A number: mostly small, often at an edge. */
  number(): string {
    const r = this.#rng;
    if (this.#tame) return r.pick(TAME_NUMBERS);
    if (r.chance(0.5)) return r.pick(EDGE_NUMBERS);
    return String(r.int(r.pick([2, 16, 4096, 1 << 30])));
  }

  /** An expression up to `depth` levels deep. */
  expr(depth = 3): string {
    const r = this.#rng;
    if (depth <= 0 || r.chance(0.3)) {
      switch (r.int(5)) {
        case 0:
        case 1:
          return this.number();
        case 2:
          if (this.#tame) return r.pick(["$x", "$y", "$exit.reason", "$exit.value", "$vcpus"]);
          return r.pick(VARIABLES) + (r.chance(0.3) ? `.${r.pick(FIELDS)}` : "");
        case 3:
          return r.pick(this.#tame ? ["true", "false", "done"] : WORDS);
        default:
          if (this.#tame) return r.pick(['"s"', '"a\\"b"', '""']);
          return r.pick(['"s"', '"a\\"b"', '"unterminated', '"\\q"', '""']);
      }
    }
    switch (r.int(6)) {
      case 0:
        return `${r.pick(UNARY_OPS)}${this.expr(depth - 1)}`;
      case 1:
        return `(${this.expr(depth - 1)})`;
      case 2:
        return `[${Array.from({ length: r.int(4) }, () => this.expr(depth - 1)).join(", ")}]`;
      case 3:
        return `hex(${this.expr(depth - 1)})`;
      default:
        return `${this.expr(depth - 1)} ${r.pick(BINARY_OPS)} ${this.expr(depth - 1)}`;
    }
  }

  /** Something past a limit of the language: deep nesting, long chains, many errors. */
  extreme(): string {
    const r = this.#rng;
    const n = r.pick([65, 130, 400, 700, 1700]);
    switch (r.int(8)) {
      case 0:
        return `print ${"(".repeat(n)}1${")".repeat(n)}`;
      case 1:
        return `print ${"[".repeat(n)}1${"]".repeat(n)}`;
      case 2:
        return `${"if true { ".repeat(n)}print 1${" }".repeat(n)}`;
      case 3:
        return `${"repeat 1 { ".repeat(n)}print 1${" }".repeat(n)}`;
      case 4:
        return `print ${Array(n).fill("1").join(" + ")}`;
      case 5:
        return `print ${"-".repeat(n)}1 ${"not ".repeat(n)}true`;
      case 6:
        return Array.from({ length: n * 4 }, (_, i) => `print $u${i};`).join(" ");
      default:
        return `if false { print 0 }${" else if false { print 1 }".repeat(n)}`;
    }
  }

  /** A vm block with random declarations. */
  vm(): string {
    const r = this.#rng;
    if (this.#tame) {
      const payload = r.pick([
        "write_sweep { slot ram stride 4K passes 2 }",
        "read_sweep { slot ram }",
        "touch { slot ram count 8 pattern random }",
        "dirty_writer { slot ram }",
        "write_sweep { slot ram size 64K value 7 }",
      ]);
      return `vm v${r.int(3)} {
  vcpus ${r.pick(["1", "2"])}
  memslot ram gpa 0x100000 size 2M${r.chance(0.4) ? " dirty_log" : ""}
  memslot s1 gpa 0x1000000 size 64K
  guest ${payload}
}`;
    }
    const lines = [`vm v${r.int(3)} {`];
    if (r.chance(0.5)) lines.push(`  vcpus ${r.pick(["1", "2", "4", "0", "4097", this.number()])}`);
    if (r.chance(0.2)) lines.push(`  system gpa ${this.number()} size ${this.number()}`);
    if (r.chance(0.3)) lines.push(`  backend ${r.pick(["emu", "auto", "kvm", "qemu"])}`);
    if (r.chance(0.2)) lines.push(`  mmu ${r.pick(["tdp", "shadow", "ept"])}`);
    if (r.chance(0.3)) lines.push(`  cap ${r.pick(CAPS)} ${r.pick(["on", "off", "", "2"])}`);
    const slots = 1 + r.int(3);
    for (let i = 0; i < slots; i++) {
      const gpa = r.chance(0.7) ? `0x${(0x100000 + i * 0x1000000).toString(16)}` : this.number();
      const size = r.chance(0.7) ? r.pick(["64K", "2M", "4K"]) : this.number();
      const flags = r.chance(0.4) ? ` ${r.pick(FLAGS)}` : "";
      lines.push(`  memslot ${i === 0 ? "ram" : `s${i}`} gpa ${gpa} size ${size}${flags}`);
    }
    if (r.chance(0.8)) {
      const params = Array.from(
        { length: r.int(4) },
        () => `${r.pick(PARAMS)} ${r.chance(0.5) ? "ram" : this.number()}`,
      );
      lines.push(`  guest ${r.pick(PAYLOADS)} { slot ram ${params.join(" ")} }`);
    }
    lines.push("}");
    return lines.join("\n");
  }

  /** An integer expression over `$x`, `$y` and tame numbers (no division: never by zero). */
  tameExpr(depth = 3): string {
    const r = this.#rng;
    if (depth <= 0 || r.chance(0.3)) return r.pick([...TAME_NUMBERS, "$x", "$y", "$vcpus"]);
    switch (r.int(4)) {
      case 0:
        return `(${this.tameExpr(depth - 1)})`;
      case 1:
        return `${r.pick(["-", "~"])}${this.tameExpr(depth - 1)}`;
      case 2:
        return `${this.tameExpr(depth - 1)} ${r.pick(["<<", ">>"])} ${
          r.pick(["0", "1", "12", "63", "64"])
        }`;
      default:
        return `${this.tameExpr(depth - 1)} ${r.pick(["+", "-", "*", "&", "|"])} ${
          this.tameExpr(depth - 1)
        }`;
    }
  }

  /** A step of a tame script: valid after the tame vm block. */
  tameStep(depth = 2): string {
    const r = this.#rng;
    const block = () =>
      `{\n${Array.from({ length: 1 + r.int(3) }, () => this.tameStep(depth - 1)).join("\n")}\n}`;
    const offset = () => `(${this.tameExpr(1)}) & 0xff8`;
    switch (depth <= 0 ? r.int(10) : r.int(14)) {
      case 0:
      case 1:
        return `let ${r.pick(["$x", "$y"])} = ${this.tameExpr()}`;
      case 2:
        return `expect ${this.tameExpr(2)} ${r.pick(["==", "!=", "<", ">="])} ${this.tameExpr(2)}`;
      case 3:
        return `print ${this.tameExpr()}, hex(${this.tameExpr(2)}), "s"`;
      case 4:
        return `let $x = stat ${r.pick(["exits", "ucalls"])}`;
      case 5:
        return `stats ${r.pick(["exits", "ucalls", ""])}`;
      case 6:
        return `let $y = memslot ${r.pick(["ram", "s1"])} read offset ${offset()}`;
      case 7:
        return `memslot ${r.pick(["ram", "s1"])} write offset ${offset()} value ${
          this.tameExpr(2)
        } & 0xffff`;
      case 8:
        return r.pick(["mark", "run until done timeout 500ms", "run until exit timeout 500ms"]);
      case 9:
        return `expect error EINVAL { memslot s1 move gpa 0x1000800 }`;
      case 10:
        return `if ${this.tameExpr(2)} == ${this.tameExpr(1)} ${block()} else ${block()}`;
      case 11:
        return `repeat ${r.pick(["0", "1", "3"])} ${block()}`;
      case 12:
        return `for $i in [${this.tameExpr(1)}, ${this.tameExpr(1)}] ${block()}`;
      default:
        return `time ${block()} -> $t`;
    }
  }

  /** One step, with blocks up to `depth` deep. */
  step(depth = 2): string {
    const r = this.#rng;
    if (this.#tame) return this.tameStep(depth);
    const block = () =>
      `{\n${Array.from({ length: 1 + r.int(3) }, () => this.step(depth - 1)).join("\n")}\n}`;
    const choice = depth <= 0 ? r.int(12) : r.int(19);
    switch (choice) {
      case 0:
        return `run${r.chance(0.3) ? ` vcpu ${this.expr(1)}` : ""} until ${
          r.pick(["done", "exit", 'sync "pass"', "nothing"])
        } timeout ${r.pick(["100ms", "1s", "0ms", "5sec"])}`;
      case 1:
        return `let ${r.pick(VARIABLES)} = ${this.expr()}`;
      case 2:
        return `expect ${this.expr()}${r.chance(0.3) ? ' else "why"' : ""}`;
      case 3:
        return `print ${this.expr()}, ${this.expr(1)}`;
      case 4:
        return `let $x = stat ${r.pick(STATS)}${r.chance(0.4) ? ` vcpu ${this.number()}` : ""}`;
      case 5:
        return `stats ${r.pick(STATS)}${r.chance(0.3) ? ` vcpu ${this.number()}` : ""}`;
      case 6:
        return `let $y = memslot ${r.pick(["ram", "s1", "nope"])} read offset ${this.expr(1)}`;
      case 7:
        return `memslot ${r.pick(["ram", "s1"])} write offset ${this.expr(1)} value ${
          this.expr(1)
        }`;
      case 8:
        return `memslot ${r.pick(["ram", "s1", "new"])} ${
          r.pick([
            "delete",
            `move gpa ${this.number()}`,
            `gpa ${this.number()} size ${this.number()}`,
          ])
        }`;
      case 9:
        return `let $d = dirty_log ${r.pick(["ram", "s1"])}${r.chance(0.3) ? " clear" : ""}`;
      case 10:
        return r.pick(["mark", 'mark "m"', "expect error", "expect error EINVAL", "run vcpu 1"]);
      case 11:
        return `cap ${r.pick(CAPS)} ${r.pick(["on", "off"])}`;
      case 12:
        return `if ${this.expr(2)} ${block()}${r.chance(0.4) ? ` else ${block()}` : ""}`;
      case 13:
        // Edge counts, but never a huge one: 2^64 empty iterations are a long script, not a bug.
        return `repeat ${r.pick(["0", "1", "3", "-1", "1.5", '"s"', "0x_"])} ${block()}`;
      case 14:
        return `for $i in ${r.pick(["[1, 2]", "[]", "$x", this.expr(1)])} ${block()}`;
      case 15:
        return `time ${block()}${r.chance(0.5) ? " -> $t" : ""}`;
      case 16:
        return `expect error ${r.pick(ERRNOS)} ${block()}`;
      case 17:
        return `on sync "pass" ${block()}`;
      default:
        return this.vm();
    }
  }

  /** A whole script. */
  script(): string {
    const r = this.#rng;
    this.#tame = r.chance(0.6);
    const parts: string[] = this.#tame ? ["let $x = 1", "let $y = 2"] : [];
    if (this.#tame || r.chance(0.8)) parts.push(this.vm());
    const steps = 1 + r.int(10);
    for (let i = 0; i < steps; i++) parts.push(this.step());
    if (!this.#tame && r.chance(0.2)) parts.splice(r.int(parts.length + 1), 0, this.extreme());
    return parts.join("\n") + "\n";
  }
}
