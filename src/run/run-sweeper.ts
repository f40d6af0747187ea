import os from "node:os";
import type { ContainerEngine } from "../engine/container-engine.ts";
import { LABELS, processAlive, type RunIdentity } from "./run-identity.ts";
import { sweepScratchDirs } from "./scratch.ts";

export interface SweepReport {
  containers: string[];
  networks: string[];
  scratchDirs: string[];
}

/**
 * Removes what runs left behind: with `run`, everything labelled with that run (the end of a
 * run); without, everything whose owner process on this machine is dead (the start of a run,
 * after a `kill -9`). Resources owned by live processes or other machines are left alone, and so
 * is what `distcheck repro --keep` kept (label `dev.distcheck.kept`).
 */
export async function sweep(engine: ContainerEngine, run?: RunIdentity): Promise<SweepReport> {
  const host = os.hostname();
  const select = (labels: Record<string, string>): boolean => {
    // What `distcheck repro --keep` left for a person stays until `distcheck repro --clean`.
    if (labels[LABELS.kept]) return false;
    if (run) return labels[LABELS.run] === run.runId;
    if (labels[LABELS.ownerHost] !== host) return false;
    return !processAlive(Number(labels[LABELS.ownerPid]));
  };
  const filter = run ? `${LABELS.run}=${run.runId}` : LABELS.managed;
  const containers = (await engine.listContainers(filter)).filter((c) => select(c.labels));
  await Promise.all(containers.map((c) => engine.removeContainer(c.id)));
  // Networks after containers: a network with endpoints cannot be removed.
  const networks = (await engine.listNetworks(filter)).filter((n) => select(n.labels));
  await Promise.all(networks.map((n) => engine.removeNetwork(n.id)));
  return { containers: containers.map((c) => c.name), networks: networks.map((n) => n.name), scratchDirs: run ? [] : sweepScratchDirs() };
}
