import { describe, expect, it } from "vitest";
import { attributeBinfmtOutages } from "./binfmt-outages.ts";
import type { TestRecord } from "./test-record.ts";

const AARCH64 = { id: "linux-aarch64.bookworm.reference", platform: "linux-aarch64", base: "bookworm", host: "reference" } as TestRecord["cell"];
const X86 = { id: "linux-x86_64.bookworm.reference", platform: "linux-x86_64", base: "bookworm", host: "reference" } as TestRecord["cell"];
const outage = { platform: "linux-aarch64" as const, entry: "qemu-aarch64", state: "disabled" as const, offAt: 10_000, onAt: 20_000 };

function record(over: Partial<TestRecord>): TestRecord {
  return { key: "k", file: "suites/discovery.test.ts", suite: "discovery", suitePath: [], name: "WHL-06: t", clauses: ["WHL-06"], cell: AARCH64, state: "failed", durationMs: 1_000, endedAt: 10_000, errors: [{ name: "AssertionError", message: "the entry point could not start" }], attachments: [], ...over };
}

describe("attributeBinfmtOutages", () => {
  it("blames a failure of the platform that ran, even in part, while its registration was off on the machine, keeping the test's own error after it", () => {
    for (const r of [record({}), record({ endedAt: 25_000, durationMs: 5_000 }), record({ endedAt: 15_000 })]) {
      const a = attributeBinfmtOutages(r, [outage]);
      expect(a.errors.map((e) => [e.code, e.category])).toEqual([["binfmt_disabled", "infrastructure"], [undefined, undefined]]);
      expect(a.errors[0]!.message).toMatch(/qemu-aarch64 binfmt registration was disabled at 1970-01-01T00:00:10\.000Z until 1970-01-01T00:00:20\.000Z[\s\S]*update-binfmts --enable qemu-aarch64/);
    }
    // Off to the end of the run: everything after it.
    expect(attributeBinfmtOutages(record({ endedAt: 99_000, durationMs: 1 }), [{ ...outage, onAt: undefined }]).errors[0]!.code).toBe("binfmt_disabled");
  });

  it("leaves a failure that ended before it went off or began after it was back, another platform, a passed test and one already the machine's", () => {
    const machine = { name: "InfrastructureError", code: "engine_restarted", category: "infrastructure" as const, message: "m" };
    for (const r of [record({ endedAt: 9_999 }), record({ endedAt: 22_000, durationMs: 1_999 }), record({ cell: X86 }), record({ state: "passed", errors: [] }), record({ errors: [machine] })]) {
      expect(attributeBinfmtOutages(r, [outage])).toBe(r);
    }
  });
});
