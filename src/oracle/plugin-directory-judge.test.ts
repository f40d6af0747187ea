import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPluginDirDeclarations, type PluginDirDeclaration } from "../fixtures/declarations/plugin-dir-declaration.ts";
import { renderPluginRoot } from "../fixtures/plugin-dirs/plugin-dir-renderer.ts";
import { buildPluginWheel } from "../fixtures/plugin-dirs/plugin-wheel-builder.ts";
import { applyMutantEdits } from "../images/host-source.ts";
import { loadMutantEdits, mutantsDir } from "../mutants/mutant-catalog.ts";
import { judgePluginDirectories, pluginDirRequests, type PluginDirObservation } from "./plugin-directory-judge.ts";
import { predictPluginDirectories, type PluginDirFacts } from "./plugin-directory-oracle.ts";

// The reference host's own discovery (hosts/reference/src, or a mutant's edited copy) run on the
// rendered fixtures in a temp dir, observed as the suite observes a booted host, and judged: the
// oracle and the host were written separately, so agreement is evidence for both, and every DIR
// mutant must be caught by the same judgement the suite makes (the container suite then checks the
// installed host on every platform).
const ROOT = path.resolve(import.meta.dirname, "../..");
const HOST = path.join(ROOT, "hosts/reference");
const PY = "/usr/bin/python3";
const python = spawnSync(PY, ["-c", "import yaml, packaging"], { encoding: "utf8" }).status === 0;
const declarations = await loadPluginDirDeclarations(path.join(ROOT, "fixtures"));
const twins = declarations.filter((d) => d.wheel !== null);

/** One boot of the suite: the root's plugins and the installed wheels (host A; host B's three boots). */
const BOOTS: Array<{ name: string; directories: PluginDirDeclaration[]; wheels: PluginDirDeclaration[] }> = [
  { name: "every folder", directories: declarations, wheels: [] },
  { name: "no plugin", directories: [], wheels: [] },
  { name: "the wheels alone", directories: [], wheels: twins },
  { name: "the wheels beside their folders", directories: declarations, wheels: twins },
];

const SCRIPT = [
  "import glob, json, sys, zipfile",
  "root, site, requests = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])",
  "for whl in sorted(glob.glob(site + '/*.whl')): zipfile.ZipFile(whl).extractall(site)",
  "sys.path.append(site)",
  "from distcheck_host.plugin_dirs import PluginDirectories",
  "from distcheck_host.registry import Registry",
  "from distcheck_host.sdk import Request",
  "registry = Registry()",
  "dirs = PluginDirectories(root=root, group='distcheck.plugins', registry=registry)",
  "dirs.load()",
  "answers = []",
  "for method, path in requests:",
  "    route = registry.find_route(method, path)",
  "    if route is None: answers.append({'method': method, 'path': path, 'status': 404, 'body': {'error': {'code': 'not_found'}}})",
  "    else: answers.append({'method': method, 'path': path, 'status': 200, 'body': route.handler(Request(method, path, {}, {}, b''))})",
  "print(json.dumps({'plugins': dirs.list_json(), 'permissions': dirs.permissions_json(), 'diagnostics': dirs.diagnostics,",
  "                  'routes': registry.as_json()['routes'], 'answers': answers}))",
].join("\n");

