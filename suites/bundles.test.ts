import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, afterAll, describe, expect, it } from "vitest";
import { corpusBaseBytes, hasHostileBundle, HOSTILE_BUNDLE_BASE, renderBundle, renderHostileBundle, type HostileBundleBase } from "../src/fixtures/bundles/bundle-renderer.ts";
import { loadBundleDeclarations, type BundleDeclaration } from "../src/fixtures/declarations/bundle-declaration.ts";
import { parseHostileCorpus } from "../src/fixtures/declarations/declaration-loader.ts";
import { DeclarationReader } from "../src/fixtures/declarations/declaration-reader.ts";
import type { HostileCorpusEntry } from "../src/fixtures/declarations/fixture-declaration.ts";
import type { BootedHost } from "../src/hosts/booted-host.ts";
import type { BundleApi, BundleRecord, StoredBundles } from "../src/hosts/bundle-wire.ts";
import type { HostSettings } from "../src/hosts/host-adapter.ts";
import type { HostEvent } from "../src/hosts/host-wire.ts";
import type { Cell } from "../src/matrix/matrix.ts";
import { CONTRACT_BUNDLE_LIMITS, predictBundleImport, predictHostileBundleImport, predictLifecycle, type BundleLimits, type ImportPrediction, type LifecyclePrediction, type PredictedRoute } from "../src/oracle/bundle-oracle.ts";
import { PROJECT_ROOT, suiteCells } from "./support/cells.ts";
import { fixtureIndex } from "./support/fixture-files.ts";
import {
  describeDiff,
  diffSnapshots,
  diffWithin,
  prepareHarnessDir,
  snapshotFilesystem,
  snapshotLayer,
  diffLayerSince,
  type LayerSnapshot,
  unexpectedDataDirChanges,
  type FilesystemSnapshot,
  type SnapshotDiff,
} from "./support/filesystem-snapshot.ts";
import { adapterOf, attachOnFailure, bootHost, scaledTimeout } from "./support/host.ts";

// Bundles uploaded to the host's import endpoint (BND-01) and their lifecycle (BND-02), on every cell
// whose host implements BND. Every refused bundle (the fixtures' invalid ones, and the archive corpus
// rebuilt as bundles over a good bundle: every corpus entry with a zip format) must be refused with the
// code the oracle predicts and leave no record (the host's listing, its detail, its database read in
// the container) and no file (nothing changed in the data directory but the database, nothing outside
// it). Accepted bundles go installed → activating → activated, or failed with the error recorded in the
// activation log; while activated their routes answer and their commands are listed, and a failure or
// a deactivation disposes all of it. Every expectation comes from the oracle (src/oracle/bundle-oracle.ts).

const cells = suiteCells("bundles");
const FIXTURES = path.join(PROJECT_ROOT, "fixtures");
const declarations = loadBundleDeclarations(FIXTURES);
const corpus = parseHostileCorpus(new DeclarationReader("fixtures/hostile/corpus.json", JSON.parse(readFileSync(path.join(FIXTURES, "hostile", "corpus.json"), "utf8"))));
const baseDeclaration = declarations.find((d) => d.name === HOSTILE_BUNDLE_BASE);
if (!baseDeclaration) throw new Error(`fixtures/bundles/${HOSTILE_BUNDLE_BASE}.json is missing: every hostile bundle is built on it`);
const hostileBase: HostileBundleBase = { declaration: baseDeclaration, corpusBaseBytes: corpusBaseBytes(FIXTURES) };
/** The large corpus entries (default-limit bomb, 10,001 files) run when the fixture build made them, as in hostile-archives. */
const withLarge = fixtureIndex().large;

/** One upload to the import endpoint. */
interface Upload {
  /** In test titles. */
  label: string;
  body: () => Buffer;
  predicted: ImportPrediction;
  /** The name a record of it would carry (none for a body that names none). */
  bundleName?: string;
}

