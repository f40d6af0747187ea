import { spawn, spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerEngine } from "../engine/docker-engine.ts";
import { LABELS } from "../run/run-identity.ts";
import type { ReproResult } from "./repro.ts";

// issue #14's first done-when line: a failing test of a mutant run is replayed by `repro --from` and
// fails the same way 3 of 3 times; the same test of a run on the normal host does not reproduce. The
// mutant breaks ARC-09's keyword limit by one (hosts/reference/mutants/catalog.json), which one test
// of the short manifest-validation suite kills, deterministically. One cell: linux-x86_64 bookworm.
const ROOT = path.resolve(import.meta.dirname, "../..");
const MUTANT = "arc09-keyword-limit-off-by-one";
const CELL = "linux-x86_64.bookworm.reference";
const FILTERS = ["--platform", "linux-x86_64", "--python", "bookworm", "--host", "reference", "--suite", "manifest-validation"];
const reports = mkdtempSync(path.join(os.tmpdir(), "distcheck-repro-reports-"));
const engine = new DockerEngine();

/** The CLI as a person starts it: none of this test runner's VITEST_* or DISTCHECK_* settings. */
function distcheck(args: string[]): { status: number; stdout: string; stderr: string } {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("VITEST") && !k.startsWith("DISTCHECK_") && k !== "NODE_ENV" && k !== "TEST"));
  const r = spawnSync(process.execPath, [path.join(ROOT, "bin/distcheck.js"), ...args], { cwd: ROOT, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the suite and returns the run's folder (what reports/latest points at). */
function publishedRun(extra: string[]): string {
  const r = distcheck(["run", ...FILTERS, ...extra, "--reports", reports]);
  expect([0, 1], r.stderr.slice(-2000)).toContain(r.status);
  return realpathSync(path.join(reports, "latest"));
}

function repro(args: string[]): { status: number; result: ReproResult & { ok: boolean; code?: string; message?: string }; stderr: string } {
  const r = distcheck(["repro", ...args, "--reports", reports, "--json"]);
  return { status: r.status, result: JSON.parse(r.stdout) as never, stderr: r.stderr };
}

/** The failing test of a run: its id (the record's file name) and record. */
function failing(runDir: string): { id: string; name: string; state: string } {
  const dir = path.join(runDir, "results", "distcheck");
  for (const f of readdirSync(dir).filter((f) => /^[0-9a-f]{24}\.json$/.test(f))) {
    const r = JSON.parse(readFileSync(path.join(dir, f), "utf8")) as { name: string; state: string };
    if (r.state === "failed") return { id: f.slice(0, 24), ...r };
  }
  throw new Error(`no failing test in ${runDir}`);
}

let mutantRun = "";
beforeAll(() => {
  mutantRun = publishedRun(["--mutant", MUTANT]);
}, 300_000);

afterAll(async () => {
  rmSync(reports, { recursive: true, force: true });
});

/** The environment a person's shell has: none of this test runner's VITEST_* or DISTCHECK_* settings. */
const personEnv = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("VITEST") && !k.startsWith("DISTCHECK_") && k !== "NODE_ENV" && k !== "TEST"));

/**
 * `command` in a pseudo-terminal (util-linux `script`): what it prints, what it is sent, its exit code.
 * `type` answers a pattern in its output with a line of input.
 */
