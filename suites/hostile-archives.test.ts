import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HostileIndexEntry } from "../src/fixtures/build/fixture-index.ts";
import type { HostileCorpusDeclaration, HostileLimits } from "../src/fixtures/declarations/fixture-declaration.ts";
import type { BootedHost } from "../src/hosts/booted-host.ts";
import type { HostSettings } from "../src/hosts/host-adapter.ts";
import type { InstallAnswer } from "../src/hosts/host-wire.ts";
import type { Cell } from "../src/matrix/matrix.ts";
import { suiteCells, PROJECT_ROOT } from "./support/cells.ts";
import { DownloadSidecar, networkOf } from "./support/download-sidecar.ts";
import { archive, containerPath, fixtureIndex, hostileEntries } from "./support/fixture-files.ts";
import {
  describeDiff,
  diffSnapshots,
  diffWithin,
  hashTree,
  prepareHarnessDir,
  snapshotFilesystem,
  unexpectedDataDirChanges,
  watchGrowth,
  type FilesystemSnapshot,
  type GrowthReport,
  type SnapshotDiff,
} from "./support/filesystem-snapshot.ts";
import { adapterOf, attachOnFailure, bootHost, timingFactorOf } from "./support/host.ts";
import { installArchive, runningPid, setupInstall } from "./support/agent.ts";

// Every hostile archive of the corpus, installed from a file in the container and from a URL on
// the run's internal network, must be refused with the code the corpus predicts (ARC-01, ARC-04,
// ARC-05, ARC-06) and leave no trace (ARC-07): the data directory holds exactly what it held
// before, the refused version has no directory, nothing outside the data directory changed, and
// the version installed before (same extension id, another version) still runs and still starts.
// Entries the corpus predicts `installed` are checked as declared (`checks`).

const cells = suiteCells("hostile-archives");
/** The ARC-05 settings a corpus entry may declare limits for. */
type LimitSettings = Pick<HostSettings, "maxExtractedBytes" | "maxFiles">;
/** The setting of each limit as the corpus declares it (its names are the corpus's own). */
const LIMIT_SETTING: Record<keyof HostileLimits, keyof LimitSettings> = { max_extracted_bytes: "maxExtractedBytes", max_files: "maxFiles" };
/** ARC-05 limits of the contract, the host's defaults. */
const CONTRACT_LIMITS: Required<LimitSettings> = { maxExtractedBytes: 2 * 1024 ** 3, maxFiles: 10_000 };
/** The id every refused archive is installed under: the id of the previously installed version. */
const TARGET_ID = "distcheck.hostile-target";

const corpus = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "fixtures", "hostile", "corpus.json"), "utf8")) as HostileCorpusDeclaration;
/** Hostile archives are the corpus base plus their entries: the base's version is theirs. */
const hostileVersion = archive(corpus.base, "tar.gz").version;
/** The previous version: a benign archive of another version, installed first under TARGET_ID. */
const previous = archive("arc-basic-next", "tar.gz");
if (previous.version === hostileVersion) throw new Error(`arc-basic-next must not have the hostile base's version ${hostileVersion}: a refusal would be indistinguishable from already_installed`);

type Via = "file" | "url";
const VIAS: Via[] = ["file", "url"];

/** One host per set of limits; entries declaring the contract's own limits use the default host. */
interface HostGroup {
  /** Named after the limits as the corpus declares them (`max_files=100`); test titles carry it. */
  name: string;
  settings: LimitSettings;
  entries: HostileIndexEntry[];
}

function nonDefaultLimits(entry: HostileIndexEntry): LimitSettings {
  const out: LimitSettings = {};
  for (const [k, v] of Object.entries(entry.limit ?? {}) as Array<[keyof HostileLimits, number]>) if (v !== CONTRACT_LIMITS[LIMIT_SETTING[k]]) out[LIMIT_SETTING[k]] = v;
  return out;
}

/** The corpus's name of a limit setting. */
const declaredName = (setting: keyof LimitSettings): keyof HostileLimits => (Object.keys(LIMIT_SETTING) as Array<keyof HostileLimits>).find((k) => LIMIT_SETTING[k] === setting)!;