interface HostGroup {
  name: string;
  settings: Pick<HostSettings, "maxFiles" | "maxExtractedBytes">;
  limits: BundleLimits;
  refused: Upload[];
  accepted: Upload[];
  /** The fixtures' accepted bundles, whose lifecycle runs on this host (the contract-limits host only). */
  lifecycle: Array<{ declaration: BundleDeclaration; predicted: LifecyclePrediction }>;
}

function limitsOf(entry: HostileCorpusEntry): BundleLimits {
  return { maxFiles: entry.limit?.max_files ?? CONTRACT_BUNDLE_LIMITS.maxFiles, maxExtractedBytes: entry.limit?.max_extracted_bytes ?? CONTRACT_BUNDLE_LIMITS.maxExtractedBytes };
}

function groupFor(groups: HostGroup[], limits: BundleLimits): HostGroup {
  const fits = (g: HostGroup, key: keyof BundleLimits): boolean => limits[key] === CONTRACT_BUNDLE_LIMITS[key] || g.limits[key] === limits[key] || g.limits[key] === CONTRACT_BUNDLE_LIMITS[key];
  const isDefault = limits.maxFiles === CONTRACT_BUNDLE_LIMITS.maxFiles && limits.maxExtractedBytes === CONTRACT_BUNDLE_LIMITS.maxExtractedBytes;
  if (isDefault) return groups[0]!;
  let group = groups.slice(1).find((g) => fits(g, "maxFiles") && fits(g, "maxExtractedBytes"));
  if (!group) {
    group = { name: "", settings: {}, limits: { ...CONTRACT_BUNDLE_LIMITS }, refused: [], accepted: [], lifecycle: [] };
    groups.push(group);
  }
  if (limits.maxFiles !== CONTRACT_BUNDLE_LIMITS.maxFiles) group.limits.maxFiles = group.settings.maxFiles = limits.maxFiles;
  if (limits.maxExtractedBytes !== CONTRACT_BUNDLE_LIMITS.maxExtractedBytes) group.limits.maxExtractedBytes = group.settings.maxExtractedBytes = limits.maxExtractedBytes;
  return group;
}

// One host per set of limits, as the archive corpus declares them; the fixtures' bundles and the
// corpus entries without limits share the host with the contract's limits.
function hostGroups(): HostGroup[] {
  const groups: HostGroup[] = [{ name: "contract limits", settings: {}, limits: { ...CONTRACT_BUNDLE_LIMITS }, refused: [], accepted: [], lifecycle: [] }];
  for (const declaration of declarations) {
    const predicted = predictBundleImport(declaration);
    const name = typeof declaration.manifest.name === "string" ? declaration.manifest.name : undefined;
    const upload: Upload = { label: declaration.name, body: () => renderBundle(declaration), predicted, ...(name === undefined ? {} : { bundleName: name }) };
    if (predicted.accepted) groups[0]!.lifecycle.push({ declaration, predicted: predictLifecycle(declaration) });
    else groups[0]!.refused.push(upload);
  }
  for (const entry of corpus.entries.filter((e) => hasHostileBundle(e) && (withLarge || !e.large))) {
    const limits = limitsOf(entry);
    const group = groupFor(groups, limits);
    const predicted = predictHostileBundleImport(hostileBase, entry, limits);
    const upload: Upload = { label: `hostile bundle ${entry.name} (archive corpus)`, body: () => renderHostileBundle(hostileBase, entry), predicted, bundleName: HOSTILE_BUNDLE_BASE };
    (predicted.accepted ? group.accepted : group.refused).push(upload);
  }
  for (const g of groups.slice(1)) g.name = `small limits${g.settings.maxFiles === undefined ? "" : ` max_files=${g.settings.maxFiles}`}${g.settings.maxExtractedBytes === undefined ? "" : ` max_extracted_bytes=${g.settings.maxExtractedBytes}`}`;
  return groups;
}

const groups = hostGroups();

function refusalText(p: ImportPrediction): string {
  if (p.accepted) return "is accepted";
  return `is refused with ${p.code}${p.reason ? ` (${p.reason})` : ""}`;
}

