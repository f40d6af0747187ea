import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadPluginDirDeclarations, type PluginDirDeclaration } from "../fixtures/declarations/plugin-dir-declaration.ts";
import { checkPluginManifest, predictPluginDirectories } from "./plugin-directory-oracle.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const declarations = await loadPluginDirDeclarations(path.join(ROOT, "fixtures"));
const decl = (name: string): PluginDirDeclaration => {
  const d = declarations.find((x) => x.name === name);
  if (!d) throw new Error(`no plugin-dir declaration ${name}`);
  return d;
};
const PLUGINS_ROOT = "/srv/plugins";
const twins = declarations.filter((d) => d.wheel !== null);

const with_ = (d: PluginDirDeclaration, change: Partial<PluginDirDeclaration>): PluginDirDeclaration => ({ ...d, ...change });

describe("predictPluginDirectories", () => {
  const all = predictPluginDirectories({ root: PLUGINS_ROOT, directories: declarations, wheels: [] });

  it("agrees with what every declaration's author predicted", () => {
    expect(declarations.length).toBeGreaterThanOrEqual(13);
    for (const d of declarations) {
      const outcome = all.outcomes.find((o) => o.fixture === d.name && o.source === "directory");
      const p = d.predicted;
      expect(outcome, d.name).toMatchObject(p.loads ? { fixture: d.name, source: "directory", loads: true } : { fixture: d.name, source: "directory", loads: false, code: p.diagnostic });
      expect(outcome!.path).toBe(`${PLUGINS_ROOT}/plugins/${d.folder}`);
      if (p.loads) expect(all.plugins.find((x) => x.fixture === d.name)?.unknownFields, d.name).toEqual(p.warnings);
    }
  });

  it("covers every way to break each clause the suite checks", () => {
    const codes = new Set(all.outcomes.filter((o) => !o.loads).map((o) => o.code));
    for (const code of ["plugin_manifest_malformed", "plugin_manifest_invalid", "plugin_slug_invalid", "plugin_slug_mismatch", "plugin_router_failed"]) expect(codes, code).toContain(code);
    expect(all.diagnostics.some((d) => d.code === "plugin_manifest_unknown_field" && d.level === "warning")).toBe(true);
    expect(twins.length).toBeGreaterThan(0);
  });

  it("lists the loaded plugins field for field, routes mounted at /plugins/<name><path>, sorted", () => {
    const h = all.plugins.find((p) => p.name === "healthcare")!;
    expect(h).toMatchObject({
      source: "directory",
      path: "/srv/plugins/plugins/healthcare",
      display_name: "Healthcare",
      routes: [
        { method: "GET", path: "/plugins/healthcare/doctors" },
        { method: "GET", path: "/plugins/healthcare/patients" },
        { method: "POST", path: "/plugins/healthcare/patients" },
      ],
      dbt_workspace: "dbt/",
      unknownFields: [],
    });
    expect(h.answers).toContainEqual({ method: "POST", path: "/plugins/healthcare/patients", status: 200, body: { fixture: "healthcare", route: "POST /patients" } });
    expect(all.plugins.find((p) => p.name === "inventory")).toMatchObject({ display_name: null, routers: [], routes: [], permissions: [], nav: [], seed_groups: [], frontend_entry: null, dbt_workspace: null });
    expect(all.plugins.map((p) => p.name)).toEqual([...all.plugins.map((p) => p.name)].sort());
  });

  it("registers the permissions of loaded plugins only, sorted by permission", () => {
    expect(all.permissions.map((p) => p.plugin).sort()).toEqual(["finance", "finance", "healthcare", "healthcare", "healthcare", "reporting"]);
    expect(all.permissions.map((p) => p.permission)).toEqual([...all.permissions.map((p) => p.permission)].sort());
    expect(all.permissions.some((p) => ["scan.read", "stock.read", "invoice.read"].includes(p.permission))).toBe(false);
  });

  it("names the file, the code's subject and the plugin (when known) in each diagnostic", () => {
    const by = (fixture: string) => all.diagnostics.filter((d) => d.fixture === fixture);
    expect(by("slug-mismatch")).toEqual([{ fixture: "slug-mismatch", source: "directory", code: "plugin_slug_mismatch", level: "error", extensionId: "invoicing", file: "/srv/plugins/plugins/billing/plugin.yaml", mustName: ["billing", "invoicing"] }]);
    expect(by("malformed-yaml")).toMatchObject([{ code: "plugin_manifest_malformed", extensionId: null, file: "/srv/plugins/plugins/broken-yaml/plugin.yaml" }]);
    expect(by("missing-name")).toMatchObject([{ code: "plugin_manifest_invalid", extensionId: null, mustName: ["name"] }]);
    expect(by("missing-version")).toMatchObject([{ code: "plugin_manifest_invalid", extensionId: "no-version", mustName: ["version"] }]);
    expect(by("router-attr-missing")).toMatchObject([{ code: "plugin_router_failed", mustName: ["plugins.pharmacy.orders:router"] }]);
    expect(by("unknown-field").map((d) => [d.code, d.level, d.mustName])).toEqual([["plugin_manifest_unknown_field", "warning", ["sidebar_color"]], ["plugin_manifest_unknown_field", "warning", ["owner"]]]);
  });

  it("says which routes of skipped plugins must answer nothing (a router that worked included)", () => {
    expect(all.unmounted).toEqual(expect.arrayContaining([
      { fixture: "router-attr-missing", method: "GET", path: "/plugins/pharmacy/stock" },
      { fixture: "router-import-fails", method: "GET", path: "/plugins/radiology/reports" },
      { fixture: "slug-mismatch", method: "GET", path: "/plugins/invoicing/invoices" },
      { fixture: "missing-version", method: "GET", path: "/plugins/no-version/ping" },
    ]));
  });

  it("reports a wheel plugin like its directory twin apart from source and path", () => {
    const d = decl("finance");
    const dir = predictPluginDirectories({ root: PLUGINS_ROOT, directories: [d], wheels: [] }).plugins;
    const wheel = predictPluginDirectories({ root: "/none", directories: [], wheels: [d] });
    expect(wheel.plugins).toHaveLength(1);
    expect(wheel.plugins[0]).toMatchObject({ source: "wheel", path: "entry point finance" });
    const strip = (ps: typeof dir) => ps.map(({ source: _s, path: _p, ...rest }) => rest);
    expect(strip(wheel.plugins)).toEqual(strip(dir));
    expect(wheel.diagnostics).toEqual([]);
  });

  it("keeps the directory plugin when a wheel has its name, and reports the wheel as a duplicate", () => {
    const d = decl("finance");
    const both = predictPluginDirectories({ root: PLUGINS_ROOT, directories: [d], wheels: [d] });
    expect(both.plugins.map((p) => [p.name, p.source])).toEqual([["finance", "directory"]]);
    expect(both.diagnostics).toEqual([{ fixture: "finance", source: "wheel", code: "plugin_duplicate_name", level: "error", extensionId: "finance", file: "entry point finance", mustName: ["finance"] }]);
    // The duplicate's routes are the directory twin's: they answer.
    expect(both.unmounted).toEqual([]);
  });

  it("skips a wheel plugin whose name is not a slug, and a folder named well whose router module is missing", () => {
    const d = decl("finance");
    const bad = with_(d, { manifest: { ...d.manifest, name: "Finance" } });
    expect(predictPluginDirectories({ root: "/r", directories: [], wheels: [bad] }).outcomes).toEqual([{ fixture: "finance", source: "wheel", loads: false, code: "plugin_manifest_invalid", path: "entry point finance", declaredPermissions: ["ledger.read", "ledger.write"] }]);
    const lost = with_(d, { modules: [] });
    expect(predictPluginDirectories({ root: "/r", directories: [lost], wheels: [] }).outcomes[0]).toMatchObject({ loads: false, code: "plugin_router_failed" });
  });

  it("checks the manifest's fields like the host: strict SemVer, types, router references", () => {
    const ok = { name: "a", version: "1.0.0" };
    expect(checkPluginManifest(ok)).toEqual([]);
    expect(checkPluginManifest({ ...ok, version: "1.0.0-rc.1+build.5", display_name: null, extra: 1 })).toEqual(["extra"]);
    for (const bad of [{ ...ok, version: "v1.0.0" }, { ...ok, version: "1.0" }, { ...ok, version: "01.0.0" }, { ...ok, version: 1 }, { version: "1.0.0" }, { ...ok, name: "" },
      { ...ok, routers: "plugins.a.b:router" }, { ...ok, routers: ["no-colon"] }, { ...ok, permissions: [1] }, { ...ok, nav: [{ label: "x" }] }, { ...ok, seed_groups: [{ name: "g" }] }, { ...ok, frontend_entry: 3 }]) {
      expect(() => checkPluginManifest(bad as Record<string, unknown>), JSON.stringify(bad)).toThrow("plugin_manifest_invalid");
    }
  });
});
