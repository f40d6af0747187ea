import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
import Docker from "dockerode";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerEngine, dockerOptions } from "./docker-engine.ts";
import { plannedImages } from "../images/image-planner.ts";
import { PACKAGE_ROOT, select } from "../matrix/selection.ts";
import type { ReportSummary } from "../report/report-summary.ts";
import { startReaper, REAPER_LABEL } from "../run/reaper.ts";
import { LABELS, runLabels, type RunIdentity } from "../run/run-identity.ts";
import { secondEngineUnavailable, startSecondEngine, type SecondEngine } from "../testing/second-engine.ts";
import { tempDirs } from "../testing/temp-dirs.ts";

// A platform pointed at another Docker engine (matrix.platforms[].engine) runs there end to end:
// images, reaper, sweeps, the engine watch and every container of its cells, and nothing of it on
// the machine's own engine. The other engine is a second dockerd this file starts on
// tcp://127.0.0.1:2376 (the port Docker clients take for TLS: docker-modem did, and testcontainers
// failed with "Could not find a working container runtime strategy"), with the images the cell
// needs loaded from the machine's engine (a debootstrap build would take minutes).

const unavailable = secondEngineUnavailable();
const tmp = tempDirs("distcheck-second-engine-test-");
const main = new Docker(dockerOptions(new DockerEngine().endpoint));
const CELL = "linux-x86_64.bookworm.reference";
const runIds: string[] = [];

/** What carries a run's label on an engine. */
async function leftovers(docker: Docker, runId: string): Promise<string[]> {
  const filters = { label: [`${LABELS.run}=${runId}`] };
  const containers = await docker.listContainers({ all: true, filters });
  const networks = await docker.listNetworks({ filters });
  return [...containers.map((c) => `container ${c.Names[0]} (${c.Image})`), ...networks.map((n) => `network ${n.Name}`)];
}

/** Every event of an engine about what carries the run's label, from now until `stop`. */
async function recordEvents(docker: Docker, runId: string): Promise<{ events: Array<{ Type: string; Action: string; Actor: { Attributes: Record<string, string> } }>; stop(): Promise<void> }> {
  const stream = (await docker.getEvents({ filters: { label: [`${LABELS.run}=${runId}`] } })) as unknown as Readable;
  const events: Array<{ Type: string; Action: string; Actor: { Attributes: Record<string, string> } }> = [];
  let rest = "";
  stream.on("data", (chunk: Buffer) => {
    const lines = (rest + chunk.toString("utf8")).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) events.push(JSON.parse(line));
  });
  return {
    events,
    async stop() {
      // The engine sends an event a moment after the call that caused it.
      await new Promise((r) => setTimeout(r, 1_000));
      stream.destroy();
    },
  };
}