function inTerminal(command: string, type: Array<{ when: RegExp; line: string }>, timeoutMs: number): Promise<{ status: number; output: string }> {
  const child = spawn("script", ["-qec", command, "/dev/null"], { cwd: ROOT, env: { ...personEnv(), TERM: "dumb" }, stdio: ["pipe", "pipe", "pipe"] });
  let output = "";
  const pending = [...type];
  const onData = (chunk: Buffer): void => {
    output += chunk.toString("utf8");
    while (pending[0] && pending[0].when.test(output)) child.stdin.write(`${pending.shift()!.line}\n`);
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} did not end within ${timeoutMs} ms; its output:\n${output.slice(-3000)}`));
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, output });
    });
  });
}

const keptContainers = async (reproId: string) => engine.listContainers(`${LABELS.kept}=${reproId}`);
const keptNetworks = async (reproId: string) => engine.listNetworks(`${LABELS.kept}=${reproId}`);

describe("distcheck repro --keep, --shell, --clean", () => {
  const reproIds: string[] = [];
  afterAll(async () => {
    for (const id of reproIds) distcheck(["repro", "--clean", id]);
  });

  it("--keep leaves exactly one labelled container with the host running (of 2 tries, the newest failed one's); the printed docker exec line works; --clean removes it", async () => {
    const test = failing(mutantRun);
    const { status, result, stderr } = repro(["--from", mutantRun, test.id, "--keep", "--repeat", "2"]);
    expect(status, stderr.slice(-2000)).toBe(1);
    const reproId = path.basename(result.dir);
    reproIds.push(reproId);
    const kept = result.tests[0]!.kept!;
    expect(kept).toHaveLength(1);
    expect(result.tests[0]!.tries.map((t) => t.state)).toEqual(["failed", "failed"]);
    expect(kept[0]!.try).toBe(2);
    expect(kept[0]!.exec).toBe(`docker exec -it ${kept[0]!.containerName} sh`);
    expect(kept[0]!.clean).toBe(`npx distcheck repro --clean ${reproId}`);
    expect((await keptContainers(reproId)).map((c) => [c.id, c.state])).toEqual([[kept[0]!.containerId, "running"]]);
    // The host still answers at the printed URL on the run network.
    const ready = await fetch(`${kept[0]!.url}/readyz`);
    expect(ready.status).toBe(200);
    // The printed line, typed as printed, in a terminal: a command in the container and its output.
    const shell = await inTerminal(kept[0]!.exec, [{ when: /#|\$/, line: "echo in-$((6*7))-$(hostname | head -c 4); exit" }], 30_000);
    expect(shell.output).toContain(`in-42-${kept[0]!.containerId.slice(0, 4)}`);
    const clean = distcheck(["repro", "--clean", reproId]);
    expect(clean.status, clean.stderr).toBe(0);
    expect(clean.stdout).toContain("removed 1 kept container(s)");
    expect(await keptContainers(reproId)).toEqual([]);
    expect(await keptNetworks(reproId)).toEqual([]);
  }, 240_000);

  it("--shell opens a shell in the kept container through a pseudo-terminal (a command typed, its output read); without a terminal it is refused (no_tty)", async () => {
    const test = failing(mutantRun);
    const noTty = repro(["--from", mutantRun, test.id, "--shell"]);
    expect([noTty.status, noTty.result.code]).toEqual([2, "no_tty"]);
    const command = `${process.execPath} bin/distcheck.js repro --from ${mutantRun} ${test.id} --shell --reports ${reports}`;
    const session = await inTerminal(command, [
      { when: /opening a shell in the kept container/, line: "cat /proc/1/cgroup >/dev/null; echo shell-$((7*6)) in $(hostname)" },
      { when: /shell-42 in \w+/, line: "exit" },
    ], 240_000);
    // script passes the command's exit code on: the replay's (1, the test failed).
    expect(session.status, session.output.slice(-3000)).toBe(1);
    const reproId = /remove it: +npx distcheck repro --clean (\S+)/.exec(session.output)?.[1];
    expect(reproId, session.output.slice(-3000)).toBeDefined();
    reproIds.push(reproId!);
    const [kept] = await keptContainers(reproId!);
    expect(session.output).toContain(`shell-42 in ${kept!.id.slice(0, 12)}`);
  }, 300_000);
});

describe("distcheck repro --from", () => {
  it("replays the failing test of a mutant run: fails the same way 3 of 3 times, each try with its timing factor; exit 1", async () => {
    const test = failing(mutantRun);
    expect(test.name).toMatch(/^ARC-09: a manifest with 21 keywords/);
    const { status, result, stderr } = repro(["--from", mutantRun, test.id, "--repeat", "3"]);
    expect(status, stderr.slice(-2000)).toBe(1);
    const [t] = result.tests;
    expect(t).toMatchObject({ id: test.id, cell: CELL, mutant: MUTANT, verdict: { classification: "fails_every_time", failed: 3, of: 3, sameWay: 3 } });
    expect(t!.tries.map((x) => x.timingFactor)).toEqual([1, 1, 1]);
    // The same fixture bytes as the run (sha256 of every file under fixtures/dist).
    expect(t!.tries.map((x) => x.fixtureDifferences)).toEqual([[], [], []]);
    // Each try's trace: its vitest output, the test's record and the command line.
    for (const x of t!.tries) {
      expect(readFileSync(path.join(x.dir, "command.sh"), "utf8")).toContain(`DISTCHECK_MUTANT=${MUTANT}`);
      expect(JSON.parse(readFileSync(path.join(x.dir, "record.json"), "utf8"))).toMatchObject({ state: "failed", name: test.name });
      // The host the try booted: its log, its event timeline, the HTTP exchanges, the filesystem diff.
      const hostDirs = readdirSync(x.dir).filter((d) => d.startsWith(`host-${CELL}-`));
      expect(hostDirs).toHaveLength(1);
      const host = (f: string): string => readFileSync(path.join(x.dir, hostDirs[0]!, f), "utf8");
      expect(host("host.log")).not.toBe("");
      expect(JSON.parse(host("timeline.json"))).toContainEqual(expect.objectContaining({ event: "installed", id: "distcheck.arc-manifest-too-many-keywords" }));
      expect(host("http.jsonl").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { method: string; path: string; status: number })).toContainEqual(expect.objectContaining({ method: "POST", path: "/api/agent/install", status: 201 }));
      expect(JSON.parse(host("filesystem-diff.json"))).toContainEqual({ path: "/fixtures/archives/arc-manifest-too-many-keywords-1.0.0.tar.gz", kind: "added" });
    }
    // Nothing of the replay is left in the engine.
    expect((await engine.listContainers(LABELS.managed)).filter((c) => c.labels[LABELS.run]?.startsWith(`repro-${path.basename(result.dir)}`))).toEqual([]);
  }, 240_000);

  it("the same test of a run on the normal host does not reproduce; exit 0", () => {
    const test = failing(mutantRun);
    const normalRun = publishedRun([]);
    const { status, result, stderr } = repro(["--from", normalRun, `${CELL}: ${test.name}`]);
    expect(status, stderr.slice(-2000)).toBe(0);
    expect(result.tests[0]).toMatchObject({ id: test.id, verdict: { classification: "does_not_reproduce", failed: 0, of: 1 } });
    expect(result.tests[0]!.mutant).toBeUndefined();
    // The run as if a fixture had been other bytes then: the try says which file differs.
    const copy = path.join(reports, "other-fixture-run");
    cpSync(normalRun, copy, { recursive: true });
    const envFile = path.join(copy, "results", "distcheck", "environment.json");
    const env = JSON.parse(readFileSync(envFile, "utf8")) as { fixtures: Record<string, string> };
    const file = "archives/arc-manifest-too-many-keywords-1.0.0.tar.gz";
    expect(env.fixtures[file]).toMatch(/^[0-9a-f]{64}$/);
    env.fixtures[file] = "0".repeat(64);
    writeFileSync(envFile, JSON.stringify(env));
    const other = repro(["--from", copy, test.id]);
    expect(other.result.tests[0]!.tries[0]!.fixtureDifferences).toEqual([expect.stringMatching(new RegExp(`^${file.replace(/\./g, "\\.")}: sha256 [0-9a-f]{64}, the run had 0{64}$`))]);
  }, 240_000);

  it("refuses an unknown run, an unknown test and an image that no longer exists, with stable codes and the fix", () => {
    const unknownRun = repro(["--from", path.join(reports, "no-such-run"), "x"]);
    expect([unknownRun.status, unknownRun.result.code]).toEqual([2, "run_not_found"]);
    const unknownTest = repro(["--from", mutantRun, "no such test"]);
    expect([unknownTest.status, unknownTest.result.code]).toEqual([2, "test_not_found"]);
    expect(unknownTest.result.message).toContain(failing(mutantRun).id);
    // The run as if its host image had been pruned since: its recorded tag names nothing in the engine.
    const copy = path.join(reports, "pruned-run");
    cpSync(mutantRun, copy, { recursive: true });
    const envFile = path.join(copy, "results", "distcheck", "environment.json");
    const env = JSON.parse(readFileSync(envFile, "utf8")) as { images: Record<string, { host: string }> };
    env.images[CELL]!.host = "distcheck/host-reference:linux-x86_64-pruned-000000000000";
    writeFileSync(envFile, JSON.stringify(env));
    const pruned = repro(["--from", copy, failing(copy).id]);
    expect([pruned.status, pruned.result.code]).toEqual([3, "image_missing"]);
    expect(pruned.result.message).toContain(`npx distcheck run --mutant ${MUTANT} --platform linux-x86_64 --python bookworm --host reference --suite manifest-validation`);
  }, 60_000);
});

describe("distcheck repro --bundle", () => {
  it("replays a cell of a signed sign-off bundle to the same verdict; a bundle that does not verify and an unknown cell are refused", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const key = path.join(reports, "sign.pem");
    const pub = path.join(reports, "sign.pub.pem");
    writeFileSync(key, privateKey.export({ type: "pkcs8", format: "pem" }));
    writeFileSync(pub, publicKey.export({ type: "spki", format: "pem" }));
    const bundle = path.join(reports, "signoff.tar.gz");
    const run = distcheck(["run", ...FILTERS, "--reports", reports, "--bundle", bundle, "--sign-key", key]);
    expect(run.status, run.stderr.slice(-2000)).toBe(0);
    const replay = repro(["--bundle", bundle, "--key", pub, "--cell", CELL]) as unknown as { status: number; result: { recordedVerdict: string; replayedVerdict: string; sameVerdict: boolean; tests: Array<{ recorded: string; replayed: string }> }; stderr: string };
    expect(replay.status, replay.stderr.slice(-2000)).toBe(0);
    expect(replay.result).toMatchObject({ recordedVerdict: "pass", replayedVerdict: "pass", sameVerdict: true });
    expect(replay.result.tests.length).toBeGreaterThan(5);
    expect(replay.result.tests.every((t) => t.recorded === t.replayed)).toBe(true);

    const unknownCell = repro(["--bundle", bundle, "--key", pub, "--cell", "linux-aarch64.trixie.reference"]);
    expect([unknownCell.status, unknownCell.result.code]).toEqual([2, "cell_not_found"]);
    // One byte of the bundle changed: it no longer verifies, and nothing runs.
    const bytes = readFileSync(bundle);
    bytes.writeUInt8(bytes[bytes.length - 20]! ^ 0xff, bytes.length - 20);
    const tampered = path.join(reports, "tampered.tar.gz");
    writeFileSync(tampered, bytes);
    const invalid = repro(["--bundle", tampered, "--key", pub, "--cell", CELL]);
    expect([invalid.status, invalid.result.code]).toEqual([2, "bundle_invalid"]);
  }, 240_000);
});