// Entries with small declared limits share one host when their limits do not conflict (bomb-small
// declares max_extracted_bytes, too-many-files-small max_files: each is far from the other's limit).
function hostGroups(entries: HostileIndexEntry[]): HostGroup[] {
  const groups: HostGroup[] = [{ name: "contract limits", settings: {}, entries: [] }];
  for (const entry of entries) {
    const limits = nonDefaultLimits(entry);
    if (Object.keys(limits).length === 0) {
      groups[0]!.entries.push(entry);
      continue;
    }
    let group = groups.slice(1).find((g) => Object.entries(limits).every(([k, v]) => g.settings[k as keyof LimitSettings] === undefined || g.settings[k as keyof LimitSettings] === v));
    if (!group) {
      group = { name: "", settings: {}, entries: [] };
      groups.push(group);
    }
    Object.assign(group.settings, limits);
    group.entries.push(entry);
  }
  for (const g of groups.slice(1)) g.name = `small limits ${Object.entries(g.settings).map(([k, v]) => `${declaredName(k as keyof LimitSettings)}=${v}`).join(" ")}`;
  return groups;
}

const groups = hostGroups(hostileEntries());
const codesOf = (value: string | string[] | undefined): string[] => (value === undefined ? [] : [value].flat());
const limitsOf = (group: HostGroup): Required<LimitSettings> => ({ ...CONTRACT_LIMITS, ...group.settings });

function expectationText(entry: HostileIndexEntry): string {
  const p = entry.predicted;
  if (p.outcome === "installed") return `installs, checked for ${(p.checks ?? []).join(", ")}`;
  const reason = codesOf(p.reason);
  return `is refused with ${codesOf(p.code).join(" or ")}${reason.length ? ` (${reason.join(" or ")})` : ""}`;
}

/** An entry name as a message may quote it: raw, or with JSON / Python escapes. */
function quotedForms(name: string): string[] {
  return [...new Set([name, JSON.stringify(name).slice(1, -1), name.replace(/\\/g, "\\\\")])];
}

/** Hostile entry paths of a corpus entry that must exist after an `installed` outcome. */
function declaredPaths(name: string): string[] {
  const decl = corpus.entries.find((e) => e.name === name);
  if (!decl) throw new Error(`corpus entry ${name} is in the index but not in fixtures/hostile/corpus.json`);
  return decl.entries.filter((e) => e.type === "file").map((e) => e.path);
}

/** Checks the corpus may declare for an `installed` outcome, on the installed code/ files. */
const CHECKS: Record<string, { bits: number; what: string }> = {
  "no-setuid": { bits: 0o4000, what: "setuid" },
  "no-setgid": { bits: 0o2000, what: "setgid" },
  "not-world-writable": { bits: 0o0002, what: "world-writable" },
};

interface HostState {
  group: HostGroup;
  host: BootedHost;
  /** Data directory as the last test left it. */
  baseline: FilesystemSnapshot;
  /** The whole container filesystem after setup, before the first hostile install. */
  fullBefore: FilesystemSnapshot;
  previousPid: number;
  previousCode: string;
  refusals: number;
}

/** An install refusal; INTERFACE.md lets unsafe_entry carry its reason and entry in fields of their own. */
type InstallError = NonNullable<InstallAnswer["error"]> & { reason?: string; entry?: string };

