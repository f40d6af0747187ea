import { describe, expect, it } from "vitest";
import { distcheckPhases, imagesStepMs, parseProfileLine, type TimedLine } from "./distcheck-part.ts";

const lines: TimedLine[] = [
  { atMs: 1_000, text: "[   0.0s] run R: 4 cell(s) x 2 suite(s): discovery, hostile-archives" },
  { atMs: 1_040, text: "[   0.1s] up to date distcheck/base-bookworm:linux-x86_64-cc90" },
  { atMs: 1_052, text: "[   0.1s] up to date distcheck/host-reference:linux-x86_64-0.8.0-f91e" },
  { atMs: 1_530, text: "[   0.5s] vitest on unix:///var/run/docker.sock for linux-x86_64, linux-aarch64" },
  { atMs: 9_000, text: "[profile] linux-aarch64.bookworm.reference: container 2034 ms, before boot 0 ms, boot 11488 ms" },
  { atMs: 9_100, text: "[profile] linux-x86_64.trixie.reference: container 819 ms, before boot 0 ms, boot 1214 ms" },
];

describe("(a)'s phases", () => {
  it("reads a [profile] line of a host's first boot", () => {
    expect(parseProfileLine(lines[4]!.text)).toEqual({ cell: "linux-aarch64.bookworm.reference", containerMs: 2034, beforeBootMs: 0, bootMs: 11488 });
    expect(parseProfileLine("[profile] nonsense")).toBeUndefined();
  });

  it("times the images step from the run's first line to its last image line before the suites", () => {
    expect(imagesStepMs(lines)).toBe(52);
    expect(imagesStepMs(lines.filter((l) => !l.text.includes("up to date")))).toBeUndefined();
  });

  it("sums boots from the profile lines and tests from the records; n/a where nothing measured a phase", () => {
    const records = [{ durationMs: 1_500 }, { durationMs: 250 }] as never[];
    const { phases, hostBoots } = distcheckPhases(lines, records, [], "R");
    expect(hostBoots).toBe(2);
    expect(phases).toEqual({ image: 52, container: 2853, install: null, boot: 12702, assertions: 1750, teardown: null });
  });
});
