import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { loadPluginDirDeclarations, type PluginDirDeclaration } from "../src/fixtures/declarations/plugin-dir-declaration.ts";
import { renderPluginRoot } from "../src/fixtures/plugin-dirs/plugin-dir-renderer.ts";
import { buildPluginWheel } from "../src/fixtures/plugin-dirs/plugin-wheel-builder.ts";
import type { BootedHost } from "../src/hosts/booted-host.ts";
import type { Cell } from "../src/matrix/matrix.ts";
import {
  diagnosticProblems,
  expectedFields,
  listedFields,
  listingProblems,
  matchingDiagnostics,
  permissionProblems,
  pluginDirRequests,
  routeProblems,
  skipProblems,
  type PluginDiagnostic,
  type PluginDirObservation,
} from "../src/oracle/plugin-directory-judge.ts";
import { PLUGIN_DIR_DIAGNOSTIC_CODES, predictPluginDirectories, type PluginDirPrediction } from "../src/oracle/plugin-directory-oracle.ts";
import { PROJECT_ROOT, suiteCells } from "./support/cells.ts";
import { attachOnFailure, bootHost, scaledTimeout } from "./support/host.ts";

// Plugin directories (DIR-01..03): Honeyframe-style plugin folders `<root>/plugins/<slug>/plugin.yaml`
// with routers and permissions, and the same plugin shipped as a wheel. Every expectation comes from
// the oracle (src/oracle/plugin-directory-oracle.ts), which reads only the declarations
// (fixtures/plugin-dirs/) and the facts this suite set: the plugins root and which wheels are installed.
//
// Per cell, host A boots with every declared plugin folder in one root (good ones and one per way to
// break each clause) and is observed live. Host B holds the same root but boots on a root with no
// plugin in it; the wheel forms are then pip-installed and it boots again (wheel plugins alone), then
// once more on the full root (each wheel beside its folder twin). Host B's first two boots are
// observed as snapshots, since the tests of a cell run concurrently.
const cells = suiteCells("plugin-directories");
const declarations = await loadPluginDirDeclarations(path.join(PROJECT_ROOT, "fixtures"));
const twins = declarations.filter((d) => d.wheel !== null);
const byName = new Map(declarations.map((d) => [d.name, d]));
const decl = (name: string): PluginDirDeclaration => {
  const d = byName.get(name);
  if (!d) throw new Error(`no plugin declaration named ${name} under fixtures/plugin-dirs`);
  return d;
};

/** The plugins root the suite gives the host (the contract setting `pluginsRoot`), and a root with no plugin. */
const ROOT = "/srv/distcheck-plugins";
const EMPTY_ROOT = "/srv/distcheck-plugins-none";
const WHEELS = "/fixtures/plugin-wheels";
const ROOT_FILES = renderPluginRoot(declarations).map((f) => ({ target: `${ROOT}/${f.path}`, content: f.content }));

const parse = (body: string): unknown => {
  try {
    return JSON.parse(body);
  } catch {
    return body.slice(0, 300);
  }
};

/** One boot through the host's DIR API, its diagnostics and registry, and the routes the prediction asks about. */
async function observe(host: BootedHost, prediction: PluginDirPrediction): Promise<PluginDirObservation> {
  const [plugins, permissions, diagnostics, registry] = await Promise.all([host.plugins.plugins(), host.plugins.permissions(), host.diagnostics(), host.registry()]);
  const answers = [];
  for (const q of pluginDirRequests(prediction)) {
    const r = await host.raw(q.method, q.path);
    answers.push({ ...q, status: r.statusCode, body: parse(r.body) });
  }
  return {
    plugins,
    permissions,
    diagnostics: (diagnostics as PluginDiagnostic[]).filter((d) => PLUGIN_DIR_DIAGNOSTIC_CODES.includes(d.code)),
    routes: (registry.routes ?? []).filter((r) => r.path.startsWith("/plugins/") || r.owner?.startsWith("plugin:")),
    answers,
  };
}