/** An entry name as a message may quote it: raw, or with JSON / Python escapes. */
function quotedForms(name: string): string[] {
  return [...new Set([name, JSON.stringify(name).slice(1, -1), name.replace(/\\/g, "\\\\")])];
}

const byRoute = (a: { method: string; path: string }, b: { method: string; path: string }): number => (a.path === b.path ? (a.method < b.method ? -1 : 1) : a.path < b.path ? -1 : 1);

/** The newest event's time: later events are those of what a test does next. */
async function eventMark(host: BootedHost): Promise<number> {
  const events = await host.events();
  return events.reduce((latest, e) => Math.max(latest, e.t_ms), 0);
}

const bundleStates = (events: HostEvent[], name: string): string[] => events.filter((e) => e.event === "bundle_state" && e.name === name).map((e) => String(e.state));

/** A data directory's changes, leaving out the bundle database (the one thing an import may add or change). */
function withoutDatabase(diff: SnapshotDiff, bundles: BundleApi, dataDir: string): SnapshotDiff {
  const db = new Set(bundles.databaseFiles(dataDir));
  return { added: diff.added.filter((c) => !db.has(c.path)), removed: diff.removed.filter((c) => !db.has(c.path)), changed: diff.changed.filter((c) => !db.has(c.path)) };
}

interface HostState {
  host: BootedHost;
  /** The data directory as the last test left it. */
  baseline: FilesystemSnapshot;
  /** The whole container after boot, before the first upload. */
  fullBefore: LayerSnapshot;
  refusals: number;
}

