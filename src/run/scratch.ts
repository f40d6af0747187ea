import { mkdirSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { currentRun, processAlive } from "./run-identity.ts";

const PREFIX = "distcheck-run-";

/**
 * This run's scratch folder: `$TMPDIR/distcheck-run-<owner pid>-<run id>`. Its name carries the
 * owner pid so a later run can tell that the run that made it is dead and remove it.
 */
export function scratchDir(env: NodeJS.ProcessEnv = process.env): string {
  const run = currentRun(env);
  const dir = path.join(os.tmpdir(), `${PREFIX}${run.ownerPid}-${run.runId}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Removes this run's scratch folder. */
export function removeScratchDir(env: NodeJS.ProcessEnv = process.env): void {
  const run = currentRun(env);
  rmSync(path.join(os.tmpdir(), `${PREFIX}${run.ownerPid}-${run.runId}`), { recursive: true, force: true });
}

/** Removes scratch folders whose owner process is gone; returns their names. */
export function sweepScratchDirs(tmp = os.tmpdir()): string[] {
  const removed: string[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(tmp);
  } catch {
    return removed;
  }
  for (const name of entries) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    rmSync(path.join(tmp, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
