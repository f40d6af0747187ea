import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { ContainerEngine } from "../engine/container-engine.ts";
import { tempDirs } from "../testing/temp-dirs.ts";
import { HostTrace, TRACE_DIR_VARIABLE } from "./host-trace.ts";

const tmp = tempDirs("distcheck-trace-");

const engine = { containerChanges: async () => [{ path: "/var/lib/distcheck-host/extensions", kind: "added" }] } as unknown as ContainerEngine;

describe("a host's repro trace", () => {
  it("is off unless DISTCHECK_TRACE_DIR names a folder", () => {
    expect(HostTrace.open("linux-x86_64.bookworm.reference", "abcdef0123456789", {})).toBeUndefined();
  });

  it("appends each HTTP exchange as it happens, then writes the log, the timeline and the filesystem diff on close", async () => {
    const root = tmp();
    const trace = HostTrace.open("linux-x86_64.bookworm.reference", "abcdef0123456789", { [TRACE_DIR_VARIABLE]: root })!;
    const dir = path.join(root, "host-linux-x86_64.bookworm.reference-abcdef012345");
    expect(trace.dir).toBe(dir);
    trace.exchange({ startedAt: performance.now(), method: "POST", path: "/api/install", port: 8080, request: '{"a":1}', status: 400, response: "x".repeat(20_000) });
    trace.exchange({ startedAt: performance.now(), method: "GET", path: "/api/ready", port: 8080, error: "ECONNREFUSED" });
    const lines = readFileSync(path.join(dir, "http.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      expect.objectContaining({ method: "POST", path: "/api/install", status: 400, request: '{"a":1}', response: expect.stringContaining("4000 more characters") }),
      expect.objectContaining({ method: "GET", error: "ECONNREFUSED" }),
    ]);
    await trace.close({ log: "ready\n", running: true, events: async () => [{ event: "installed" }] }, engine, "abcdef0123456789");
    expect(readFileSync(path.join(dir, "host.log"), "utf8")).toBe("ready\n");
    expect(JSON.parse(readFileSync(path.join(dir, "timeline.json"), "utf8"))).toEqual([{ event: "installed" }]);
    expect(JSON.parse(readFileSync(path.join(dir, "filesystem-diff.json"), "utf8"))).toEqual([{ path: "/var/lib/distcheck-host/extensions", kind: "added" }]);
    // The timeline read at close is not an exchange of the test's.
    trace.exchange({ startedAt: performance.now(), method: "GET", path: "/api/events", port: 8080, status: 200, response: "[]" });
    expect(readFileSync(path.join(dir, "http.jsonl"), "utf8").trim().split("\n")).toHaveLength(2);
  });

  it("a stopped host has no timeline to read; the log and diff are still written", async () => {
    const root = tmp();
    const trace = HostTrace.open("c", "0123456789abcdef", { [TRACE_DIR_VARIABLE]: root })!;
    await trace.close({ log: "", running: false, events: async () => [] }, engine, "0123456789abcdef");
    expect(readdirSync(trace.dir).sort()).toEqual(["filesystem-diff.json", "host.log"]);
    expect(existsSync(path.join(trace.dir, "timeline.json"))).toBe(false);
  });
});
