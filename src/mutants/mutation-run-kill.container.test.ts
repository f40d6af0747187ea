import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import Docker from "dockerode";
import { afterAll, describe, expect, it } from "vitest";
import { DockerEngine } from "../engine/docker-engine.ts";
import { LABELS } from "../run/run-identity.ts";
import { sweep } from "../run/run-sweeper.ts";

// A mutation run killed with SIGKILL leaves no container and no job once its parent is gone, with no
// later distcheck command (the issue asks within 30 s; this checks 15 s). Its vitest jobs watch the
// pid of the process that started them (DISTCHECK_PARENT_PID), drop writes to the dead parent's
// pipes instead of dying of EPIPE, and sweep their run until it stays empty. The jobs here are short,
// so this proves nothing is left behind, not which of those mechanisms did it.
const ROOT = path.resolve(import.meta.dirname, "../..");
const engine = new DockerEngine();
const docker = new Docker();
const managed = async (): Promise<Set<string>> => new Set((await engine.listContainers(LABELS.managed)).map((c) => c.id));
/** Containers of distcheck running a host image: the cells of a suite, which live until their suite ends (not the short timing probe). */
const cellContainers = async (): Promise<string[]> =>
  (await docker.listContainers({ all: true, filters: { label: [LABELS.managed] } })).filter((c) => c.Image.startsWith("distcheck/host-")).map((c) => c.Id);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Pids of running `vitest run --project conformance` processes (a mutation job; nothing else runs the conformance project during the harness tests). */
const vitestJobs = (): number[] => {
  const r = spawnSync("pgrep", ["-f", "vitest run --project conformance"], { encoding: "utf8" });
  return r.stdout.split("\n").filter(Boolean).map(Number);
};

afterAll(async () => {
  // Whatever a failed assertion left is swept (its owner is dead by now).
  await sweep(engine);
});

describe("a killed mutation run", () => {
  // Killed while its job holds containers: the job must remove them and exit.
  it("leaves no container of its own within 15 s of a kill -9 of its process", async () => {
    const before = await managed();
    const child = spawn(process.execPath, [path.join(ROOT, "bin/distcheck.js"), "mutants", "--only", "whl11-setup-failure-unreported", "--platform", "linux-x86_64"], {
      cwd: ROOT,
      stdio: "ignore",
      // As a person starts it: none of this test runner's own VITEST_* settings (a nested vitest would take them).
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("VITEST") && !k.startsWith("DISTCHECK_") && k !== "NODE_ENV" && k !== "TEST")),
    });
    const exited = new Promise((r) => child.once("exit", r));
    // Wait until the run's suites hold host containers (the baseline job's cells), which stay up until
    // their suite ends: only the parent-pid watch can remove them in time once the run is killed.
    let ours: string[] = [];
    for (let waited = 0; ours.length === 0 && waited < 240_000; waited += 500) {
      await sleep(500);
      ours = (await cellContainers()).filter((id) => !before.has(id));
    }
    expect(ours.length, "the mutation run started host containers").toBeGreaterThan(0);
    const jobs = vitestJobs();
    expect(jobs.length, "the mutation run's vitest job is running").toBeGreaterThan(0);
    child.kill("SIGKILL");
    await exited;
    // The job watches the dead parent, removes its run's containers and exits: both must hold within
    // 15 s. Without the watch the job runs on to its end (half a minute and more) with its containers.
    const killedAt = performance.now();
    let state = { jobs, left: ours };
    while ((state.jobs.length > 0 || state.left.length > 0) && performance.now() - killedAt < 15_000) {
      await sleep(500);
      state = { jobs: jobs.filter((pid) => vitestJobs().includes(pid)), left: [...(await managed())].filter((id) => !before.has(id)) };
    }
    expect(state.jobs, "the killed run's vitest job still running 15 s after the kill").toEqual([]);
    expect(state.left, "containers of the killed mutation run still there 15 s after the kill").toEqual([]);
  }, 360_000);
});
