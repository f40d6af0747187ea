import { describe, expect, it } from "vitest";
import { attributeOutages } from "./engine-outages.ts";
import type { TestRecord } from "./test-record.ts";

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

  it("blames a lost connection to the host in the shutdown window before the outage on it, not one earlier, nor an assertion", () => {
    const lost = { name: "Error", code: "EHOSTUNREACH", message: "connect EHOSTUNREACH 172.20.0.2:8765" };
    expect(attributeOutages(record({ endedAt: 1_000 - 30_000, errors: [lost] }), [outage]).errors[0]!.code).toBe("engine_restarted");
    for (const r of [record({ endedAt: 1_000 - 30_001, errors: [lost] }), record({ endedAt: 999 })]) expect(attributeOutages(r, [outage])).toBe(r);
  });

  it("leaves a failure that ended one millisecond before the outage, a passed test, and another engine's platform alone", () => {
    for (const r of [record({ endedAt: 999 }), record({ state: "passed", errors: [] }), record({ cell: { id: "linux-aarch64.bookworm.reference", platform: "linux-aarch64", base: "bookworm", host: "reference" } as TestRecord["cell"] })]) {
      expect(attributeOutages(r, [outage])).toBe(r);
    }
  });
});
