/**
 * SIGINT and SIGTERM stop a run cleanly: a subprocess runs a `spin` guest
 * (a 60 s bounded run), is signalled once it has printed that it runs, and
 * must exit 130 / 143 with its summary written and, by its own report at
 * exit, no KVM fd or mapping left.
 */
import { skipKvm } from "../support/kvm_probe.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";

const CHILD = new URL("./signal_child.ts", import.meta.url).pathname;
const KVM = !skipKvm("signal_test");

const SPIN = (vcpus: number) =>
  `vm s { vcpus ${vcpus}; guest spin { } }
print "spinning"
run until done timeout 60s
print "not reached"
`;

interface Interrupted {
  code: number;
  stdout: string;
  stderr: string;
  resources: { fds: string[]; maps: string[] };
}

/** Runs the CLI on `script`, waits for the line `ready` on stdout, sends `signal`. */
async function interrupt(
  script: string,
  signal: "SIGINT" | "SIGTERM",
  ready: (line: string) => boolean,
  flags: string[],
): Promise<Interrupted> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/t.kvm`, script);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CHILD, "t.kvm", ...flags],
      cwd: dir,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    let stdout = "";
    let signalled = false;
    const lines = child.stdout.pipeThrough(new TextDecoderStream());
    for await (const chunk of lines) {
      stdout += chunk;
      if (!signalled && stdout.split("\n").slice(0, -1).some(ready)) {
        child.kill(signal);
        signalled = true;
      }
    }
    const status = await child.status;
    const err = await stderr;
    assert(signalled, `the child never printed its ready line:\n${stdout}\n${err}`);
    const report = err.split("\n").find((l) => l.startsWith("resources: "));
    assert(report, `no resource report:\n${err}`);
    return {
      code: status.code,
      stdout,
      stderr: err,
      resources: JSON.parse(report.slice("resources: ".length)),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

for (const backend of ["emu", "kvm"] as const) {
  Deno.test({
    name: `SIGINT stops a spinning guest: exit 130, summary written, VM released (${backend})`,
    ignore: backend === "kvm" && !KVM,
    async fn() {
      const r = await interrupt(SPIN(1), "SIGINT", (l) => l === "spinning", [
        "--backend",
        backend,
      ]);
      assertEquals(r.code, 130, r.stderr);
      assertMatch(
        r.stdout,
        new RegExp(
          `^spinning\n0 expectations passed, 0 failed; backend ${backend} \\(interrupted\\); `,
        ),
      );
      assertStringIncludes(r.stderr, "t.kvm:3:1: error: interrupted by SIGINT\n");
      assert(!r.stdout.includes("not reached"));
      assertEquals(r.resources, { fds: [], maps: [] });
    },
  });

  Deno.test({
    name: `SIGTERM stops a 2-vCPU spinning guest: exit 143, JSON summary (${backend})`,
    ignore: backend === "kvm" && !KVM,
    async fn() {
      const r = await interrupt(
        SPIN(2),
        "SIGTERM",
        (l) => l.includes('"text":"spinning"'),
        ["--backend", backend, "--json"],
      );
      assertEquals(r.code, 143, r.stderr);
      const events = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
      assertEquals(events.map((e) => e.event), ["meta", "print", "error", "summary"]);
      assertEquals(events[2].message, "interrupted by SIGTERM");
      assertEquals(events[2].location, { file: "t.kvm", line: 3, column: 1 });
      const summary = events[3];
      assertEquals([summary.outcome, summary.exitCode, summary.backend], [
        "interrupted",
        143,
        backend,
      ]);
      // Every fd goes. (kvm: the vCPU threads' kvm_run pages stay mapped when
      // a multi-vCPU run is closed under them, by design of vmm/kvm/vm.ts.)
      assertEquals(r.resources.fds, []);
    },
  });
}
