import { describe, expect, it } from "vitest";
import { casesFromRecords, workloadSuites } from "./workload.ts";

const cell = (platform: "linux-x86_64" | "linux-aarch64") => ({ id: `${platform}.bookworm.reference`, platform, base: "bookworm", host: "reference" });
const record = (suite: string, suitePath: string[], name: string, platform: "linux-x86_64" | "linux-aarch64" = "linux-aarch64") => ({ key: `${suite}#${suitePath.join(" ")}#${name}`, suite, suitePath, name, cell: cell(platform) });

describe("the workload's cases, from (a)'s records", () => {
  it("names the suites of each workload", () => {
    expect(workloadSuites("small")).toEqual(["discovery", "hostile-archives"]);
    expect(workloadSuites("default")).toBeUndefined();
  });

  it("tells each test's setup from its suite, describe and title", () => {
    const cases = casesFromRecords([
      record("discovery", ["discovery on 'x'"], "WHL-01: installs from a local folder"),
      record("discovery", ["discovery on 'x'", "after install, upgrade and removal"], "WHL-15: a newer wheel replaces the older one after a restart"),
      record("hostile-archives", ["hostile archives on 'x'", "small limits max_extracted_bytes=1048576 max_files=100"], "ARC-05 ARC-07: bomb-small (zip, from a url) is refused with too_large_extracted"),
      record("hostile-archives", ["hostile archives on 'x'", "contract limits"], "ARC-04 ARC-07: name (with) parens (tar.gz, from a file) is refused with unsafe_entry (parent_segment)", "linux-x86_64"),
      record("hostile-archives", ["hostile archives on 'x'", "contract limits"], "ARC-07: after every refusal on the contract limits host nothing outside /var/lib/distcheck-host changed"),
      record("checksum", ["checksum on 'x'"], "ARC-02: a matching digest installs"),
      { ...record("platform", [], "no cell"), cell: undefined },
    ]);
    const byName = (part: string) => cases.filter((c) => c.name.includes(part)).map((c) => [c.suite, c.kind, c.platform, c.group, c.entry]);
    expect(cases).toHaveLength(6);
    expect(byName("a matching digest")).toEqual([["checksum", "generic", "linux-aarch64", undefined, undefined]]);
    expect(byName("installs from a local folder")).toEqual([["discovery", "discovery", "linux-aarch64", undefined, undefined]]);
    expect(byName("a newer wheel")).toEqual([["discovery", "discovery-lifecycle", "linux-aarch64", undefined, undefined]]);
    expect(byName("after every refusal")).toEqual([["hostile-archives", "hostile-group", "linux-aarch64", "contract limits", undefined]]);
    expect(byName("parens")).toEqual([["hostile-archives", "hostile-entry", "linux-x86_64", "contract limits", { name: "name (with) parens", format: "tar.gz", via: "file" }]]);
    expect(byName("bomb-small")).toEqual([["hostile-archives", "hostile-entry", "linux-aarch64", "small limits max_extracted_bytes=1048576 max_files=100", { name: "bomb-small", format: "zip", via: "url" }]]);
    // Sorted by the test's key, so a sample taken from the list is the same every run.
    expect(cases.map((c) => c.id)).toEqual([...cases.map((c) => c.id)].sort());
  });
});
