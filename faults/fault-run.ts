import path from "node:path";
import Docker from "dockerode";
import { execa, type ResultPromise } from "execa";
import { PACKAGE_ROOT } from "../src/matrix/selection.ts";
import { resultsDirOf } from "../src/report/publish-report.ts";
import { readRecords } from "../src/report/records-reader.ts";
import { LABELS } from "../src/run/run-identity.ts";

// What every fault test does: start a real `distcheck run` as CI does, wait for it to be busy, and
// look at what it left in the engine.

export const docker = new Docker();
export const FAULT_REPORTS = path.join(PACKAGE_ROOT, "reports", "faults");

/** Everything in the engine labelled with the run's id. */
export async function leftovers(runId: string): Promise<string[]> {
  const filters = { label: [`${LABELS.run}=${runId}`] };
  const containers = await docker.listContainers({ all: true, filters });
  const networks = await docker.listNetworks({ filters });
  return [...containers.map((c) => `container ${c.Names[0]} (${c.Labels["dev.distcheck.reaper"] ? "reaper" : c.Image})`), ...networks.map((n) => `network ${n.Name}`)];
}

/** Polls `probe` until it returns a value (the engine has no event for "a labelled thing is gone from a list"). */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Waits until nothing of the run is left, up to `timeoutMs`; returns what is left then. */
export async function leftAfter(runId: string, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let left = await leftovers(runId);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 500));
    left = await leftovers(runId);
  }
  return left;
}

/** The environment without any DISTCHECK_ variable a parent run or test left in it. */
export function withoutDistcheck(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => !e[0].startsWith("DISTCHECK_") && e[1] !== undefined));
}

export interface FaultRunOptions {
  runId: string;
  /** `distcheck run` arguments after `run` (filters, suites, --matrix). */
  args: string[];
  env?: Record<string, string>;
}

/** `distcheck run` as its own process group (as a CI job is), with a known run id and its own reports folder. */
export function startRun(options: FaultRunOptions): ResultPromise {
  return execa("node", ["bin/distcheck.js", "run", ...options.args, "--reports", FAULT_REPORTS], {
    cwd: PACKAGE_ROOT,
    detached: true,
    reject: false,
    all: true,
    // The run owns itself (its own pid), as a CI job's run does.
    extendEnv: false,
    env: { ...withoutDistcheck(process.env), DISTCHECK_RUN_ID: options.runId, CI: "", ...options.env },
  });
}

/** One suite on the native bookworm cell. */
export function nativeCellArgs(...suites: string[]): string[] {
  return ["--platform", "linux-x86_64", "--python", "3.11", ...suites.flatMap((s) => ["--suite", s])];
}

/** Waits until the run's suites have host containers up (not only its reaper). */
export async function suitesRunning(runId: string, platform?: string): Promise<void> {
  await until(`host containers of ${runId}`, async () => {
    const cs = await docker.listContainers({ filters: { label: [`${LABELS.run}=${runId}`] } });
    return cs.filter((c) => !c.Labels["dev.distcheck.reaper"] && c.Labels["dev.distcheck.cell"] && (!platform || c.Labels["dev.distcheck.cell"].startsWith(`${platform}.`))).length >= 1 ? true : undefined;
  }, 240_000);
}

/** Waits until `count` tests of the run have finished (their records are in its results folder; one written half counts as not yet). */
export async function testsFinished(runId: string, count: number): Promise<void> {
  await until(`${count} finished test(s) of ${runId}`, async () => (readRecords([resultsDirOf(FAULT_REPORTS, runId)]).size >= count ? true : undefined), 240_000);
}

/** Removes whatever of these runs is still in the engine (a failed test's leftovers). */
export async function removeRuns(runIds: readonly string[]): Promise<void> {
  for (const runId of runIds) {
    const filters = { label: [`${LABELS.run}=${runId}`] };
    for (const c of await docker.listContainers({ all: true, filters }).catch(() => [])) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    for (const n of await docker.listNetworks({ filters }).catch(() => [])) await docker.getNetwork(n.Id).remove().catch(() => undefined);
  }
}

/** The run's summary.json. */
export function summaryPath(runId: string): string {
  return path.join(FAULT_REPORTS, runId, "summary.json");
}
