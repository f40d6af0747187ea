import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { containerActivity, countProcesses, engineSideDurations, programOf, toEngineEvent, type EngineEvent } from "./engine-events.ts";

// A real recording (`GET /events` during a small-workload `distcheck run`, trimmed to three
// containers and to the attributes the bench reads): the reaper (no cell), an x86_64 and an aarch64
// discovery host, each started from its wheel layer and observed with 7 execs after its boot.
const RUN = "20261130T170000Z-bench0";
const recorded = (JSON.parse(readFileSync(path.join(import.meta.dirname, "__fixtures__", "engine-events.json"), "utf8")) as unknown[]).map((e) => toEngineEvent(e as never)!);

describe("engine events", () => {
  it("keeps container events with millisecond times, and no other type", () => {
    expect(recorded).toHaveLength(66);
    expect(recorded[0]).toMatchObject({ action: "create", id: "540e24a9be10", timeMs: 1796056424514.982821 });
    expect(toEngineEvent({ Type: "network", Action: "create", Actor: { ID: "n1", Attributes: {} }, timeNano: 1 })).toBeUndefined();
  });

  it("counts per cell the containers started and the processes docker exec started", () => {
    const counts = countProcesses(containerActivity(recorded, RUN), "linux-x86_64");
    expect(counts.map((c) => [c.cell, c.platform, c.emulated, c.containers, c.execs])).toEqual([
      ["(no cell)", "linux-x86_64", false, 1, 0],
      ["linux-aarch64.trixie.reference", "linux-aarch64", true, 1, 8],
      ["linux-x86_64.bookworm.reference", "linux-x86_64", false, 1, 8],
    ]);
    expect(counts[1]!.byProgram).toEqual([
      ["cat", 4],
      ["python3", 1],
      ["sh -c echo", 1],
      ["sh -c for", 1],
      ["uname", 1],
    ]);
  });

  it("counts only the run asked for", () => {
    expect(containerActivity(recorded, "another-run")).toEqual([]);
    const other: EngineEvent = { ...recorded[1]!, id: "other", attributes: { ...recorded[1]!.attributes, "dev.distcheck.run": "another-run" } };
    expect(containerActivity([...recorded, other], RUN)).toHaveLength(3);
  });

  it("takes the teardown from the first kill to the removal, and sums pip execs from start to exit", () => {
    const activity = containerActivity(recorded, RUN);
    const aarch64 = activity.find((c) => c.platform === "linux-aarch64")!;
    expect(aarch64.destroyedAt! - aarch64.stoppedAt!).toBeCloseTo(recorded.filter((e) => e.id === aarch64.id && e.action === "destroy")[0]!.timeMs - recorded.filter((e) => e.id === aarch64.id && e.action === "kill")[0]!.timeMs, 6);
    expect(engineSideDurations(activity)).toMatchObject({ pipExecs: 0, pipMs: 0, torndown: 3 });
    const at = (action: string, ms: number, attributes: Record<string, string> = {}): EngineEvent => ({ timeMs: ms, action, id: "c", attributes: { "dev.distcheck.run": RUN, ...attributes } });
    const pip = [at("start", 0), at("exec_start: python3 -m pip install --no-index x.whl", 100, { execID: "e1" }), at("exec_die", 2600, { execID: "e1", exitCode: "0" }), at("exec_start: python3 -m pip uninstall -y x", 3000, { execID: "e2" }), at("exec_die", 3500, { execID: "e2" })];
    expect(engineSideDurations(containerActivity(pip, RUN))).toMatchObject({ pipExecs: 2, pipMs: 3000 });
  });

  it("names the program of an exec as the harness's exec counts do", () => {
    expect(programOf("sh -c kill -TERM 12")).toBe("sh -c kill");
    expect(programOf("python3 -m pip install a b")).toBe("python3 -m pip");
    expect(programOf("true ")).toBe("true");
  });
});
