import path from "node:path";
import Docker from "dockerode";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../matrix/selection.ts";
import { LABELS } from "./run-identity.ts";

// The reaper outlives its run: when every process of a run dies at once (kill -9 of the process group,
// as CI cancels a job), the reaper removes the run's containers and networks, then itself, with no
// later distcheck command.
const docker = new Docker();
const runIds: string[] = [];

async function leftovers(runId: string): Promise<string[]> {
  const filters = { label: [`${LABELS.run}=${runId}`] };
  const containers = await docker.listContainers({ all: true, filters });
  const networks = await docker.listNetworks({ filters });
  return [...containers.map((c) => `container ${c.Names[0]}`), ...networks.map((n) => `network ${n.Name}`)];
}

afterAll(async () => {
  for (const runId of runIds) {
    const filters = { label: [`${LABELS.run}=${runId}`] };
    for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove().catch(() => undefined);
  }
});

async function baseImage(): Promise<string> {
  const images = await docker.listImages({ filters: { label: ["dev.distcheck.image=base"] } });
  const tag = images.flatMap((i) => i.RepoTags ?? []).find((t) => t.includes(":linux-x86_64-"));
  if (!tag) throw new Error("no linux-x86_64 base image: run `npx distcheck images build --base-only` first");
  return tag;
}

describe("the reaper", () => {
  for (const how of ["the process group", "every process at once"] as const) {
    it(`removes a run's containers and network, then itself, within 30 s of SIGKILL to ${how}`, async () => {
      const runId = `reaper-test-${process.pid}-${runIds.length}`;
      runIds.push(runId);
      const child = execa("node", ["--import", "tsx", path.join(PACKAGE_ROOT, "src/run/reaper-holder.ts"), await baseImage()], {
        cwd: PACKAGE_ROOT,
        detached: true,
        reject: false,
        env: { DISTCHECK_RUN_ID: runId, DISTCHECK_OWNER_PID: String(process.pid), TESTCONTAINERS_RYUK_DISABLED: "true" },
      });
      const holding = await new Promise<string>((resolve, reject) => {
        child.stdout!.on("data", (d: Buffer) => (d.toString().startsWith("holding") ? resolve(d.toString()) : undefined));
        void child.then((r) => reject(new Error(`the holder ended first: ${r.stdout} ${r.stderr}`)));
      });
      expect(holding).toMatch(/^holding [0-9a-f]{64} [0-9a-f]{64}/);
      expect((await leftovers(runId)).length, "the reaper, a run container and the run network exist").toBe(3);
      if (how === "the process group") process.kill(-child.pid!, "SIGKILL");
      else {
        // cgroup-style: every descendant at the same moment.
        const { stdout } = await execa("sh", ["-c", `pgrep -g ${child.pid!} || true`]);
        for (const pid of stdout.split("\n").filter(Boolean).map(Number)) process.kill(pid, "SIGKILL");
      }
      await child;
      const deadline = Date.now() + 30_000;
      let left = await leftovers(runId);
      while (left.length > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        left = await leftovers(runId);
      }
      expect(left, "left 30 s after the kill").toEqual([]);
    }, 90_000);
  }
});
