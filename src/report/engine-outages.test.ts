import { describe, expect, it } from "vitest";
import { attributeOutages } from "./engine-outages.ts";
import type { TestRecord, TestRecordError } from "./test-record.ts";

const outage = { endpoint: "unix:///var/run/docker.sock", platforms: ["linux-x86_64"], wentAwayAt: 1_000, backAt: 5_000 };

function record(over: Partial<TestRecord>): TestRecord {
  return {
    key: "k",
    file: "suites/discovery.test.ts",
    suite: "discovery",
    suitePath: [],
    name: "WHL-02: t",
    clauses: ["WHL-02"],
    cell: { id: "linux-x86_64.bookworm.reference", platform: "linux-x86_64", base: "bookworm", host: "reference" } as TestRecord["cell"],
    state: "failed",
    durationMs: 1,
    endedAt: 1_000,
    errors: [{ name: "AssertionError", message: "expected 200" }],
    attachments: [],
    ...over,
  };
}

describe("attributeOutages", () => {
  it("blames a failure that ended at or after the engine went away on the machine, keeping the test's own error after it", () => {
    const r = attributeOutages(record({}), [outage]);
    expect(r.errors.map((e) => [e.code, e.category])).toEqual([["engine_restarted", "infrastructure"], [undefined, undefined]]);
    expect(r.errors[0]!.message).toMatch(/went away at 1970-01-01T00:00:01\.000Z and answered again at 1970-01-01T00:00:05\.000Z/);
  });

  it("blames any failure that ended in the shutdown window before the outage on it (the engine stops containers first), saying how long before; not one a millisecond earlier", () => {
    const lost = { name: "Error", code: "EHOSTUNREACH", message: "connect EHOSTUNREACH 172.20.0.2:8765" };
    const hostAnswer = { name: "AssertionError", message: "code download_failed: expected [ 'unsafe_entry' ] to include 'download_failed'" };
    for (const errors of [[lost], [hostAnswer]] as TestRecordError[][]) {
      const r = attributeOutages(record({ endedAt: 1_000 - 30_000, errors }), [outage]);
      expect(r.errors.map((e) => e.code ?? e.name)).toEqual(["engine_restarted", errors[0]!.code ?? errors[0]!.name]);
      expect(r.errors[0]!.message).toMatch(/^This test failed 30\.0 s before the engine's API went away/);
      const early = record({ endedAt: 1_000 - 30_001, errors });
      expect(attributeOutages(early, [outage])).toBe(early);
    }
  });

  it("leaves a failure that ended before the window, a passed test, a test already failed by the machine, and another engine's platform alone", () => {
    const machine = { name: "ContainerError", code: "container_copy_failed", category: "infrastructure" as const, message: "connect ENOENT /var/run/docker.sock" };
    for (const r of [record({ endedAt: -29_001 }), record({ state: "passed", errors: [] }), record({ errors: [machine] }), record({ cell: { id: "linux-aarch64.bookworm.reference", platform: "linux-aarch64", base: "bookworm", host: "reference" } as TestRecord["cell"] })]) {
      expect(attributeOutages(r, [outage])).toBe(r);
    }
  });
});
