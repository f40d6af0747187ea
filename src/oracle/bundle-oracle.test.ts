import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { loadBundleDeclarations, type BundleDeclaration } from "../fixtures/declarations/bundle-declaration.ts";
import { parseHostileCorpus } from "../fixtures/declarations/declaration-loader.ts";
import { DeclarationReader } from "../fixtures/declarations/declaration-reader.ts";
import type { HostileCorpusEntry } from "../fixtures/declarations/fixture-declaration.ts";
import { corpusBaseBytes, hasHostileBundle, HOSTILE_BUNDLE_BASE, type HostileBundleBase } from "../fixtures/bundles/bundle-renderer.ts";
import { CONTRACT_BUNDLE_LIMITS, predictBundleImport, predictHostileBundleImport, predictImportOf, predictLifecycle, type BundleLimits } from "./bundle-oracle.ts";
import { OracleError } from "./oracle-error.ts";

const FIXTURES = resolve(import.meta.dirname, "..", "..", "fixtures");
const bundles = loadBundleDeclarations(FIXTURES);
const bundle = (name: string): BundleDeclaration => {
  const found = bundles.find((b) => b.name === name);
  if (!found) throw new Error(`no bundle fixture ${name}`);
  return found;
};
const corpus = parseHostileCorpus(new DeclarationReader("fixtures/hostile/corpus.json", JSON.parse(readFileSync(resolve(FIXTURES, "hostile", "corpus.json"), "utf8"))));
const codes = (v: string | string[] | undefined): string[] => (v === undefined ? [] : [v].flat());
const limitsOf = (entry: HostileCorpusEntry): BundleLimits => ({
  maxFiles: entry.limit?.max_files ?? CONTRACT_BUNDLE_LIMITS.maxFiles,
  maxExtractedBytes: entry.limit?.max_extracted_bytes ?? CONTRACT_BUNDLE_LIMITS.maxExtractedBytes,
});

describe("the bundle oracle on the bundle fixtures", () => {
  it("finds the fixtures the suite needs: good ones, a raising activate, a missing module, an invalid manifest, a wrapped one, the hostile base", () => {
    expect(bundles.map((b) => b.name)).toEqual(expect.arrayContaining(["bnd-hello", "bnd-second", "bnd-activate-raises", "bnd-missing-module", "bnd-invalid-manifest", "bnd-wrapped", HOSTILE_BUNDLE_BASE]));
  });

  it.each(bundles.map((b) => [b.name, b] as const))("agrees with the author's expectation of %s", (_name, declaration) => {
    const imported = predictBundleImport(declaration);
    if (declaration.expect.outcome === "refused") {
      expect(imported).toMatchObject({ accepted: false, code: declaration.expect.code });
      expect(() => predictLifecycle(declaration)).toThrow(OracleError);
    } else {
      expect(imported.accepted).toBe(true);
      expect(predictLifecycle(declaration).activation.state).toBe(declaration.expect.outcome);
    }
  });

  it("predicts bnd-hello's routes and commands while activated, and its deactivate()", () => {
    const p = predictLifecycle(bundle("bnd-hello"));
    expect(p).toMatchObject({ name: "bnd-hello", version: "1.0.0", importStates: ["installed"] });
    expect(p.activation).toEqual({
      state: "activated",
      error: null,
      states: ["activating", "activated"],
      routes: [
        { method: "POST", path: "/echo", response: { bundle: "bnd-hello", echo: "fixed" } },
        { method: "GET", path: "/ping", response: { bundle: "bnd-hello", pong: true } },
      ],
      commands: ["bnd-hello.greet", "bnd-hello.open"],
      disposedRoutes: [],
      activatedModules: ["backend.main"],
    });
    expect(p.deactivation).toEqual({ state: "deactivated", states: ["deactivating", "deactivated"], deactivatedModules: ["backend.main"] });
  });

  it("calls deactivate() last module first", () => {
    expect(predictLifecycle(bundle("bnd-second")).deactivation?.deactivatedModules).toEqual(["backend.extra", "backend.main"]);
  });

  it("records the error of an activate() that raises and disposes what it registered before", () => {
    const p = predictLifecycle(bundle("bnd-activate-raises"));
    expect(p.activation).toMatchObject({
      state: "failed",
      error: "RuntimeError: distcheck: activate() fails on purpose",
      states: ["activating", "failed"],
      routes: [],
      commands: [],
      disposedRoutes: [{ method: "GET", path: "/before-failure", response: { bundle: "bnd-activate-raises" } }],
    });
    expect(p.deactivation).toBeUndefined();
  });

  it("names the offending values of an invalid manifest, the missing module and its file, the wrapper folder", () => {
    expect(predictBundleImport(bundle("bnd-invalid-manifest"))).toEqual({ accepted: false, code: "manifest_invalid", mustName: ["Not A Slug", "1.0"] });
    expect(predictBundleImport(bundle("bnd-missing-module"))).toEqual({ accepted: false, code: "manifest_invalid", mustName: ["missing_module.absent", "missing_module/absent.py"] });
    expect(predictBundleImport(bundle("bnd-wrapped"))).toEqual({ accepted: false, code: "manifest_missing", mustName: ["bnd-wrapped-1.0.0/"] });
    expect(predictBundleImport(bundle("bnd-not-a-zip"))).toEqual({ accepted: false, code: "not_a_zip", mustName: [] });
  });
});

