import { describe, expect, it } from "vitest";
import { parseNaiveOutput, stepLine } from "./naive-part.ts";

describe("the naive loop's protocol", () => {
  it("sums each case's repeated phases and reads its wall time and result", () => {
    const out = parseNaiveOutput(
      [
        "case\tcase-001\tphase\timage\t30",
        "case\tcase-001\tphase\tinstall\t3000",
        "case\tcase-001\tphase\tboot\t1600",
        "case\tcase-001\tphase\tinstall\t3300",
        "case\tcase-001\tphase\tboot\t2500",
        "case\tcase-001\twall\t-\t11403",
        "case\tcase-001\tresult\tfail\tGET /api/extensions: gave 'a', expected ^b$",
        "noise",
        "case\tcase-002\tphase\tnot-a-phase\t5",
        "case\tcase-002\tresult\terror\t",
      ].join("\n"),
    );
    expect(out.get("case-001")).toEqual({ phases: { image: 30, container: 0, install: 6300, boot: 4100, assertions: 0, teardown: 0 }, wallMs: 11403, result: "fail", detail: "GET /api/extensions: gave 'a', expected ^b$" });
    expect(out.get("case-002")?.result).toBe("error");
    expect(out.get("case-002")?.wallMs).toBeUndefined();
  });

  it("writes one tab-separated line per step, request bodies to files", () => {
    const bodies: unknown[] = [];
    const writeBody = (b: unknown): string => (bodies.push(b), `body-${bodies.length}.json`);
    expect(stepLine({ op: "pip", args: ["install", "--no-index", "a.whl"] }, writeBody)).toBe("pip\tinstall --no-index a.whl");
    expect(stepLine({ op: "restart" }, writeBody)).toBe("restart");
    expect(stepLine({ op: "call", method: "POST", path: "/api/agent/install", body: { id: "x" }, status: "^4[0-9][0-9]$", query: ".error.code", expect: "^(a|b)$" }, writeBody)).toBe("call\tPOST\t/api/agent/install\tbody-1.json\t^4[0-9][0-9]$\t.error.code\t^(a|b)$");
    expect(stepLine({ op: "call", method: "GET", path: "/readyz", status: "^200$" }, writeBody)).toBe("call\tGET\t/readyz\t-\t^200$\t-\t-");
    expect(stepLine({ op: "wait", path: "/s", query: ".state", expect: "^running$", timeoutS: 750 }, writeBody)).toBe("wait\t/s\t.state\t^running$\t750");
    expect(bodies).toEqual([{ id: "x" }]);
  });
});

describe("the naive loop's processes over every case", () => {
  it("are estimated per stratum from the sampled cases, with the emulated subtotal, n/a when no emulated case ran", async () => {
    const { estimateNaiveProcesses } = await import("./naive-part.ts");
    const c = (id: string, platform: string, kind: string) => ({ id, suite: "s", cell: `${platform}.bookworm.reference`, platform, name: id, kind }) as never;
    const cases = [c("a1", "linux-aarch64", "discovery"), c("a2", "linux-aarch64", "discovery"), c("a3", "linux-aarch64", "discovery"), c("x1", "linux-x86_64", "discovery")];
    const sampled = new Map([
      ["a1", { containers: 1, execs: 2 }],
      ["x1", { containers: 1, execs: 3 }],
    ]);
    expect(estimateNaiveProcesses(cases, sampled, "linux-x86_64")).toEqual({ containers: 4, execs: 9, emulatedContainers: 3, emulatedExecs: 6, label: "extrapolated from 2 of 4 cases" });
    expect(estimateNaiveProcesses(cases, new Map([["x1", { containers: 1, execs: 3 }]]), "linux-x86_64")).toMatchObject({ emulatedContainers: null, emulatedExecs: null });
  });
});