describe.concurrent.each(cells)("bundles on $id", (cell: Cell) => {
  const dataDir = adapterOf(cell).dataDir;
  const states = new Map<HostGroup, HostState>();
  const timeout = scaledTimeout(cell, 120_000);

  beforeAll(async () => {
    await Promise.all(
      groups.map(async (group) => {
        const host = await bootHost(cell, { settings: group.settings });
        states.set(group, { host } as HostState);
        await prepareHarnessDir(host.container);
        const state = states.get(group)!;
        state.fullBefore = await snapshotLayer(host.container, { exclude: [host.dataDir] });
        state.baseline = await snapshotFilesystem(host.container, { root: host.dataDir });
        state.refusals = 0;
      }),
    );
  }, scaledTimeout(cell, 600_000));

  afterAll(async () => {
    await Promise.all([...states.values()].map((s) => s.host?.[Symbol.asyncDispose]()));
  });

  for (const group of groups) {
    describe.sequential(group.name, () => {
      for (const upload of group.refused) {
        const p = upload.predicted as Extract<ImportPrediction, { accepted: false }>;
        it(`BND-01: ${upload.label} ${refusalText(p)} and leaves no record and no file`, async (ctx) => {
          const state = states.get(group)!;
          const { host } = state;
          const bundles = host.bundles;
          let response: unknown;
          let diff: SnapshotDiff | undefined;
          attachOnFailure(ctx, () => host, async () => ({ predicted: p, limits: group.limits, response, "data directory changes": diff ? describeDiff(diff) : "(not taken)", events: (await host.events()).slice(-20) }));

          const listBefore = await bundles.list();
          const storedBefore = await bundles.stored(host.dataDir);
          const mark = await eventMark(host);
          const res = await bundles.importBundle(upload.body());
          response = res;
          state.refusals += 1;

          expect(res.status, JSON.stringify(res.body)).toBeGreaterThanOrEqual(400);
          expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
          const error = (res.body as { error?: { code: string; message: string; reason?: string; entry?: string } } | null)?.error;
          expect(error, JSON.stringify(res.body)).toBeDefined();
          expect(error!.code, error!.message).toBe(p.code);
          if (p.reason !== undefined) {
            if (error!.reason !== undefined) expect(error!.reason).toBe(p.reason);
            else expect(new RegExp(`\\b${p.reason}\\b`).test(error!.message), `reason ${p.reason} in: ${error!.message}`).toBe(true);
          }
          if (p.entry !== undefined) {
            if (error!.entry !== undefined) expect(error!.entry).toBe(p.entry);
            else expect(quotedForms(p.entry).some((q) => error!.message.includes(q)), `entry ${JSON.stringify(p.entry)} named in: ${error!.message}`).toBe(true);
          }
          for (const text of p.mustName) expect(error!.message, `the refusal names ${JSON.stringify(text)}`).toContain(text);

          // No record: the listing, the detail and the database hold what they held before.
          expect(await bundles.list(), "GET of the bundle listing").toEqual(listBefore);
          if (upload.bundleName !== undefined) {
            expect((await bundles.list()).map((b: BundleRecord) => b.name), "the listing").not.toContain(upload.bundleName);
            expect(await bundles.detail(upload.bundleName), `the detail of ${upload.bundleName}`).toBeNull();
          }
          const storedAfter: StoredBundles = await bundles.stored(host.dataDir);
          expect(storedAfter.bundles, "rows of the bundle database").toEqual(storedBefore.bundles);
          expect(storedAfter.activations, "activation records of the bundle database").toEqual(storedBefore.activations);
          expect((await host.events(mark)).filter((e) => e.event === "bundle_state"), "bundle_state events").toEqual([]);

          // No file: nothing in the data directory but the database changed (the staging area came and went).
          const after = await snapshotFilesystem(host.container, { root: host.dataDir });
          diff = diffSnapshots(state.baseline, after);
          state.baseline = after;
          expect(unexpectedDataDirChanges(withoutDatabase(diff, bundles, host.dataDir), host.dataDir), describeDiff(diff)).toEqual([]);
        }, timeout);
      }

      it(`BND-01: after every refusal on the ${group.name} host nothing outside ${dataDir} changed and no bundle is stored`, async (ctx) => {
        const state = states.get(group)!;
        const { host } = state;
        let outside: SnapshotDiff | undefined;
        attachOnFailure(ctx, () => host, async () => ({ "changes outside the data directory": outside ? describeDiff(outside, 200) : "(not taken)" }));
        expect(state.refusals, "refusals this host saw").toBeGreaterThan(0);
        outside = diffWithin(await diffLayerSince(host.container, state.fullBefore), host.dataDir, true);
        expect(describeDiff(outside, 200)).toBe("(no differences)");
        expect(await host.bundles.list(), "the bundle listing").toEqual([]);
        expect((await host.bundles.stored(host.dataDir)).bundles, "rows of the bundle database").toEqual([]);
      }, timeout);

      for (const upload of group.accepted) {
        const p = upload.predicted as Extract<ImportPrediction, { accepted: true }>;
        it(`BND-01: ${upload.label} is accepted (nothing in it breaks the entry rules or the limits) and stored as installed`, async (ctx) => {
          const { host } = states.get(group)!;
          let response: unknown;
          attachOnFailure(ctx, () => host, async () => ({ predicted: p, limits: group.limits, response }));
          const mark = await eventMark(host);
          const res = await host.bundles.importBundle(upload.body());
          response = res;
          expect(res.status, JSON.stringify(res.body)).toBe(201);
          expect(res.body).toMatchObject({ name: p.name, version: p.version, state: "installed" });
          expect(await host.bundles.list()).toContainEqual(expect.objectContaining({ name: p.name, version: p.version, state: "installed" }));
          expect((await host.bundles.stored(host.dataDir)).bundles).toContainEqual({ name: p.name, version: p.version, state: "installed" });
          expect(bundleStates(await host.events(mark), p.name)).toEqual(["installed"]);
        }, timeout);
      }

      if (group.lifecycle.length === 0) return;
      const activated = group.lifecycle.filter((l) => l.predicted.activation.state === "activated");

      for (const { declaration, predicted } of group.lifecycle) {
        it(`BND-01: ${declaration.name} is accepted and stored as installed`, async (ctx) => {
          const { host } = states.get(group)!;
          let response: unknown;
          attachOnFailure(ctx, () => host, async () => ({ predicted, response }));
          const imported = predictBundleImport(declaration);
          if (!imported.accepted) throw new Error(`${declaration.name}: the oracle refuses it`);
          const mark = await eventMark(host);
          const res = await host.bundles.importBundle(renderBundle(declaration));
          response = res;
          expect(res.status, JSON.stringify(res.body)).toBe(201);
          expect(res.body).toMatchObject({ name: predicted.name, version: predicted.version, state: "installed" });
          expect(bundleStates(await host.events(mark), predicted.name), "bundle_state events").toEqual(predicted.importStates);
          const detail = await host.bundles.detail(predicted.name);
          expect(detail, "the bundle's detail").toMatchObject({ name: predicted.name, version: predicted.version, state: "installed", backend_modules: imported.backendModules, commands: [], routes: [] });
          if (imported.frontendEntry !== null) expect(detail!.frontend_entry).toBe(imported.frontendEntry);
          expect((await host.bundles.stored(host.dataDir)).bundles, "rows of the bundle database").toContainEqual({ name: predicted.name, version: predicted.version, state: "installed" });
        }, timeout);
      }

      /** Every route of an activated bundle answers its declared JSON, and the registry lists it. */
      async function expectServed(host: BootedHost, name: string, routes: PredictedRoute[]): Promise<void> {
        const registry = (await host.registry()).routes ?? [];
        for (const r of routes) {
          const at = host.bundles.routePath(name, r.path);
          const res = await host.raw(r.method, at);
          expect(res.statusCode, `${r.method} ${at}: ${res.body}`).toBe(200);
          expect(JSON.parse(res.body), `${r.method} ${at}`).toEqual(r.response);
          expect(registry, "the registry").toContainEqual(expect.objectContaining({ method: r.method, path: at }));
        }
      }

      /** None of these routes answers, and the registry lists none of them. */
      async function expectGone(host: BootedHost, name: string, routes: PredictedRoute[]): Promise<void> {
        const registry = (await host.registry()).routes ?? [];
        for (const r of routes) {
          const at = host.bundles.routePath(name, r.path);
          const res = await host.raw(r.method, at);
          expect(res.statusCode, `${r.method} ${at} after disposal: ${res.body}`).toBe(404);
          expect(registry.filter((x) => x.method === r.method && x.path === at), "the registry").toEqual([]);
        }
      }

      for (const { declaration, predicted } of group.lifecycle) {
        const a = predicted.activation;
        it(`BND-02: ${declaration.name} goes installed → ${a.states.join(" → ")}${a.error ? `, the error recorded` : ", its routes and commands registered"}`, async (ctx) => {
          const { host } = states.get(group)!;
          let response: unknown;
          attachOnFailure(ctx, () => host, async () => ({ predicted, response, detail: await host.bundles.detail(predicted.name) }));
          const mark = await eventMark(host);
          const res = await host.bundles.activate(predicted.name);
          response = res;
          expect(res.status, JSON.stringify(res.body)).toBe(200);
          expect(res.body).toMatchObject({ state: a.state });
          expect(bundleStates(await host.events(mark), predicted.name), "bundle_state events").toEqual(a.states);

          const detail = (await host.bundles.detail(predicted.name))!;
          expect(detail.state).toBe(a.state);
          const listed = (await host.bundles.list()).find((b) => b.name === predicted.name);
          expect(listed, "the listing").toMatchObject({ state: a.state });
          const stored = await host.bundles.stored(host.dataDir);
          expect(stored.bundles).toContainEqual({ name: predicted.name, version: predicted.version, state: a.state });
          const lastActivation = detail.activations.at(-1);
          const lastStored = stored.activations.filter((x) => x.name === predicted.name).at(-1);
          if (a.error !== null) {
            // Failed: the error is recorded in the activation log, and what it registered is disposed.
            expect(res.body.error, "the activation's answer").toBe(a.error);
            expect(lastActivation?.activation_error, "the activation log (detail)").toBe(a.error);
            expect(lastStored?.activation_error, "the activation log (database)").toBe(a.error);
            expect(listed?.activation_error, "the listing's activation_error").toBe(a.error);
            expect(detail.commands, "commands after the failure").toEqual([]);
            expect(detail.routes, "routes after the failure").toEqual([]);
            await expectGone(host, predicted.name, a.disposedRoutes);
          } else {
            expect(lastActivation, "the activation log (detail)").toMatchObject({ activation_error: null, deactivated_at: null });
            expect(lastActivation?.activated_at, "activated_at").toBeTruthy();
            expect(lastStored, "the activation log (database)").toMatchObject({ activation_error: null, deactivated_at: null });
            expect(detail.commands, "commands while activated").toEqual(a.commands);
            expect([...detail.routes].sort(byRoute), "routes while activated").toEqual(a.routes.map((r) => ({ method: r.method, path: host.bundles.routePath(predicted.name, r.path) })).sort(byRoute));
            await expectServed(host, predicted.name, a.routes);
          }
          const activateLines = (await host.witness()).filter((w) => w.fixture === declaration.name && w.event === "activate");
          expect(activateLines.map((w) => w.module), "modules whose activate() ran (witness)").toEqual(a.activatedModules);
        }, timeout);
      }

      if (activated.length > 1) {
        it(`BND-02: ${activated.map((l) => l.declaration.name).join(", ")}, activated together, each answer their own routes and list their own commands`, async (ctx) => {
          const { host } = states.get(group)!;
          attachOnFailure(ctx, () => host);
          for (const { predicted } of activated) {
            const detail = (await host.bundles.detail(predicted.name))!;
            expect(detail.state).toBe("activated");
            expect(detail.commands, `${predicted.name}'s commands`).toEqual(predicted.activation.commands);
            await expectServed(host, predicted.name, predicted.activation.routes);
          }
        }, timeout);
      }

      for (const { declaration, predicted } of activated) {
        const d = predicted.deactivation!;
        it(`BND-02: ${declaration.name} goes ${d.states.join(" → ")} and its routes and commands are disposed`, async (ctx) => {
          const { host } = states.get(group)!;
          let response: unknown;
          attachOnFailure(ctx, () => host, async () => ({ predicted, response, detail: await host.bundles.detail(predicted.name) }));
          const mark = await eventMark(host);
          const res = await host.bundles.deactivate(predicted.name);
          response = res;
          expect(res.status, JSON.stringify(res.body)).toBe(200);
          expect(res.body).toMatchObject({ state: d.state });
          expect(bundleStates(await host.events(mark), predicted.name), "bundle_state events").toEqual(d.states);
          const detail = (await host.bundles.detail(predicted.name))!;
          expect(detail.state).toBe(d.state);
          expect(detail.commands, "commands after deactivation").toEqual([]);
          expect(detail.routes, "routes after deactivation").toEqual([]);
          await expectGone(host, predicted.name, predicted.activation.routes);
          expect(detail.activations.at(-1)?.deactivated_at, "deactivated_at in the activation log").toBeTruthy();
          const stored = await host.bundles.stored(host.dataDir);
          expect(stored.bundles).toContainEqual({ name: predicted.name, version: predicted.version, state: d.state });
          expect(stored.activations.filter((x) => x.name === predicted.name).at(-1)?.deactivated_at, "deactivated_at in the database").toBeTruthy();
          const deactivateLines = (await host.witness()).filter((w) => w.fixture === declaration.name && w.event === "deactivate");
          expect(deactivateLines.map((w) => w.module), "modules whose deactivate() ran (witness)").toEqual(d.deactivatedModules);
          // The bundles still activated keep theirs.
          for (const other of activated) {
            if (other.predicted.name === predicted.name) continue;
            if ((await host.bundles.detail(other.predicted.name))?.state !== "activated") continue;
            await expectServed(host, other.predicted.name, other.predicted.activation.routes);
          }
        }, timeout);
      }
    });
  }
});
