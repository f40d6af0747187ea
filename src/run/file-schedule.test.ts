import { readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../matrix/selection.ts";
import config from "../../vitest.config.ts";
import FileSchedule, { FILE_ORDER, schedulePosition } from "./file-schedule.ts";

describe("the order suite files start in", () => {
  it("starts the timing suite first, then the CPU-heavy hostile archives", () => {
    expect(schedulePosition("/x/suites/shutdown-timing.test.ts")).toBe(0);
    expect(schedulePosition("/x/suites/hostile-archives.test.ts")).toBe(1);
  });

  it("puts a suite it does not list after every listed one", () => {
    expect(schedulePosition("/x/suites/new-suite.test.ts")).toBe(FILE_ORDER.length);
  });

  it("lists every suite file there is, and only those", () => {
    const files = readdirSync(path.join(PACKAGE_ROOT, "suites")).filter((f) => f.endsWith(".test.ts")).map((f) => f.replace(/\.test\.ts$/, ""));
    expect([...FILE_ORDER].sort()).toEqual(files.sort());
  });

  // vitest takes the sequencer from the root config only; in a project it is silently ignored (it was,
  // for a session: files then ran in vitest's order, by cached duration, or by size on a fresh clone).
  it("is the sequencer of the root vitest config, where vitest reads it", () => {
    expect(config.test?.sequence?.sequencer).toBe(FileSchedule);
    for (const project of config.test?.projects ?? []) expect((project as { test?: { sequence?: unknown } }).test?.sequence).toBeUndefined();
  });
});