describe.skipIf(unavailable !== undefined)(`a platform on a second Docker engine${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  let second: SecondEngine;
  let matrixFile: string;
  let baseTag: string;

  beforeAll(async () => {
    second = await startSecondEngine({ preferredPort: 2376 });
    if (!second.endpoint.endsWith(":2376")) console.warn(`port 2376 is taken here: the second engine listens on ${second.endpoint}, where no client infers TLS from the port`);
    const dir = tmp();
    matrixFile = path.join(dir, "matrix.json");
    writeFileSync(
      matrixFile,
      JSON.stringify({
        platforms: [{ id: "linux-x86_64", engine: second.endpoint }],
        bases: [{ id: "bookworm", image: "bookworm", python: "3.11" }],
        hosts: [{ id: "reference", adapter: "reference", source: path.join(PACKAGE_ROOT, "hosts/reference") }],
        suites: ["host-boot"],
      }),
    );
    // The cell's images, as the project names them, from the machine's engine (`npm test` builds them
    // there before this project runs), into the second one.
    const targets = plannedImages(select({ matrix: matrixFile, platform: ["linux-x86_64"], python: ["3.11"] })).flatMap((p) => p.targets);
    baseTag = targets.find((t) => t.kind === "base")!.tag;
    const into = new DockerEngine(second.endpoint);
    for (const target of targets) {
      if (!(await main.getImage(target.tag).inspect().then(() => true, () => false))) throw new Error(`the machine's engine has no ${target.tag}: run \`npx distcheck images build --platform linux-x86_64 --python 3.11\` first`);
      await into.loadImage((await main.getImage(target.tag).get()) as unknown as Readable);
    }
  }, 120_000);

  afterAll(async () => {
    await second?.stop();
    // Nothing of these runs should be on the machine's engine; if a failure left some, it goes.
    for (const runId of runIds) {
      const filters = { label: [`${LABELS.run}=${runId}`] };
      for (const c of await main.listContainers({ all: true, filters })) await main.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
      for (const n of await main.listNetworks({ filters })) await main.getNetwork(n.Id).remove().catch(() => undefined);
    }
  }, 60_000);

  it(`runs a suite on ${CELL} there, its reaper and containers included, and creates nothing on the machine's engine`, async () => {
    const runId = `second-engine-${process.pid}-${Date.now()}`;
    runIds.push(runId);
    const reports = tmp();
    const onMain = await recordEvents(main, runId);
    const onSecond = await recordEvents(second.docker, runId);
    const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => !e[0].startsWith("DISTCHECK_") && e[1] !== undefined));
    const run = await execa("node", ["bin/distcheck.js", "run", "--matrix", matrixFile, "--platform", "linux-x86_64", "--python", "3.11", "--suite", "host-boot", "--reports", reports], {
      cwd: PACKAGE_ROOT,
      reject: false,
      all: true,
      extendEnv: false,
      env: { ...env, DISTCHECK_RUN_ID: runId, CI: "" },
      timeout: 240_000,
    });
    await Promise.all([onMain.stop(), onSecond.stop()]);
    expect(run.exitCode, String(run.all).slice(-3000)).toBe(0);
    const summary = JSON.parse(readFileSync(path.join(reports, runId, "summary.json"), "utf8")) as ReportSummary;
    expect(summary.totals.failed, JSON.stringify(summary.totals)).toBe(0);
    expect(summary.totals.passed).toBeGreaterThan(0);
    expect(summary.gate.passed, summary.gate.reasons.join("; ")).toBe(true);

    const created = onSecond.events.filter((e) => e.Type === "container" && e.Action === "create").map((e) => e.Actor.Attributes);
    expect(created.filter((a) => a["dev.distcheck.cell"] === CELL).length, "the cell's containers ran on the second engine").toBeGreaterThan(0);
    expect(created.filter((a) => a[REAPER_LABEL]).length, "the run's reaper ran on the second engine").toBe(1);
    expect(onMain.events.map((e) => `${e.Type} ${e.Action} ${e.Actor.Attributes.name ?? ""}`), "nothing of the run on the machine's engine").toEqual([]);
    expect(await leftovers(second.docker, runId), "the run removed what it created").toEqual([]);
    expect(await leftovers(main, runId)).toEqual([]);
  }, 240_000);

  it("has a reaper that removes what a dead run left on that engine, not on the machine's", async () => {
    const run: RunIdentity = { runId: `second-engine-reaper-${process.pid}-${Date.now()}`, ownerPid: process.pid, ownerHost: os.hostname() };
    runIds.push(run.runId);
    const reaper = await startReaper(second.endpoint, run, { graceS: 1 });
    if ("skipped" in reaper) throw new Error(`no reaper on the second engine: ${reaper.skipped}`);
    const container = await second.docker.createContainer({ Image: baseTag, Cmd: ["sleep", "infinity"], Labels: runLabels(run), HostConfig: { NetworkMode: "none" } });
    await container.start();
    await second.docker.createNetwork({ Name: `distcheck-${run.runId}`, Internal: true, Labels: runLabels(run) });
    expect((await leftovers(second.docker, run.runId)).length, "the reaper, a run container and a run network").toBe(3);
    // The run's connection drops, as when every process of the run is killed.
    reaper.close();
    const deadline = Date.now() + 20_000;
    let left = await leftovers(second.docker, run.runId);
    while (left.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      left = await leftovers(second.docker, run.runId);
    }
    expect(left, `left on the second engine 20 s after the run's connection dropped; the reaper's log:\n${await reaperLog(second.docker, reaper.containerId)}`).toEqual([]);
  }, 60_000);
});

/** A container's log (its frames' payloads), for a failure message. */
async function reaperLog(docker: Docker, id: string): Promise<string> {
  const log = await docker.getContainer(id).logs({ stdout: true, stderr: true }).then((b) => Buffer.from(b as unknown as Buffer), (e: Error) => Buffer.from(e.message));
  let text = "";
  for (let at = 0; at + 8 <= log.length; at += 8 + log.readUInt32BE(at + 4)) text += log.subarray(at + 8, at + 8 + log.readUInt32BE(at + 4)).toString("utf8");
  return (text || log.toString("utf8")).slice(-2000);
}