describe("the bundle oracle's manifest rules", () => {
  const file = (name: string) => ({ name, kind: "file" as const, size: 10 });
  const judge = (manifest: Record<string, unknown>, names = ["manifest.json", "pkg/mod.py"]) => predictImportOf({ entries: names.map(file), manifest });
  const good = { name: "ok", version: "1.0.0", backend: { modules: ["pkg.mod"] } };

  it("accepts a minimal manifest, a package module and absent optional sections", () => {
    expect(judge(good)).toMatchObject({ accepted: true, name: "ok", version: "1.0.0", frontendEntry: null, backendModules: ["pkg.mod"] });
    expect(judge({ ...good, backend: { modules: ["pkg"] } }, ["manifest.json", "pkg/__init__.py"])).toMatchObject({ accepted: true });
    expect(judge({ name: "ok", version: "1.0.0", frontend: null, backend: null })).toMatchObject({ accepted: true, backendModules: [] });
    expect(judge({ ...good, unknown: 1 })).toMatchObject({ accepted: true });
  });

  it.each([
    ["a name with an uppercase letter", { ...good, name: "Ok" }],
    ["a name with a double hyphen", { ...good, name: "a--b" }],
    ["a version with a v", { ...good, version: "v1.0.0" }],
    ["a version with a leading zero", { ...good, version: "1.01.0" }],
    ["a missing version", { name: "ok" }],
    ["a frontend that is a string", { ...good, frontend: "x.js" }],
    ["an empty remoteEntry", { ...good, frontend: { remoteEntry: "" } }],
    ["modules that is a string", { ...good, backend: { modules: "pkg.mod" } }],
    ["a module named twice", { ...good, backend: { modules: ["pkg.mod", "pkg.mod"] } }],
    ["a module name with a hyphen", { ...good, backend: { modules: ["pkg.my-mod"] } }],
    ["contributions null", { ...good, contributions: null }],
    ["a command without id", { ...good, contributions: { commands: [{ title: "x" }] } }],
    ["views that is an object", { ...good, contributions: { views: {} } }],
  ])("refuses %s", (_what, manifest) => {
    expect(judge(manifest as Record<string, unknown>)).toMatchObject({ accepted: false, code: "manifest_invalid" });
  });

  it("judges entries before the manifest, types and names before duplicates and limits", () => {
    const entries = [file("manifest.json"), file("pkg/mod.py"), file("pkg/mod.py"), { name: "link", kind: "symlink" as const, size: 4 }];
    expect(predictImportOf({ entries, manifest: { name: "BAD" } })).toMatchObject({ code: "unsafe_entry", reason: "symlink", entry: "link" });
    expect(predictImportOf({ entries: entries.slice(0, 3), manifest: { name: "BAD" } })).toMatchObject({ code: "unsafe_entry", reason: "duplicate", entry: "pkg/mod.py" });
    const many = [file("manifest.json"), ...Array.from({ length: 5 }, (_, i) => file(`data/${i}`))];
    expect(predictImportOf({ entries: many, manifest: good }, { maxFiles: 5, maxExtractedBytes: 1000 })).toMatchObject({ code: "too_many_files" });
    expect(predictImportOf({ entries: many, manifest: good }, { maxFiles: 6, maxExtractedBytes: 59 })).toMatchObject({ code: "too_large_extracted" });
    expect(predictImportOf({ entries: [file("manifest.json"), file("manifest.json/x")], manifest: good })).toMatchObject({ code: "unsafe_entry", reason: "duplicate" });
  });
});

describe("the bundle oracle on the archive corpus's hostile bundles", () => {
  const base: HostileBundleBase = { declaration: bundle(HOSTILE_BUNDLE_BASE), corpusBaseBytes: corpusBaseBytes(FIXTURES) };
  const zipEntries = corpus.entries.filter(hasHostileBundle);

  it("has a hostile bundle for every corpus entry with a zip format", () => {
    expect(zipEntries.length).toBeGreaterThan(25);
    expect(corpus.entries.filter((e) => !hasHostileBundle(e)).every((e) => !e.formats.includes("zip"))).toBe(true);
  });

  it.each(zipEntries.map((e) => [e.name, e] as const))("agrees with the corpus on %s", (_name, entry) => {
    const p = predictHostileBundleImport(base, entry, limitsOf(entry));
    const expected = entry.expect;
    // A file name is not part of an upload: the format entries (ARC-01) are a good bundle's bytes.
    if (expected.outcome === "installed" || entry.clauses.every((c) => c === "ARC-01" || c === "ARC-07")) {
      if (entry.clauses.includes("ARC-01")) expect(entry.fileExtension, "an ARC-01 entry differs from a good archive only by its name").toBeDefined();
      expect(p).toMatchObject({ accepted: true, name: HOSTILE_BUNDLE_BASE });
      return;
    }
    expect(p.accepted).toBe(false);
    if (p.accepted) return;
    // ARC-06's root rule is the bundle's manifest_missing; every other code is the archive module's own.
    const wanted = codes(expected.code).map((c) => (c === "manifest_not_at_root" ? "manifest_missing" : c));
    expect(wanted).toContain(p.code);
    if (p.code === "unsafe_entry") {
      if (expected.reason !== undefined) expect(codes(expected.reason)).toContain(p.reason);
      if (expected.entry !== undefined) expect(p.entry).toBe(expected.entry);
    }
  });
});
