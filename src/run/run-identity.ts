import { randomBytes } from "node:crypto";
import os from "node:os";

/** Label keys on everything distcheck creates in an engine. */
export const LABELS = {
  /** Present on every container, network and image distcheck creates. */
  managed: "dev.distcheck.managed",
  /** The run that created a container or network. */
  run: "dev.distcheck.run",
  /** The pid of the process that owns the run; when it is gone, the run is dead. */
  ownerPid: "dev.distcheck.owner-pid",
  /** The machine of that process (pids mean nothing across machines sharing an engine). */
  ownerHost: "dev.distcheck.owner-host",
  /** Kept for a person by `distcheck repro --keep` (the repro id): no sweep removes it; `distcheck repro --clean` does. */
  kept: "dev.distcheck.kept",
} as const;

/** Set (to the repro id) in the vitest process of a `distcheck repro --keep` try: what it creates is labelled kept. */
export const KEEP_VARIABLE = "DISTCHECK_KEEP";

/** Who a run is: its id, and the process whose death makes it sweepable. */
export interface RunIdentity {
  runId: string;
  ownerPid: number;
  ownerHost: string;
}

function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return `${stamp}-${randomBytes(3).toString("hex")}`;
}

/**
 * The current run, shared by the CLI and the vitest processes it starts through the environment
 * (`DISTCHECK_RUN_ID`, `DISTCHECK_OWNER_PID`). A process started without them owns a new run.
 */
export function currentRun(env: NodeJS.ProcessEnv = process.env): RunIdentity {
  if (!env.DISTCHECK_RUN_ID) {
    env.DISTCHECK_RUN_ID = newRunId();
    env.DISTCHECK_OWNER_PID = String(process.pid);
  }
  // A run id given without an owner (a person or a test naming the run) is owned by this process: an
  // empty owner must never read as pid 0, which every sweep would take for a dead run's.
  if (!env.DISTCHECK_OWNER_PID || !(Number(env.DISTCHECK_OWNER_PID) > 0)) env.DISTCHECK_OWNER_PID = String(process.pid);
  return { runId: env.DISTCHECK_RUN_ID, ownerPid: Number(env.DISTCHECK_OWNER_PID), ownerHost: os.hostname() };
}

export function runLabels(run: RunIdentity = currentRun(), env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const keep = env[KEEP_VARIABLE];
  return { [LABELS.managed]: "true", [LABELS.run]: run.runId, [LABELS.ownerPid]: String(run.ownerPid), [LABELS.ownerHost]: run.ownerHost, ...(keep ? { [LABELS.kept]: keep } : {}) };
}

/** True when `pid` names a live process on this machine. */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
