import { describe, expect, it } from "vitest";
import { CellHealth, neverReadyFailure } from "./cell-health.ts";
import { tempDirs } from "../testing/temp-dirs.ts";

const tmp = tempDirs("cell-health-");
const failure = (file: string) => neverReadyFailure({ cellId: "linux-x86_64.bookworm.broken", file, message: "did not report ready within 20000 ms", log: "x".repeat(70_000) });

describe("CellHealth", () => {
  it("knows nothing of a cell until a boot of it never became ready; the first boot to say so wins", () => {
    const health = new CellHealth(tmp());
    expect(health.neverReady("linux-x86_64.bookworm.broken")).toBeUndefined();
    const first = health.markNeverReady(failure("suites/host-boot.test.ts"));
    expect(first.first).toBe(true);
    const second = health.markNeverReady(failure("suites/discovery.test.ts"));
    expect(second).toMatchObject({ first: false, failure: { file: "suites/host-boot.test.ts" } });
    expect(health.neverReady("linux-x86_64.bookworm.broken")?.file).toBe("suites/host-boot.test.ts");
    expect(health.neverReady("linux-x86_64.bookworm.reference")).toBeUndefined();
  });

  it("names the cell's one failure after HST-02 and the file that booted first; keeps the log's tail", () => {
    const f = failure("suites/host-boot.test.ts");
    expect(f.name).toMatch(/^HST-02: /);
    expect(f.suitePath).toEqual(["host-boot on linux-x86_64.bookworm.broken"]);
    expect(f.reason).toBe(`the host of linux-x86_64.bookworm.broken never became ready (HST-02, see suites/host-boot.test.ts > host-boot on linux-x86_64.bookworm.broken > ${f.name})`);
    expect(f.log).toHaveLength(64_000);
  });
});
