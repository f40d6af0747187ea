import { describe, expect, it } from "vitest";
import type { TestRecord } from "../report/test-record.ts";
import { judge, summariseMutation, type MutationJob } from "./mutation-runner.ts";

const job: MutationJob = { mutant: { name: "arc15-poll-every-200ms", clause: "ARC-15", suites: ["shutdown-timing"], timing: true, breaks: "" }, platform: "linux-x86_64", suites: ["shutdown-timing"], clause: "ARC-15" };
const rec = (state: TestRecord["state"], errorName?: string): TestRecord => ({
  key: "k",
  file: "suites/shutdown-timing.test.ts",
  suite: "shutdown-timing",
  suitePath: ["shutdown-timing on linux-x86_64.bookworm.reference"],
  name: "ARC-15: polls every 50 ms",
  clauses: ["ARC-15"],
  cell: { id: "linux-x86_64.bookworm.reference", platform: "linux-x86_64", base: "bookworm", host: "reference" },
  state,
  durationMs: 1,
  errors: errorName ? [{ name: errorName, message: "m" }] : [],
  attachments: [],
});

describe("judge", () => {
  it("kills a mutant only through a product failure (an assertion about the host)", () => {
    expect(judge(job, [rec("passed"), rec("failed", "AssertionError")], 1, 5).status).toBe("killed");
  });

  it("does not count harness or infrastructure failures as kills", () => {
    const v = judge(job, [rec("failed", "TypeError")], 1, 5);
    expect(v.status).toBe("error");
    expect(v.detail).toContain("only harness or infrastructure failures");
    expect(judge(job, [rec("failed", "ContainerError")], 1, 5).status).toBe("error");
  });

  it("calls a run in which every test of the clause passed a survivor", () => {
    expect(judge(job, [rec("passed"), rec("passed")], 0, 5).status).toBe("survived");
  });

  it("is an error when no test of the clause ran", () => {
    expect(judge(job, [rec("skipped")], 0, 5)).toMatchObject({ status: "error", detail: "no test of ARC-15 ran (exit 0)" });
  });
});

describe("summariseMutation", () => {
  it("scores killed over total and groups by clause", () => {
    const killed = judge(job, [rec("failed", "AssertionError")], 1, 5);
    const survived = { ...judge(job, [rec("passed")], 0, 5), clause: "ARC-02" };
    const run = summariseMutation("r", "bookworm", [], [killed, survived]);
    expect(run.score).toEqual({ killed: 1, total: 2 });
    expect(run.byClause).toEqual({ "ARC-02": { killed: 0, survived: 1, error: 0 }, "ARC-15": { killed: 1, survived: 0, error: 0 } });
  });
});