const withoutOrigin = <T extends { source: string; path: string }>({ source: _s, path: _p, ...rest }: T) => rest;

describe.concurrent.each(cells)("plugin-directories on $id", (cell: Cell) => {
  let a: BootedHost | undefined;
  let b: BootedHost | undefined;
  /** Host A: every plugin folder in one root, no wheel. */
  const predicted = predictPluginDirectories({ root: ROOT, directories: declarations, wheels: [] });
  /** The fixtures the oracle predicts skipped with this code (a test's subjects). */
  const skippedWith = (code: string): string[] => predicted.outcomes.filter((o) => !o.loads && o.code === code).map((o) => o.fixture);
  let seen: PluginDirObservation;
  /** Host B: no plugin at all, then the wheels alone, then the wheels beside the folders. */
  const none = predictPluginDirectories({ root: EMPTY_ROOT, directories: [], wheels: [] });
  const wheelsAlone = predictPluginDirectories({ root: EMPTY_ROOT, directories: [], wheels: twins });
  const both = predictPluginDirectories({ root: ROOT, directories: declarations, wheels: twins });
  const seenB: { none?: PluginDirObservation; wheels?: PluginDirObservation; both?: PluginDirObservation; pip?: string } = {};

  beforeAll(async () => {
    const bootB = async (): Promise<void> => {
      b = await bootHost(cell, { extraFiles: ROOT_FILES, settings: { pluginsRoot: EMPTY_ROOT } });
      seenB.none = await observe(b, none);
      const built = twins.map((d) => buildPluginWheel(d, b!.plugins.group));
      await b.container.putFiles(built.map((w) => ({ target: `${WHEELS}/${w.fileName}`, content: w.bytes })));
      const pip = await b.pipInstall(["--no-deps", ...built.map((w) => `${WHEELS}/${w.fileName}`)]);
      seenB.pip = pip.output;
      if (pip.exitCode !== 0) throw new Error(`pip install of the plugin wheels failed in ${cell.id} (exit ${pip.exitCode}):\n${pip.output}`);
      await b.restart();
      seenB.wheels = await observe(b, wheelsAlone);
      await b.restart({ ...b.settings, pluginsRoot: ROOT });
      seenB.both = await observe(b, both);
    };
    const bootA = async (): Promise<void> => {
      a = await bootHost(cell, { extraFiles: ROOT_FILES, settings: { pluginsRoot: ROOT } });
      seen = await observe(a, predicted);
    };
    await Promise.all([bootA(), bootB()]);
  }, scaledTimeout(cell, 300_000));

  afterAll(async () => {
    await Promise.all([a?.[Symbol.asyncDispose](), b?.[Symbol.asyncDispose]()]);
  });

  const diagnoseA = (ctx: TestContext): void => attachOnFailure(ctx, () => a, async () => ({ predicted, seen }));
  const diagnoseB = (ctx: TestContext): void => attachOnFailure(ctx, () => b, async () => ({ predicted: { none, wheelsAlone, both }, seen: seenB, "pip output": seenB.pip }));

  it("DIR-01: every well-formed folder <root>/plugins/<slug>/ with a plugin.yaml is discovered under its slug, listed with its manifest's fields", async (ctx) => {
    diagnoseA(ctx);
    const loads = predicted.outcomes.filter((o) => o.loads).map((o) => decl(o.fixture));
    expect(loads.length).toBeGreaterThan(0);
    expect(seen.plugins.map((p) => p.name).sort()).toEqual(predicted.plugins.map((p) => p.name).sort());
    expect(seen.plugins.map(listedFields)).toEqual(expect.arrayContaining(predicted.plugins.map(expectedFields)));
    for (const d of loads) expect(seen.plugins.find((p) => p.name === d.manifest!.name), d.name).toMatchObject({ source: "directory", path: `${ROOT}/plugins/${d.folder}` });
  });

  it("DIR-01: a folder whose name is not lowercase-hyphenated is skipped with plugin_slug_invalid naming its plugin.yaml", async (ctx) => {
    diagnoseA(ctx);
    const subjects = skippedWith("plugin_slug_invalid");
    expect(subjects.length).toBeGreaterThan(0);
    expect(skipProblems(predicted, seen, subjects)).toEqual([]);
  });

  it("DIR-01: a folder whose name differs from its manifest's name is skipped with plugin_slug_mismatch; nothing is mounted under either name", async (ctx) => {
    diagnoseA(ctx);
    const subjects = skippedWith("plugin_slug_mismatch");
    expect(subjects.length).toBeGreaterThan(0);
    expect(skipProblems(predicted, seen, subjects)).toEqual([]);
    for (const s of subjects) expect(seen.plugins.map((p) => p.name), s).not.toContain(decl(s).manifest!.name);
  });

  it("DIR-02: a plugin.yaml that is not YAML, or not a mapping, skips only that plugin (plugin_manifest_malformed naming the file); discovery goes on", async (ctx) => {
    diagnoseA(ctx);
    const subjects = skippedWith("plugin_manifest_malformed");
    expect(subjects.length).toBeGreaterThan(0);
    expect(skipProblems(predicted, seen, subjects)).toEqual([]);
    // Discovery went on past them: every plugin folder that sorts after one still loaded.
    const after = predicted.plugins.filter((p) => subjects.some((s) => decl(s).folder < decl(p.fixture).folder));
    expect(after.length).toBeGreaterThan(0);
    expect(seen.plugins.map((p) => p.name)).toEqual(expect.arrayContaining(after.map((p) => p.name)));
  });

  it("DIR-02: a manifest missing name or version, or whose version is not SemVer, skips that plugin with plugin_manifest_invalid naming the file and the field", async (ctx) => {
    diagnoseA(ctx);
    const subjects = skippedWith("plugin_manifest_invalid");
    expect(subjects.length).toBeGreaterThanOrEqual(3);
    expect(skipProblems(predicted, seen, subjects)).toEqual([]);
  });

  it("DIR-02: an unknown field is a warning naming it, and the plugin loads with its routes and permissions", async (ctx) => {
    diagnoseA(ctx);
    const subjects = predicted.plugins.filter((p) => p.unknownFields.length > 0);
    expect(subjects.length).toBeGreaterThan(0);
    for (const p of subjects) {
      const warnings = predicted.diagnostics.filter((d) => d.fixture === p.fixture);
      expect(warnings.length, p.fixture).toBe(p.unknownFields.length);
      for (const w of warnings) expect(matchingDiagnostics(seen.diagnostics, w), `${w.code} naming ${w.mustName.join(", ")}`).toHaveLength(1);
      const entry = seen.plugins.find((x) => x.name === p.name);
      expect(entry && listedFields(entry), p.fixture).toEqual(expectedFields(p));
      expect(entry!.warnings.length).toBe(p.unknownFields.length);
      p.unknownFields.forEach((f, i) => expect(entry!.warnings[i]).toContain(f));
      for (const answer of p.answers) expect(seen.answers.find((x) => x.path === answer.path && x.method === answer.method), answer.path).toMatchObject({ status: answer.status, body: answer.body });
      for (const permission of p.permissions) expect(seen.permissions).toContainEqual({ permission, plugin: p.name });
    }
  });

  it("DIR-02: discovery never raises: with every broken plugin present the host is ready and reports exactly the predicted diagnostics", async (ctx) => {
    diagnoseA(ctx);
    expect(predicted.outcomes.filter((o) => !o.loads).length).toBeGreaterThanOrEqual(8);
    expect(await a!.readiness()).toMatchObject({ ready: true });
    expect(diagnosticProblems(predicted, seen)).toEqual([]);
  });

  it("DIR-03: every route of every declared router is mounted at /plugins/<name><path>, in the registry with owner plugin:<name>, and answers", async (ctx) => {
    diagnoseA(ctx);
    expect(predicted.plugins.flatMap((p) => p.answers).length).toBeGreaterThan(0);
    expect(routeProblems(predicted, seen)).toEqual([]);
    // Answered live too, not only while the suite observed.
    const first = predicted.plugins.flatMap((p) => p.answers)[0]!;
    const r = await a!.raw(first.method, first.path);
    expect([r.statusCode, parse(r.body)]).toEqual([first.status, first.body]);
  });

  it("DIR-03: declared permissions are registered in the permission catalog at startup, those of skipped plugins are not", async (ctx) => {
    diagnoseA(ctx);
    expect(predicted.permissions.length).toBeGreaterThan(0);
    expect(permissionProblems(predicted, seen)).toEqual([]);
    expect(await a!.plugins.permissions()).toEqual(predicted.permissions);
  });

  it("DIR-03: a plugin whose router module fails to import, or lacks the router attribute, is skipped whole: no route (not even a working router's), no permission", async (ctx) => {
    diagnoseA(ctx);
    const subjects = skippedWith("plugin_router_failed");
    expect(subjects.length).toBeGreaterThanOrEqual(2);
    // Each has a router that would work: skipping it whole is what is checked.
    for (const s of subjects) expect(predicted.unmounted.some((u) => u.fixture === s), s).toBe(true);
    expect(skipProblems(predicted, seen, subjects)).toEqual([]);
  });

  it("DIR-03: a plugin shipped as a wheel with an entry point in the plugins group is discovered like its directory twin (apart from source and path), its routes answering", async (ctx) => {
    diagnoseB(ctx);
    expect(twins.length).toBeGreaterThan(0);
    // Before the wheels: a root with no plugin and no wheel gives no plugin at all.
    expect(seenB.none!.plugins).toEqual([]);
    expect(seenB.none!.permissions).toEqual([]);
    const wheels = seenB.wheels!;
    expect([...listingProblems(wheelsAlone, wheels), ...routeProblems(wheelsAlone, wheels), ...permissionProblems(wheelsAlone, wheels), ...diagnosticProblems(wheelsAlone, wheels)]).toEqual([]);
    for (const d of twins) {
      const name = d.manifest!.name as string;
      const fromWheel = wheels.plugins.find((p) => p.name === name);
      const fromFolder = seen.plugins.find((p) => p.name === name);
      expect(fromWheel, `${name} from its wheel`).toMatchObject({ source: "wheel", path: `entry point ${d.wheel!.entryPoint}` });
      expect(fromFolder, `${name} from its folder`).toMatchObject({ source: "directory" });
      expect({ ...withoutOrigin(fromWheel!) }).toEqual({ ...withoutOrigin(fromFolder!) });
    }
  });

  it("DIR-03: a wheel plugin with the name of a plugin folder is reported plugin_duplicate_name, and the folder's plugin is the one listed", async (ctx) => {
    diagnoseB(ctx);
    const duplicates = both.diagnostics.filter((d) => d.code === "plugin_duplicate_name");
    expect(duplicates.length).toBe(twins.length);
    const obs = seenB.both!;
    expect(diagnosticProblems(both, obs)).toEqual([]);
    expect(skipProblems(both, obs, duplicates.map((d) => d.fixture), "wheel")).toEqual([]);
    expect([...listingProblems(both, obs), ...routeProblems(both, obs), ...permissionProblems(both, obs)]).toEqual([]);
    for (const d of twins) expect(obs.plugins.find((p) => p.name === d.manifest!.name), d.name).toMatchObject({ source: "directory", path: `${ROOT}/plugins/${d.folder}` });
    expect(await b!.readiness()).toMatchObject({ ready: true });
  });
});