describe.concurrent.each(cells)("hostile archives on $id", (cell: Cell) => {
  const factor = timingFactorOf(cell);
  /** The data directory of every host here (none sets one); test titles name it. */
  const dataDir = adapterOf(cell).dataDir;
  const states = new Map<HostGroup, HostState>();
  let sidecar: DownloadSidecar | undefined;

  beforeAll(async () => {
    const booted = await Promise.all(
      groups.map(async (group) => {
        const host = await bootHost(cell, { files: [...group.entries, previous], settings: group.settings });
        return { group, host };
      }),
    );
    for (const { group, host } of booted) states.set(group, { group, host } as HostState);
    sidecar = await DownloadSidecar.start(cell, await networkOf(booted[0]!.host.container), [...hostileEntries(), previous], factor);
    await Promise.all(
      booted.map(async ({ group, host }) => {
        const state = states.get(group)!;
        await prepareHarnessDir(host.container);
        state.previousPid = await setupInstall(host, previous, TARGET_ID, 30_000 * factor);
        state.previousCode = await hashTree(host.container, `${host.dataDir}/extensions/${TARGET_ID}/${previous.version}/code`);
        // A hard ceiling on any one file the host writes: a host that writes a bomb's member past the
        // extraction limit gets EFBIG (Python ignores SIGXFSZ) and cannot answer the predicted code.
        const ceiling = limitsOf(group).maxExtractedBytes + 64 * 1024;
        const tooBig = group.entries.filter((e) => e.size > ceiling);
        if (tooBig.length > 0) throw new Error(`setup: archives larger than the file-size ceiling ${ceiling}: ${tooBig.map((e) => e.file).join(", ")}`);
        const lim = await host.container.exec(["sh", "-c", `python3 -c 'import resource, sys; resource.prlimit(int(sys.argv[1]), resource.RLIMIT_FSIZE, (int(sys.argv[2]), int(sys.argv[2])))' "$(cat ${host.adapter.pidFile})" ${ceiling}`]);
        if (lim.exitCode !== 0) throw new Error(`setup: could not set RLIMIT_FSIZE on the host: ${lim.stderr}`);
        state.fullBefore = await snapshotFilesystem(host.container);
        state.baseline = await snapshotFilesystem(host.container, { root: host.dataDir });
        state.refusals = 0;
      }),
    );
  }, 600_000 * factor);

  afterAll(async () => {
    await Promise.all([...states.values()].map((s) => s.host?.[Symbol.asyncDispose]()));
    await sidecar?.[Symbol.asyncDispose]();
  });

  for (const group of groups) {
    describe.sequential(group.name, () => {
      for (const entry of group.entries) {
        for (const via of VIAS) {
          it(`${entry.clauses.join(" ")}: ${entry.name} (${entry.format}, from a ${via}) ${expectationText(entry)}`, async (ctx) => {
            const state = states.get(group)!;
            const { host } = state;
            const predicted = entry.predicted;
            const installed = predicted.outcome === "installed";
            const id = installed ? `distcheck.hostile-${entry.name}-${entry.format.replace(/\W/g, "")}-${via}` : TARGET_ID;
            const source = via === "file" ? containerPath(entry) : sidecar!.fileUrl(entry);
            const bomb = codesOf(predicted.code).includes("too_large_extracted");
            let response: unknown;
            let diff: SnapshotDiff | undefined;
            let growth: GrowthReport | undefined;
            attachOnFailure(ctx, () => host, async () => ({
              request: { source, id, sha256: entry.sha256, limits: limitsOf(group) },
              response,
              "data directory changes": diff ? describeDiff(diff) : "(not taken)",
              growth,
              events: (await host.events()).slice(-20),
            }));

            const watch = bomb ? await watchGrowth(host.container, host.dataDir) : undefined;
            const res = await installArchive(host, { source, sha256: entry.sha256 }, id);
            response = res;
            growth = await watch?.stop();
            // An installed extension starts; wait until it runs, so what its start writes is in the snapshot.
            if (installed && res.status === 201) await runningPid(host, id, hostileVersion, 30_000 * factor);
            const after = await snapshotFilesystem(host.container, { root: host.dataDir });
            diff = diffSnapshots(state.baseline, after);
            state.baseline = after;

            if (installed) {
              expect(res.status, JSON.stringify(res.body)).toBe(201);
              expect(res.body).toMatchObject({ id, version: hostileVersion });
              // ARC-08 layout, from the contract: <data>/extensions/<id>/<version>/code/.
              const code = `${host.dataDir}/extensions/${id}/${hostileVersion}/code`;
              for (const p of declaredPaths(entry.name)) expect(after.get(`${code}/${p}`)?.type, `${p} installed under ${code}`).toBe("f");
              for (const check of predicted.checks ?? []) {
                const rule = CHECKS[check];
                if (!rule) throw new Error(`corpus check ${JSON.stringify(check)} is unknown to this suite; add it to CHECKS`);
                const offending = [...after].filter(([p, r]) => p.startsWith(`${code}/`) && r.type !== "l" && (parseInt(r.mode, 8) & rule.bits) !== 0).map(([p, r]) => `${p} mode ${r.mode}`);
                expect(offending, `${check}: installed files that are ${rule.what}`).toEqual([]);
              }
              const stray = [...diff.added.map((c) => c.path), ...diff.removed.map((c) => c.path)].filter((p) => !p.startsWith(`${host.dataDir}/extensions/${id}`) && p !== `${host.dataDir}/extensions/${id}`);
              expect(stray, "paths added or removed outside the new install").toEqual([]);
            } else {
              state.refusals += 1;
              expect(res.status, JSON.stringify(res.body)).toBeGreaterThanOrEqual(400);
              expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
              const error = res.body.error as InstallError | undefined;
              expect(error, JSON.stringify(res.body)).toBeDefined();
              expect(codesOf(predicted.code), `code ${error!.code}: ${error!.message}`).toContain(error!.code);
              // INTERFACE.md: unsafe_entry carries the entry name and the reason. The reference host
              // puts both in the message; a structured `reason` / `entry` field is preferred if present.
              if (error!.code === "unsafe_entry") {
                const reasons = codesOf(predicted.reason);
                if (reasons.length > 0) {
                  if (error!.reason !== undefined) expect(reasons).toContain(error!.reason);
                  else expect(reasons.some((r) => new RegExp(`\\b${r}\\b`).test(error!.message)), `one of reasons ${reasons.join(", ")} in: ${error!.message}`).toBe(true);
                }
                if (predicted.entry !== undefined) {
                  if (error!.entry !== undefined) expect(error!.entry).toBe(predicted.entry);
                  else expect(quotedForms(predicted.entry).some((q) => error!.message.includes(q)), `entry ${JSON.stringify(predicted.entry)} named in: ${error!.message}`).toBe(true);
                }
              }
              // ARC-07: no partial install, no staging leftovers, nothing added or removed in the data dir.
              expect(after.has(`${host.dataDir}/extensions/${TARGET_ID}/${hostileVersion}`), "install directory of the refused version").toBe(false);
              expect(unexpectedDataDirChanges(diff, host.dataDir), describeDiff(diff)).toEqual([]);
            }
            if (bomb && growth) {
              // ARC-05: the host stopped writing at the limit: at no sample did the data dir hold more
              // than the limit of extracted bytes plus the downloaded archive (and the base's slack).
              const bound = limitsOf(group).maxExtractedBytes + entry.size + 64 * 1024;
              expect(growth.samples, "growth samples taken").toBeGreaterThan(1);
              expect(growth.peakBytes - growth.baselineBytes, `peak growth of ${host.dataDir} (largest file ${growth.peakFile}: ${growth.peakFileBytes} B)`).toBeLessThanOrEqual(bound);
            }
            // The version installed before is untouched: same version, same process, still running.
            const status = await host.agent.status(TARGET_ID);
            expect(status, "the previously installed version").toMatchObject({ version: previous.version, state: "running", pid: state.previousPid });
          }, 120_000 * factor);
        }
      }

      it(`ARC-07: after every refusal on the ${group.name} host nothing outside ${dataDir} changed, and the previous version is intact and still starts`, async (ctx) => {
        const state = states.get(group)!;
        const { host } = state;
        let outside: SnapshotDiff | undefined;
        attachOnFailure(ctx, () => host, async () => ({ "changes outside the data directory": outside ? describeDiff(outside, 200) : "(not taken)" }));
        expect(state.refusals, "refusals this host saw").toBeGreaterThan(0);
        outside = diffWithin(diffSnapshots(state.fullBefore, await snapshotFilesystem(host.container)), host.dataDir, true);
        expect(describeDiff(outside, 200)).toBe("(no differences)");
        expect(await hashTree(host.container, `${host.dataDir}/extensions/${TARGET_ID}/${previous.version}/code`), "code/ of the previous version").toBe(state.previousCode);
        const stopped = await host.agent.stop(TARGET_ID);
        expect(stopped.status, JSON.stringify(stopped.body)).toBeLessThan(300);
        const started = await host.agent.start(TARGET_ID);
        expect(started.status, JSON.stringify(started.body)).toBeLessThan(300);
        const pid = await runningPid(host, TARGET_ID, previous.version, 30_000 * factor);
        expect(pid).not.toBe(state.previousPid);
      }, 180_000 * factor);
    });
  }
});

// Reported once per file so a person sees which corpus entries ran at which limits.
const large = hostileEntries().filter((e) => e.large).length;
if (!fixtureIndex().large) process.stderr.write("[hostile-archives] the fixture build skipped the large corpus entries (default-limit bomb and file count); only the small-limit variants run\n");
else if (large === 0) process.stderr.write("[hostile-archives] no large corpus entries in the index\n");
