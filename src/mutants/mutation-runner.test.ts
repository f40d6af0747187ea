import { describe, expect, it } from "vitest";
import type { TestRecord } from "../report/test-record.ts";
import { fromEnv } from "../run/run-protocol.ts";
import type { Mutant } from "./mutant-catalog.ts";
import { jobEnv, jobResultsDir, judge, planMutation, summariseMutation, type MutationJob } from "./mutation-runner.ts";

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

describe("jobEnv", () => {
  const options = { outDir: "/r/mutants/run", python: "bookworm", matrixFile: "/p/matrix.json" };

  it("passes the pid of the process running the mutation run, so a killed run's vitest removes its containers", () => {
    const env = jobEnv(job, options);
    expect(env.DISTCHECK_PARENT_PID).toBe(String(process.pid));
    expect(fromEnv(env).parentPid).toBe(process.pid);
    // An inherited or extra variable does not replace it.
    expect(jobEnv(job, { ...options, env: { DISTCHECK_PARENT_PID: "1" } }).DISTCHECK_PARENT_PID).toBe(String(process.pid));
    expect(jobEnv(job, { ...options, parentPid: 777 }).DISTCHECK_PARENT_PID).toBe("777");
  });

  it("carries the job's mutant, platform, base, matrix and results folder, and starts a run of its own", () => {
    expect(fromEnv(jobEnv(job, options))).toEqual({
      parentPid: process.pid,
      mutant: "arc15-poll-every-200ms",
      platforms: ["linux-x86_64"],
      pythons: ["bookworm"],
      matrixFile: "/p/matrix.json",
      resultsDir: jobResultsDir(job, options.outDir),
    });
    expect(fromEnv(jobEnv({ ...job, mutant: null }, options)).mutant).toBeUndefined();
  });
});

describe("planMutation", () => {
  const mutant = (name: string, clause: string, suites: string[], timing = false): Mutant => ({ name, clause, suites, timing, breaks: "" });

  it("runs timing mutants also on linux-aarch64 and joins the clauses of a suite set into one baseline per platform", () => {
    const plan = planMutation([mutant("a", "ARC-15", ["shutdown-timing"], true), mutant("b", "ARC-16", ["shutdown-timing"]), mutant("c", "WHL-01", ["discovery"])]);
    expect(plan.jobs.map((j) => `${j.mutant?.name}@${j.platform}`)).toEqual(["a@linux-x86_64", "a@linux-aarch64", "b@linux-x86_64", "c@linux-x86_64"]);
    expect(plan.baselineJobs.map((j) => [j.mutant, j.platform, j.clause])).toEqual([
      [null, "linux-x86_64", "ARC-15|ARC-16"],
      [null, "linux-aarch64", "ARC-15"],
      [null, "linux-x86_64", "WHL-01"],
    ]);
    expect(planMutation([mutant("a", "ARC-15", ["shutdown-timing"], true)], ["linux-aarch64"]).jobs.map((j) => j.platform)).toEqual(["linux-aarch64"]);
  });
});
