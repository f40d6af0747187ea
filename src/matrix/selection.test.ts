import { describe, expect, it } from "vitest";
import { expandCells, parseMatrix } from "./matrix-loader.ts";
import { oneEngineOf } from "./selection.ts";

const matrix = (engines: { x86?: string; arm?: string }) =>
  parseMatrix(
    {
      platforms: [{ id: "linux-x86_64", ...(engines.x86 ? { engine: engines.x86 } : {}) }, { id: "linux-aarch64", ...(engines.arm ? { engine: engines.arm } : {}) }],
      bases: [{ id: "bookworm", image: "bookworm", python: "3.11" }],
      hosts: [{ id: "reference", adapter: "reference", source: "hosts/reference" }],
      suites: ["platform"],
    },
    "matrix.json",
    undefined,
  );

// testcontainers keeps one engine per process: the cells a vitest process drives must share one.
describe("the engine of a vitest process's cells", () => {
  it("is their platforms' endpoint when they share one", () => {
    expect(oneEngineOf(expandCells(matrix({ x86: "tcp://127.0.0.1:2376", arm: "tcp://127.0.0.1:2376" })))).toBe("tcp://127.0.0.1:2376");
    expect(oneEngineOf([])).toBeUndefined();
  });

  it("is refused for cells on two engines, naming each engine's platforms and what to do", () => {
    const cells = expandCells(matrix({ x86: "unix:///var/run/docker.sock", arm: "tcp://arm64-box:2375" }));
    expect(() => oneEngineOf(cells)).toThrow(expect.objectContaining({ code: "engine_per_process", category: "input" }));
    expect(() => oneEngineOf(cells)).toThrow(/unix:\/\/\/var\/run\/docker\.sock \(linux-x86_64\); tcp:\/\/arm64-box:2375 \(linux-aarch64\).*npx distcheck run.*DISTCHECK_FILTER_PLATFORM/);
  });
});
