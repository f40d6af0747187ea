import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DockerEngine } from "../engine/docker-engine.ts";
import { LABELS } from "../run/run-identity.ts";
import { sweep } from "../run/run-sweeper.ts";

// A mutation run killed with SIGKILL leaves no container once its parent is gone: its vitest jobs
// watch the pid of the process that started them (DISTCHECK_PARENT_PID) and remove what their run
// created when it dies, with no later distcheck command.
const ROOT = path.resolve(import.meta.dirname, "../..");
const engine = new DockerEngine();
const managed = async (): Promise<Set<string>> => new Set((await engine.listContainers(LABELS.managed)).map((c) => c.id));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterAll(async () => {
  // Whatever a failed assertion left is swept (its owner is dead by now).
  await sweep(engine);
});

describe("a killed mutation run", () => {
  it("leaves no container of its own within 30 s of a kill -9 of its process", async () => {
    const before = await managed();
    const child = spawn(process.execPath, [path.join(ROOT, "bin/distcheck.js"), "mutants", "--only", "whl11-setup-failure-unreported", "--platform", "linux-x86_64"], {
      cwd: ROOT,
      stdio: "ignore",
      env: { ...process.env, DISTCHECK_SKIP_IMAGE_BUILD: "" },
    });
    const exited = new Promise((r) => child.once("exit", r));
    // Wait for the run's first containers (the baseline job's cells).
    let ours: string[] = [];
    for (let waited = 0; ours.length === 0 && waited < 240_000; waited += 500) {
      await sleep(500);
      ours = [...(await managed())].filter((id) => !before.has(id));
    }
    expect(ours.length, "the mutation run started containers").toBeGreaterThan(0);
    child.kill("SIGKILL");
    await exited;
    const killedAt = performance.now();
    let left = ours;
    while (left.length > 0 && performance.now() - killedAt < 30_000) {
      await sleep(500);
      const now = await managed();
      left = [...now].filter((id) => !before.has(id));
    }
    expect(left, "containers of the killed mutation run still there 30 s after the kill").toEqual([]);
  }, 360_000);
});
