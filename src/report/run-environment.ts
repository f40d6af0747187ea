import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { ContainerEngine } from "../engine/container-engine.ts";
import { RECORDS_DIR } from "./test-record.ts";

/** What a run ran on; the report shows it as the Allure environment. */
export interface RunEnvironment {
  harnessVersion: string;
  engines: Record<string, string>;
  images: Record<string, { base: string; baseId?: string; host: string; hostId?: string }>;
  timingFactors: Record<string, number>;
  /** Platforms the run covered (its matrix after filters). */
  platforms: string[];
  /** The reference host's version (older runs); `hostVersions` has every host's. */
  hostVersion?: string;
  /** host id → the version under test of that host. */
  hostVersions?: Record<string, string>;
  mutant?: string;
  /** Fixture file (relative to fixtures/dist) → sha256 of the bytes the run installed; `distcheck repro` compares them. */
  fixtures?: Record<string, string>;
}

const FILE = "environment.json";

export async function writeRunEnvironment(resultsDir: string, engines: ContainerEngine[], images: Record<string, { base: string; host: string }>, timingFactors: Record<string, number | undefined>, platforms: string[], hostVersions: Record<string, string> = {}, fixtures?: Record<string, string>): Promise<void> {
  const root = path.resolve(import.meta.dirname, "../..");
  const env: RunEnvironment = {
    harnessVersion: (JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { version: string }).version,
    engines: {},
    images: {},
    platforms,
    timingFactors: Object.fromEntries(Object.entries(timingFactors).filter((e): e is [string, number] => e[1] !== undefined)),
    hostVersion: hostVersions.reference,
    hostVersions,
    mutant: process.env.DISTCHECK_MUTANT || undefined,
    fixtures,
  };
  for (const engine of engines) env.engines[engine.endpoint] = (await engine.version()).version;
  const inspect = engines[0];
  for (const [cell, tags] of Object.entries(images)) {
    env.images[cell] = { ...tags, baseId: (await inspect?.inspectImage(tags.base))?.id, hostId: (await inspect?.inspectImage(tags.host))?.id };
  }
  mkdirSync(path.join(resultsDir, RECORDS_DIR), { recursive: true });
  writeFileSync(path.join(resultsDir, RECORDS_DIR, FILE), JSON.stringify(env, null, 2));
}

/** The environments of one or more results dirs (shards), merged. */
export function readRunEnvironment(resultsDirs: string[]): RunEnvironment | undefined {
  let merged: RunEnvironment | undefined;
  for (const dir of resultsDirs) {
    let env: RunEnvironment;
    try {
      env = JSON.parse(readFileSync(path.join(dir, RECORDS_DIR, FILE), "utf8")) as RunEnvironment;
    } catch {
      continue;
    }
    merged = merged
      ? { ...merged, hostVersions: { ...merged.hostVersions, ...env.hostVersions }, platforms: [...new Set([...merged.platforms, ...env.platforms])], engines: { ...merged.engines, ...env.engines }, images: { ...merged.images, ...env.images }, fixtures: merged.fixtures || env.fixtures ? { ...merged.fixtures, ...env.fixtures } : undefined, timingFactors: { ...merged.timingFactors, ...env.timingFactors } }
      : env;
  }
  return merged;
}
