import { spawn } from "node:child_process";
import os from "node:os";
import Docker from "dockerode";
import { afterAll, describe, expect, it } from "vitest";
import { DockerEngine } from "../engine/docker-engine.ts";
import { LABELS } from "./run-identity.ts";
import { sweep } from "./run-sweeper.ts";

// Proves the promise behind `kill -9`: a run whose owner process died leaves containers and
// networks that the next run's sweep removes, while a live run's resources are left alone.
const docker = new Docker();
const engine = new DockerEngine();
const image = async (): Promise<string> => {
  const images = await docker.listImages({ filters: { label: ["dev.distcheck.image=base"] } });
  const tag = images.flatMap((i) => i.RepoTags ?? []).find((t) => t.includes(":linux-x86_64-"));
  if (!tag) throw new Error("no linux-x86_64 base image: run `npx distcheck images build --base-only` first");
  return tag;
};
const created: string[] = [];

async function labelledContainer(runId: string, ownerPid: number): Promise<string> {
  const labels = { [LABELS.managed]: "true", [LABELS.run]: runId, [LABELS.ownerPid]: String(ownerPid), [LABELS.ownerHost]: os.hostname() };
  const c = await docker.createContainer({ Image: await image(), Cmd: ["sleep", "infinity"], Labels: labels, HostConfig: { NetworkMode: "none" } });
  await c.start();
  created.push(c.id);
  return c.id;
}

afterAll(async () => {
  await Promise.all(created.map((id) => docker.getContainer(id).remove({ force: true }).catch(() => undefined)));
});

describe("sweeping dead runs", () => {
  it("removes the containers and networks of a run whose owner was killed with SIGKILL", async () => {
    const owner = spawn("sleep", ["600"], { stdio: "ignore" });
    const runId = `sweep-test-${process.pid}-dead`;
    const id = await labelledContainer(runId, owner.pid!);
    const labels = { [LABELS.managed]: "true", [LABELS.run]: runId, [LABELS.ownerPid]: String(owner.pid), [LABELS.ownerHost]: os.hostname() };
    const net = await engine.createNetwork(`distcheck-${runId}`, { internal: true, labels });
    const exited = new Promise((r) => owner.once("exit", r));
    owner.kill("SIGKILL");
    await exited;

    const report = await sweep(engine);
    expect(report.containers.length).toBeGreaterThanOrEqual(1);
    expect(await engine.listContainers(`${LABELS.run}=${runId}`)).toEqual([]);
    expect(await engine.listNetworks(`${LABELS.run}=${runId}`)).toEqual([]);
    await expect(docker.getContainer(id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect(net.name).toContain(runId);
  }, 60_000);

  it("leaves a live run's containers alone, and removes them when that run ends", async () => {
    const runId = `sweep-test-${process.pid}-live`;
    await labelledContainer(runId, process.pid);
    await sweep(engine);
    expect(await engine.listContainers(`${LABELS.run}=${runId}`)).toHaveLength(1);

    await sweep(engine, { runId, ownerPid: process.pid, ownerHost: os.hostname() });
    expect(await engine.listContainers(`${LABELS.run}=${runId}`)).toEqual([]);
  }, 60_000);
});
