import { describe, expect, it } from "vitest";
import { parseBenchOptions } from "./bench-options.ts";

describe("npm run bench options", () => {
  it("defaults: the small workload, one round, 10/50/200 wheels, 8 naive cases, one host per core, every part", () => {
    expect(parseBenchOptions([], 2)).toEqual({ workload: "small", rounds: 1, scale: [10, 50, 200], naiveSample: 8, floorConcurrency: 2, parts: ["a", "b", "c", "scale"], reports: "reports", json: false });
  });

  it("reads every option", () => {
    expect(parseBenchOptions(["--workload", "default", "--rounds", "3", "--scale", "50,10", "--naive-sample", "4", "--floor-concurrency", "4", "--parts", "scale,a", "--reports", "out", "--json"], 2)).toEqual({
      workload: "default",
      rounds: 3,
      scale: [10, 50],
      naiveSample: 4,
      floorConcurrency: 4,
      parts: ["a", "scale"],
      reports: "out",
      json: true,
    });
    expect(parseBenchOptions(["--help"])).toBeUndefined();
  });

  it.for([
    [["--workload", "big"], /--workload must be one of small, default/],
    [["--rounds", "0"], /--rounds must be an integer >= 1 \(got "0"\)/],
    [["--scale", "10,x"], /--scale must be an integer/],
    [["--scale", "10,10"], /lists a count twice/],
    [["--naive-sample", "1.5"], /--naive-sample must be an integer/],
    [["--parts", "a,d"], /--parts takes a, b, c, scale \(got "d"\)/],
    [["--parts", "b"], /need a/],
    [["--unknown"], /Unknown option/],
  ] as Array<[string[], RegExp]>)("refuses %j with bench_usage", ([argv, message]) => {
    expect(() => parseBenchOptions(argv, 2)).toThrow(expect.objectContaining({ code: "bench_usage", category: "input", message: expect.stringMatching(message) }));
  });
});
