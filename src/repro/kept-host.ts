import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import type { ContainerEngine } from "../engine/container-engine.ts";
import { LABELS } from "../run/run-identity.ts";

/** A host `--keep` left running, as the try's BootedHost recorded it (`kept.json` in its trace). */
export interface KeptHost {
  containerId: string;
  containerName: string;
  cell: string;
  /** The host's URL on the run network (reachable from this machine and from other containers on it). */
  url: string;
  network: string;
}

export const KEPT_FILE = "kept.json";

/** The hosts a try kept, from its trace folder. */
export function keptHosts(tryDir: string): KeptHost[] {
  if (!existsSync(tryDir)) return [];
  return readdirSync(tryDir)
    .filter((d) => d.startsWith("host-") && existsSync(path.join(tryDir, d, KEPT_FILE)))
    .map((d) => JSON.parse(readFileSync(path.join(tryDir, d, KEPT_FILE), "utf8")) as KeptHost);
}

/** `docker exec -it ... sh` for a kept container, with `DOCKER_HOST` when the engine is not the local socket. */
export function execLine(kept: KeptHost, endpoint: string): string {
  const prefix = endpoint && endpoint !== "unix:///var/run/docker.sock" ? `DOCKER_HOST=${endpoint} ` : "";
  return `${prefix}docker exec -it ${kept.containerName} sh`;
}

/**
 * Removes what `--keep` left: containers labelled kept (by `reproId`, or every repro's), then their
 * networks. Nothing else: a run's sweep leaves kept resources alone, and this touches nothing else.
 */
export async function cleanKept(engine: ContainerEngine, reproId?: string): Promise<{ containers: string[]; networks: string[] }> {
  const filter = reproId ? `${LABELS.kept}=${reproId}` : LABELS.kept;
  const containers = await engine.listContainers(filter);
  await Promise.all(containers.map((c) => engine.removeContainer(c.id)));
  const networks = await engine.listNetworks(filter);
  await Promise.all(networks.map((n) => engine.removeNetwork(n.id)));
  return { containers: containers.map((c) => c.name), networks: networks.map((n) => n.name) };
}

/**
 * Which try's hosts a `--keep` replay leaves up once a try ends: the newest failed try (its host as
 * the test left it at the failure, teardown skipped), else the newest try. Returns the try kept and
 * the one whose hosts are released now, if any.
 */
export function keptTryAfter<T extends { failed: boolean }>(kept: T | undefined, latest: T): { keep: T; release?: T } {
  if (!kept) return { keep: latest };
  if (kept.failed && !latest.failed) return { keep: kept, release: latest };
  return { keep: latest, release: kept };
}

/** Removes the hosts one try kept and their network (others of the same repro stay). */
export async function releaseTry(engine: ContainerEngine, tryDir: string): Promise<void> {
  const hosts = keptHosts(tryDir);
  await Promise.all(hosts.map((h) => engine.removeContainer(h.containerId)));
  for (const network of new Set(hosts.map((h) => h.network))) await engine.removeNetwork(network).catch(() => undefined);
}
