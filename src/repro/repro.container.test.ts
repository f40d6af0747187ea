import { spawnSync } from "node:child_process";
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

describe("distcheck repro --from", () => {
  it("replays the failing test of a mutant run: fails the same way 3 of 3 times, each try with its timing factor; exit 1", async () => {
    const test = failing(mutantRun);
    expect(test.name).toMatch(/^ARC-09: a manifest with 21 keywords/);
    const { status, result, stderr } = repro(["--from", mutantRun, test.id, "--repeat", "3"]);
    expect(status, stderr.slice(-2000)).toBe(1);
    const [t] = result.tests;
    expect(t).toMatchObject({ id: test.id, cell: CELL, mutant: MUTANT, verdict: { classification: "fails_every_time", failed: 3, of: 3, sameWay: 3 } });
    expect(t!.tries.map((x) => x.timingFactor)).toEqual([1, 1, 1]);
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
