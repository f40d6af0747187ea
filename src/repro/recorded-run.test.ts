import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { testId, testKey } from "../report/test-identity.ts";
import { tempDirs } from "../testing/temp-dirs.ts";
import type { TestRecord } from "../report/test-record.ts";
import { failingTests, findTest, newestRun, openRun } from "./recorded-run.ts";
import { resolveTargets } from "./repro.ts";

const tmp = tempDirs("distcheck-repro-");
const CELLS = ["linux-x86_64.bookworm.reference", "linux-aarch64.trixie.reference"];

function record(cell: string, name: string, state: TestRecord["state"]): TestRecord {
  const [platform, base, host] = cell.split(".") as [TestRecord["cell"] extends infer C ? C extends { platform: infer P } ? P : never : never, string, string];
  const suitePath = [`manifest validation on '${cell}'`];
  return {
    key: testKey("suites/manifest-validation.test.ts", suitePath, name),
    file: "suites/manifest-validation.test.ts",
    suite: "manifest-validation",
    suitePath,
    name,
    clauses: ["ARC-09"],
    cell: { id: cell, platform, base, host },
    state,
    durationMs: 12,
    errors: state === "failed" ? [{ message: "expected 'running' to be 'refused' // pid 37", name: "AssertionError" }] : [],
    attachments: [],
  };
}

/** A published run folder as `distcheck run` writes it: records named by test id, and the environment. */
function publishedRun(root: string, runId: string, records: TestRecord[]): string {
  const dir = path.join(root, runId, "results", "distcheck");
  mkdirSync(dir, { recursive: true });
  for (const r of records) writeFileSync(path.join(dir, `${testId(r.key)}.json`), JSON.stringify(r));
  writeFileSync(
    path.join(dir, "environment.json"),
    JSON.stringify({ harnessVersion: "0", engines: {}, platforms: [], timingFactors: { "linux-aarch64": 7.5 }, hostVersions: { reference: "0.8.0" }, mutant: "arc09-keyword-limit-off-by-one", images: { [CELLS[1]!]: { base: "b:1", baseId: "sha256:b", host: "h:1", hostId: "sha256:h" } } }),
  );
  return path.join(root, runId);
}

function fixture(): { root: string; run: string } {
  const root = tmp();
  const run = publishedRun(root, "20260101T000000Z-aaaaaa", [
    record(CELLS[0]!, "ARC-09: a manifest with 21 keywords is refused", "passed"),
    record(CELLS[1]!, "ARC-09: a manifest with 21 keywords is refused", "failed"),
    record(CELLS[1]!, "ARC-10: grace 301 is refused", "failed"),
    record(CELLS[1]!, "ARC-10: grace 300 is accepted", "passed"),
  ]);
  symlinkSync(run, path.join(root, "latest"));
  return { root, run };
}

describe("the run and test repro replays", () => {
  it("finds a test by its id, an id prefix, its key, `<cell>: <name>`, or a name narrowed by --cell", () => {
    const { root, run } = fixture();
    const r = openRun(path.join(root, "latest"), root);
    expect(r.runId).toBe(path.basename(run));
    const failing = record(CELLS[1]!, "ARC-09: a manifest with 21 keywords is refused", "failed");
    const id = testId(failing.key);
    for (const q of [id, id.slice(0, 8), failing.key, `${CELLS[1]}: ${failing.name}`]) expect(findTest(r, q).key).toBe(failing.key);
    const t = findTest(r, failing.name, CELLS[1]);
    expect(t).toMatchObject({ id, fullName: `manifest validation on '${CELLS[1]}' ${failing.name}`, mutant: "arc09-keyword-limit-off-by-one", timingFactor: 7.5, hostVersion: "0.8.0", images: { hostId: "sha256:h" } });
    expect(t.recorded.state).toBe("failed");
  });

  it("refuses a name several cells ran (test_ambiguous, listing their ids) and an unknown one (test_not_found, listing the failures)", () => {
    const { root } = fixture();
    const r = openRun(path.join(root, "latest"), root);
    expect(() => findTest(r, "ARC-09: a manifest with 21 keywords is refused")).toThrow(expect.objectContaining({ code: "test_ambiguous", category: "input" }));
    let error: Error & { code?: string } = new Error();
    try {
      findTest(r, "no such test");
    } catch (e) {
      error = e as Error & { code?: string };
    }
    expect(error.code).toBe("test_not_found");
    expect(error.message).toContain(testId(record(CELLS[1]!, "ARC-10: grace 301 is refused", "failed").key));
  });

  it("refuses a folder that is no published run (run_not_found, naming the runs there)", () => {
    const { root, run } = fixture();
    expect(() => openRun(path.join(root, "nope"), root)).toThrow(expect.objectContaining({ code: "run_not_found", message: expect.stringContaining(path.basename(run)) }));
    expect(() => newestRun(path.join(root, "empty"))).toThrow(expect.objectContaining({ code: "run_not_found" }));
  });

  it("--last-failed takes every failing test of the newest run", () => {
    const { root } = fixture();
    // An older run's failures are not replayed.
    publishedRun(root, "20250101T000000Z-bbbbbb", [record(CELLS[0]!, "ARC-01: old", "failed")]);
    const { targets } = resolveTargets({ lastFailed: true }, root);
    expect(targets.map((t) => t.name).sort()).toEqual(["ARC-09: a manifest with 21 keywords is refused", "ARC-10: grace 301 is refused"]);
    expect(failingTests(openRun(path.join(root, "latest"), root))).toHaveLength(2);
    expect(() => resolveTargets({ test: "x" }, root)).toThrow(expect.objectContaining({ code: "repro_usage" }));
    expect(() => resolveTargets({}, root)).toThrow(expect.objectContaining({ code: "repro_usage" }));
  });
});
