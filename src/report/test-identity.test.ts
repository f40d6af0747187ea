import { describe, expect, it } from "vitest";
import { cellOf, clauseIdsOf, suiteOf, testKey } from "./test-identity.ts";

describe("clauseIdsOf", () => {
  it("reads the leading clause ids of a title", () => {
    expect(clauseIdsOf("WHL-08: skips before setup()")).toEqual(["WHL-08"]);
    expect(clauseIdsOf("ARC-04 ARC-07: refuses symlinks")).toEqual(["ARC-04", "ARC-07"]);
    expect(clauseIdsOf("ARC-02, ARC-03: truncated")).toEqual(["ARC-02", "ARC-03"]);
  });

  it("ignores ids mentioned later in a title, and titles without ids", () => {
    expect(clauseIdsOf("installs like WHL-01 says")).toEqual([]);
    expect(clauseIdsOf("runs on the cell's machine architecture")).toEqual([]);
  });
});

describe("cellOf", () => {
  it("finds the cell in a describe name", () => {
    expect(cellOf(["discovery on 'linux-aarch64.trixie.reference'"])).toEqual({ id: "linux-aarch64.trixie.reference", platform: "linux-aarch64", base: "trixie", host: "reference" });
    expect(cellOf(["outer", "platform on linux-x86_64.bookworm.reference"])?.platform).toBe("linux-x86_64");
    expect(cellOf(["no cell here"])).toBeUndefined();
  });
});

describe("suiteOf and testKey", () => {
  it("name suites by file and tests by file, describes and title", () => {
    expect(suiteOf("suites/hostile-archives.test.ts")).toBe("hostile-archives");
    expect(testKey("suites/a.test.ts", ["d on x"], "WHL-01: t")).toBe("suites/a.test.ts#d on x WHL-01: t");
  });
});
