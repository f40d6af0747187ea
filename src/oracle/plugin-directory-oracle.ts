import { PLUGIN_DIAGNOSTIC_CODES, type PluginDirDeclaration, type PluginRouteDeclaration } from "../fixtures/declarations/plugin-dir-declaration.ts";
import { normaliseDistribution } from "./wheel-judge.ts";

/**
 * What the contract predicts for plugin directories (DIR-01..03), from the fixture declarations alone
 * (`fixtures/plugin-dirs/*.json`) and the facts the suite set (the plugins root, which plugins sit in
 * it, which are installed as wheels), never from a host's answer. The rules are the agreed interface
 * (hosts/reference/SEED-SYSTEMS.md, "DIR"):
 *
 * - DIR-01: a plugin is `<root>/plugins/<slug>/plugin.yaml`; the slug is `^[a-z0-9]+(-[a-z0-9]+)*$`
 *   (`plugin_slug_invalid`) and equals the manifest's `name` (`plugin_slug_mismatch`).
 * - DIR-02: discovery never raises; a plugin.yaml that is not a YAML mapping is
 *   `plugin_manifest_malformed`, a required field missing or a field of the wrong type or value
 *   `plugin_manifest_invalid`; each skips only that plugin. An unknown field is a warning
 *   (`plugin_manifest_unknown_field`) and the plugin loads.
 * - DIR-03: every route of every router is mounted at `/plugins/<name><path>` and the permissions are
 *   registered, or nothing of the plugin is when a router fails (`plugin_router_failed`); a wheel with
 *   an entry point in the plugin group is discovered the same way (its `name` must be a slug), after
 *   the folders, and one with the name of a plugin already loaded is `plugin_duplicate_name`.
 *
 * Checks run in a fixed order and a skipped plugin has exactly one diagnostic: folder: malformed,
 * slug invalid, fields, slug mismatch, routers; wheel: fields, duplicate, routers.
 */

export const PLUGIN_SLUG = /^[a-z0-9]+(-[a-z0-9]+)*$/;
/** Strict SemVer 2.0.0, as the host checks `version`. */
export const STRICT_SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;
/** `dotted.module:attribute`; module segments may hold hyphens (slug folders). */
export const ROUTER_REF = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*:[A-Za-z_][A-Za-z0-9_]*$/;
/** The manifest's fields; any other is an unknown field. */
export const PLUGIN_FIELDS = ["name", "version", "display_name", "routers", "dbt_workspace", "frontend_entry", "nav", "permissions", "seed_groups"] as const;

/** Every diagnostic code of plugin discovery: the skips and the unknown-field warning. */
export const PLUGIN_DIR_DIAGNOSTIC_CODES: readonly string[] = [...PLUGIN_DIAGNOSTIC_CODES, "plugin_manifest_unknown_field"];

export type PluginSource = "directory" | "wheel";

/** The facts of one boot: the root the host was given, the plugins rendered into it, the wheels installed. */
export interface PluginDirFacts {
  /** The host's plugins root; folders are `<root>/plugins/<folder>`. */
  root: string;
  /** Declarations whose folder is in the root. */
  directories: readonly PluginDirDeclaration[];
  /** Declarations installed as wheels (their `wheel` form). */
  wheels: readonly PluginDirDeclaration[];
}

/** A route's expected answer: status 200 and the declared JSON. */
export interface ExpectedPluginAnswer {
  method: string;
  path: string;
  status: number;
  body: unknown;
}

/** A plugin the host must list (GET /api/plugins), field for field. */
export interface ExpectedPlugin {
  fixture: string;
  name: string;
  version: string;
  display_name: string | null;
  source: PluginSource;
  /** The folder `<root>/plugins/<folder>`, or `entry point <name>`. */
  path: string;
  routers: string[];
  /** Mounted routes, sorted by path, then method. */
  routes: Array<{ method: string; path: string }>;
  permissions: string[];
  nav: unknown[];
  seed_groups: unknown[];
  frontend_entry: string | null;
  dbt_workspace: string | null;
  /** Unknown fields, in manifest order: each is one warning naming it. */
  unknownFields: string[];
  answers: ExpectedPluginAnswer[];
}

/** A diagnostic the host must report. Its message must name `file` and every word of `mustName`. */
export interface ExpectedPluginDiagnostic {
  fixture: string;
  source: PluginSource;
  code: string;
  level: "error" | "warning";
  /** The manifest's `name` when it is a non-empty string, else null. */
  extensionId: string | null;
  /** The path of plugin.yaml, or `entry point <name>`. */
  file: string;
  mustName: string[];
}

/** One declaration's fate in one form. */
export interface PluginOutcome {
  fixture: string;
  source: PluginSource;
  loads: boolean;
  /** The diagnostic code of a skipped plugin. */
  code?: string;
  /** Where it comes from: `<root>/plugins/<folder>`, or `entry point <name>`. */
  path: string;
  /** The permissions its manifest declares (registered only when it loads). */
  declaredPermissions: string[];
}

