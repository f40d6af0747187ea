import { describe, expect, it } from "vitest";
import { fixtureDifferences } from "./fixture-check.ts";

describe("repro's fixture check", () => {
  it("names every fixture whose bytes changed, appeared or went since the run; nothing when they are the same", () => {
    const run = { "archives/a.tar.gz": "aa", "wheels/b.whl": "bb", "hostile/c.zip": "cc" };
    expect(fixtureDifferences(run, { ...run })).toEqual([]);
    expect(fixtureDifferences(run, { "archives/a.tar.gz": "a2", "wheels/b.whl": "bb", "hostile/d.zip": "dd" })).toEqual([
      "archives/a.tar.gz: sha256 a2, the run had aa",
      "hostile/c.zip: gone (the run had sha256 cc)",
      "hostile/d.zip: new since the run",
    ]);
    expect(fixtureDifferences(undefined, run)).toBeUndefined();
  });
});