describe.skipIf(!python)("the reference host's plugin discovery, judged like the suite judges a booted host", () => {
  let dir: string;
  let n = 0;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "distcheck-plugin-judge-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Renders one boot's root and wheels, runs discovery with the host source at `src`, returns the facts and what it showed. */
  function boot(src: string, b: (typeof BOOTS)[number]): { facts: PluginDirFacts; seen: PluginDirObservation } {
    const base = path.join(dir, `boot-${++n}`);
    const root = path.join(base, "root");
    const site = path.join(base, "site");
    mkdirSync(site, { recursive: true });
    for (const f of renderPluginRoot(b.directories)) {
      mkdirSync(path.dirname(path.join(root, f.path)), { recursive: true });
      writeFileSync(path.join(root, f.path), f.content);
    }
    for (const d of b.wheels) writeFileSync(path.join(site, buildPluginWheel(d).fileName), buildPluginWheel(d).bytes);
    const facts = { root, directories: b.directories, wheels: b.wheels };
    const requests = pluginDirRequests(predictPluginDirectories(facts)).map((r) => [r.method, r.path]);
    const r = spawnSync(PY, ["-c", SCRIPT, root, site, JSON.stringify(requests)], { encoding: "utf8", env: { ...process.env, PYTHONPATH: src, PYTHONDONTWRITEBYTECODE: "1" } });
    if (r.status !== 0) throw new Error(`discovery failed (${src}): ${r.stderr}`);
    return { facts, seen: JSON.parse(r.stdout) as PluginDirObservation };
  }

  it.for(BOOTS.map((b) => [b.name, b] as const))("agrees with the oracle: %s", ([, b]) => {
    const { facts, seen } = boot(path.join(HOST, "src"), b);
    expect(judgePluginDirectories(predictPluginDirectories(facts), seen)).toEqual([]);
  });

  it("finds each way a host can differ", () => {
    const { facts, seen } = boot(path.join(HOST, "src"), BOOTS[0]!);
    const prediction = predictPluginDirectories(facts);
    const judged = (change: (s: PluginDirObservation) => void): string[] => {
      const copy = structuredClone(seen);
      change(copy);
      return judgePluginDirectories(prediction, copy);
    };
    expect(judged((s) => s.plugins.pop())).toEqual([expect.stringMatching(/is not listed$/)]);
    expect(judged((s) => (s.plugins[0]!.version = "9.9.9"))).toEqual([expect.stringMatching(/is listed as .*"version":"9.9.9"/)]);
    expect(judged((s) => (s.plugins.find((p) => p.warnings.length > 0)!.warnings = []))).toEqual([expect.stringMatching(/warnings \[\], expected one naming each of/)]);
    expect(judged((s) => s.routes.push({ method: "GET", path: "/plugins/pharmacy/stock", owner: "plugin:pharmacy" }))).toEqual(expect.arrayContaining([expect.stringMatching(/^registry routes/), expect.stringMatching(/is in the registry although the plugin was skipped/)]));
    expect(judged((s) => (s.answers.find((a) => a.status === 200)!.body = { other: 1 }))).toEqual([expect.stringMatching(/answered 200 \{"other":1\}, expected 200/)]);
    expect(judged((s) => (s.answers.find((a) => a.path === "/plugins/radiology/reports")!.status = 200))).toEqual([expect.stringMatching(/radiology\/reports answered 200 .*expected 404/)]);
    expect(judged((s) => s.permissions.push({ permission: "scan.read", plugin: "radiology" }))).toEqual(expect.arrayContaining([expect.stringMatching(/^the permission catalog/), expect.stringMatching(/its permission scan.read is registered/)]));
    expect(judged((s) => (s.diagnostics = s.diagnostics.filter((d) => d.code !== "plugin_slug_mismatch"))).length).toBeGreaterThanOrEqual(2);
    expect(judged((s) => (s.diagnostics.find((d) => d.code === "plugin_slug_invalid")!.message = "bad folder"))).not.toEqual([]);
    expect(judged((s) => (s.diagnostics.find((d) => d.code === "plugin_manifest_unknown_field")!.level = "error"))).not.toEqual([]);
    expect(judged((s) => s.diagnostics.push({ ...s.diagnostics[0]! }))).not.toEqual([]);
  });

  // The DIR mutants (hosts/reference/mutants/dir*.json), each applied to a copy of the host source.
  const mutants = readdirSync(mutantsDir(HOST)).filter((f) => /^dir\d\d-.*\.json$/.test(f)).map((f) => f.replace(/\.json$/, "")).sort();

  it("has a DIR mutant per clause", () => {
    for (const clause of ["dir01", "dir02", "dir03"]) expect(mutants.some((m) => m.startsWith(`${clause}-`)), clause).toBe(true);
  });

  it.for(mutants.map((m) => [m] as const))("%s is caught on at least one of the suite's boots", ([name]) => {
    const src = path.join(dir, `mutant-${name}`);
    cpSync(path.join(HOST, "src"), path.join(src, "src"), { recursive: true });
    for (const [file, text] of applyMutantEdits(HOST, name, loadMutantEdits(HOST, name))) writeFileSync(path.join(src, file), text);
    const caught = BOOTS.map((b) => {
      const { facts, seen } = boot(path.join(src, "src"), b);
      return judgePluginDirectories(predictPluginDirectories(facts), seen).length;
    });
    expect(caught.some((c) => c > 0), `problems per boot: ${caught.join(", ")}`).toBe(true);
  });
});