export interface PluginDirPrediction {
  /** Loaded plugins sorted by name. */
  plugins: ExpectedPlugin[];
  /** The permission catalog, sorted by permission, then plugin. */
  permissions: Array<{ permission: string; plugin: string }>;
  diagnostics: ExpectedPluginDiagnostic[];
  outcomes: PluginOutcome[];
  /** Routes of skipped plugins that no loaded plugin mounts: they must answer 404. */
  unmounted: Array<{ fixture: string; method: string; path: string }>;
}

class Skip extends Error {
  constructor(readonly code: string, readonly mustName: string[]) {
    super(code);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === "string";
const present = (m: Record<string, unknown>, key: string): boolean => m[key] !== undefined && m[key] !== null;

function stringList(m: Record<string, unknown>, key: string): void {
  if (!present(m, key)) return;
  const v = m[key];
  if (!Array.isArray(v) || !v.every((s) => isString(s) && s.trim() !== "")) throw new Skip("plugin_manifest_invalid", [key]);
}

/** The fields' rules (SEED-SYSTEMS.md, DIR); returns the unknown fields, throws Skip. */
export function checkPluginManifest(m: Record<string, unknown>): string[] {
  for (const key of ["name", "version"]) {
    if (!present(m, key) || !isString(m[key]) || (m[key] as string).trim() === "") throw new Skip("plugin_manifest_invalid", [key]);
  }
  if (!STRICT_SEMVER.test(m.version as string)) throw new Skip("plugin_manifest_invalid", ["version"]);
  for (const key of ["display_name", "dbt_workspace", "frontend_entry"]) if (present(m, key) && !isString(m[key])) throw new Skip("plugin_manifest_invalid", [key]);
  stringList(m, "permissions");
  stringList(m, "routers");
  for (const ref of (m.routers as string[] | undefined) ?? []) if (!ROUTER_REF.test(ref)) throw new Skip("plugin_manifest_invalid", [ref]);
  if (present(m, "nav")) {
    const nav = m.nav;
    const ok = Array.isArray(nav) && nav.every((i) => isObject(i) && isString(i.label) && isString(i.path) && (i.icon === undefined || isString(i.icon)));
    if (!ok) throw new Skip("plugin_manifest_invalid", ["nav"]);
  }
  if (present(m, "seed_groups")) {
    const groups = m.seed_groups;
    const ok = Array.isArray(groups) && groups.every((g) => isObject(g) && isString(g.name) && g.name.trim() !== "" && Array.isArray(g.permissions) && g.permissions.every(isString));
    if (!ok) throw new Skip("plugin_manifest_invalid", ["seed_groups"]);
  }
  return Object.keys(m).filter((k) => !(PLUGIN_FIELDS as readonly string[]).includes(k));
}

type Modules = Map<string, { fixture: string; import: "ok" | "error"; routers: Record<string, PluginRouteDeclaration[]> }>;

function resolveRouters(manifest: Record<string, unknown>, name: string, modules: Modules): ExpectedPluginAnswer[] {
  const answers: ExpectedPluginAnswer[] = [];
  const seen = new Set<string>();
  for (const ref of (manifest.routers as string[] | undefined) ?? []) {
    const [module, attr] = ref.split(":") as [string, string];
    const m = modules.get(module);
    // An undeclared module does not exist; a declared one may fail to import or lack the attribute.
    if (!m || m.import === "error" || !Object.hasOwn(m.routers, attr)) throw new Skip("plugin_router_failed", [ref]);
    for (const r of m.routers[attr]!) {
      const path = `/plugins/${name}${r.path}`;
      if (seen.has(`${r.method} ${path}`)) throw new Skip("plugin_router_failed", [ref]);
      seen.add(`${r.method} ${path}`);
      answers.push({ method: r.method, path, status: 200, body: r.response });
    }
  }
  return answers;
}

function expectedPlugin(d: PluginDirDeclaration, m: Record<string, unknown>, source: PluginSource, path: string, unknownFields: string[], answers: ExpectedPluginAnswer[]): ExpectedPlugin {
  const list = (key: string): unknown[] => (Array.isArray(m[key]) ? [...(m[key] as unknown[])] : []);
  const str = (key: string): string | null => (isString(m[key]) ? (m[key] as string) : null);
  const routes = answers.map((a) => ({ method: a.method, path: a.path })).sort((a, b) => (a.path === b.path ? cmp(a.method, b.method) : cmp(a.path, b.path)));
  return {
    fixture: d.name,
    name: m.name as string,
    version: m.version as string,
    display_name: str("display_name"),
    source,
    path,
    routers: list("routers") as string[],
    routes,
    permissions: list("permissions") as string[],
    nav: list("nav"),
    seed_groups: list("seed_groups"),
    frontend_entry: str("frontend_entry"),
    dbt_workspace: str("dbt_workspace"),
    unknownFields,
    answers,
  };
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The manifest's name when it is a non-empty string: the diagnostic's `extension_id`. */
function nameOf(m: Record<string, unknown> | null): string | null {
  return m && isString(m.name) && m.name.trim() !== "" ? m.name : null;
}

/** Predicts one boot: which plugins load with what, the permission catalog, every diagnostic. */
export function predictPluginDirectories(facts: PluginDirFacts): PluginDirPrediction {
  const root = facts.root.replace(/\/+$/, "");
  const modules: Modules = new Map();
  for (const d of [...facts.directories, ...facts.wheels]) for (const m of d.modules) modules.set(m.module, { fixture: d.name, import: m.import, routers: m.routers });
  const loaded = new Map<string, ExpectedPlugin>();
  const diagnostics: ExpectedPluginDiagnostic[] = [];
  const outcomes: PluginOutcome[] = [];
  const skippedRoutes: Array<{ fixture: string; method: string; path: string }> = [];

  const judge = (d: PluginDirDeclaration, source: PluginSource, file: string, path: string, manifest: Record<string, unknown> | null, check: (m: Record<string, unknown>) => void): void => {
    const declaredPermissions = Array.isArray(manifest?.permissions) ? (manifest.permissions as unknown[]).filter(isString) : [];
    try {
      if (manifest === null) throw new Skip("plugin_manifest_malformed", []);
      check(manifest);
      const unknownFields = checkPluginManifest(manifest);
      const name = manifest.name as string;
      const answers = resolveRouters(manifest, name, modules);
      const plugin = expectedPlugin(d, manifest, source, path, unknownFields, answers);
      loaded.set(name, plugin);
      outcomes.push({ fixture: d.name, source, loads: true, path, declaredPermissions });
      for (const field of unknownFields) diagnostics.push({ fixture: d.name, source, code: "plugin_manifest_unknown_field", level: "warning", extensionId: name, file, mustName: [field] });
    } catch (error) {
      if (!(error instanceof Skip)) throw error;
      outcomes.push({ fixture: d.name, source, loads: false, code: error.code, path, declaredPermissions });
      diagnostics.push({ fixture: d.name, source, code: error.code, level: "error", extensionId: nameOf(manifest), file, mustName: error.mustName });
      const name = nameOf(manifest) ?? d.folder;
      for (const m of d.modules) for (const routes of Object.values(m.routers)) for (const r of routes) skippedRoutes.push({ fixture: d.name, method: r.method, path: `/plugins/${name}${r.path}` });
    }
  };

  for (const d of [...facts.directories].sort((a, b) => cmp(a.folder, b.folder))) {
    const file = `${root}/plugins/${d.folder}/plugin.yaml`;
    judge(d, "directory", file, `${root}/plugins/${d.folder}`, d.manifest, (m) => {
      if (!PLUGIN_SLUG.test(d.folder)) throw new Skip("plugin_slug_invalid", [d.folder]);
      checkPluginManifest(m);
      if (m.name !== d.folder) throw new Skip("plugin_slug_mismatch", [d.folder, m.name as string]);
    });
  }
  const wheels = facts.wheels.map((d) => {
    if (!d.wheel) throw new RangeError(`fixtures/plugin-dirs/${d.name}.json has no wheel form`);
    return { d, wheel: d.wheel };
  });
  wheels.sort((a, b) => cmp(normaliseDistribution(a.wheel.distribution), normaliseDistribution(b.wheel.distribution)) || cmp(a.wheel.entryPoint, b.wheel.entryPoint));
  for (const { d, wheel } of wheels) {
    const file = `entry point ${wheel.entryPoint}`;
    judge(d, "wheel", file, file, d.manifest, (m) => {
      checkPluginManifest(m);
      const name = m.name as string;
      if (!PLUGIN_SLUG.test(name)) throw new Skip("plugin_manifest_invalid", ["name", name]);
      if (loaded.has(name)) throw new Skip("plugin_duplicate_name", [name]);
    });
  }

  const plugins = [...loaded.values()].sort((a, b) => cmp(a.name, b.name));
  const permissionPairs = new Map<string, { permission: string; plugin: string }>();
  for (const p of plugins) for (const permission of p.permissions) permissionPairs.set(`${permission}\0${p.name}`, { permission, plugin: p.name });
  const permissions = [...permissionPairs.values()].sort((a, b) => cmp(a.permission, b.permission) || cmp(a.plugin, b.plugin));
  const mounted = new Set(plugins.flatMap((p) => p.routes.map((r) => `${r.method} ${r.path}`)));
  const unmounted = skippedRoutes.filter((r) => !mounted.has(`${r.method} ${r.path}`));
  return { plugins, permissions, diagnostics, outcomes, unmounted };
}
