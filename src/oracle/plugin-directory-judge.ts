import type { HostDiagnostic } from "./wheel-judge.ts";
import type { ExpectedPlugin, ExpectedPluginDiagnostic, PluginDirPrediction, PluginSource } from "./plugin-directory-oracle.ts";

/**
 * Compares what a host showed of its plugin directories in one boot (DIR-01..03) with the oracle's
 * prediction (`plugin-directory-oracle.ts`). Each function returns one message per difference, empty
 * when the host agrees, so a test asserts `toEqual([])` and a failure says exactly what differs.
 */

/** A plugin as a host lists it (the wire's `DiscoveredPlugin`). */
export interface ListedPlugin {
  name: string;
  version: string;
  display_name?: string | null;
  source: string;
  path: string;
  routers: string[];
  routes: Array<{ method: string; path: string }>;
  permissions: string[];
  nav?: unknown;
  seed_groups?: unknown;
  frontend_entry?: string | null;
  dbt_workspace?: string | null;
  warnings: string[];
}

export type PluginDiagnostic = HostDiagnostic & { level?: string | null };

/** What one boot showed: the DIR API, the DIR diagnostics, the routes under /plugins/ and what the asked routes answered. */
export interface PluginDirObservation {
  plugins: ListedPlugin[];
  permissions: Array<{ permission: string; plugin: string }>;
  /** Only the DIR codes (PLUGIN_DIR_DIAGNOSTIC_CODES). */
  diagnostics: PluginDiagnostic[];
  /** Registry routes under /plugins/ or owned by a plugin. */
  routes: Array<{ method: string; path: string; owner?: string }>;
  /** The answers to `pluginDirRequests(prediction)`. */
  answers: Array<{ method: string; path: string; status: number; body: unknown }>;
}

/** The requests an observation must answer: every predicted route, and every route that must answer nothing. */
export function pluginDirRequests(prediction: PluginDirPrediction): Array<{ method: string; path: string }> {
  return [...prediction.plugins.flatMap((p) => p.answers), ...prediction.unmounted].map(({ method, path }) => ({ method, path }));
}

/** A listed plugin in the wire's fields, optional ones a host leaves out as null or empty, without warnings. */
export function listedFields(p: ListedPlugin) {
  return {
    name: p.name,
    version: p.version,
    display_name: p.display_name ?? null,
    source: p.source,
    path: p.path,
    routers: p.routers,
    routes: p.routes,
    permissions: p.permissions,
    nav: p.nav ?? [],
    seed_groups: p.seed_groups ?? [],
    frontend_entry: p.frontend_entry ?? null,
    dbt_workspace: p.dbt_workspace ?? null,
  };
}

/** The same fields of a predicted plugin. */
export function expectedFields({ fixture: _f, unknownFields: _u, answers: _a, ...rest }: ExpectedPlugin): ReturnType<typeof listedFields> {
  return rest;
}

/** The host's diagnostics matching a predicted one: code, level, plugin, and a message naming the file and every subject. */
export function matchingDiagnostics(seen: PluginDiagnostic[], d: ExpectedPluginDiagnostic): PluginDiagnostic[] {
  return seen.filter((x) => x.code === d.code && (x.level ?? "error") === d.level && (x.extension_id ?? null) === d.extensionId && [d.file, ...d.mustName].every((w) => x.message.includes(w)));
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * The plugins predicted skipped (these fixtures, in this form): exactly one diagnostic naming the
 * file, not listed, none of their routes in the registry or answering, none of their permissions
 * registered (unless a plugin that loads declares the same one).
 */
export function skipProblems(prediction: PluginDirPrediction, seen: PluginDirObservation, fixtures: string[], source: PluginSource = "directory"): string[] {
  const problems: string[] = [];
  const kept = new Set(prediction.permissions.map((p) => p.permission));
  for (const fixture of fixtures) {
    const outcome = prediction.outcomes.find((o) => o.fixture === fixture && o.source === source);
    if (!outcome || outcome.loads) throw new RangeError(`the oracle does not predict that ${fixture} (${source}) is skipped: the test's subjects are wrong`);
    const expected = prediction.diagnostics.filter((d) => d.fixture === fixture && d.source === source);
    for (const d of expected) {
      if (matchingDiagnostics(seen.diagnostics, d).length !== 1) problems.push(`${fixture}: expected one ${d.level} diagnostic ${d.code} for ${d.extensionId ?? "(no name)"} whose message names ${[d.file, ...d.mustName].join(", ")}`);
    }
    const file = expected[0]!.file;
    const about = seen.diagnostics.filter((x) => x.message.includes(file));
    if (about.length !== 1) problems.push(`${fixture}: ${about.length} diagnostics name ${file}, expected exactly one: ${JSON.stringify(about)}`);
    if (seen.plugins.some((p) => p.path === outcome.path)) problems.push(`${fixture}: ${outcome.path} is listed although it was skipped`);
    for (const perm of outcome.declaredPermissions) {
      if (!kept.has(perm) && seen.permissions.some((p) => p.permission === perm)) problems.push(`${fixture}: its permission ${perm} is registered although the plugin was skipped`);
    }
    for (const r of prediction.unmounted.filter((u) => u.fixture === fixture)) {
      const a = seen.answers.find((x) => x.method === r.method && x.path === r.path);
      if (a?.status !== 404) problems.push(`${fixture}: ${r.method} ${r.path} answered ${a?.status} ${JSON.stringify(a?.body)}, expected 404 (the plugin was skipped whole)`);
      if (seen.routes.some((x) => x.method === r.method && x.path === r.path)) problems.push(`${fixture}: ${r.method} ${r.path} is in the registry although the plugin was skipped`);
    }
  }
  return problems;
}

/** The listing: the predicted plugins and no other, field for field, each warning naming its unknown field. */
export function listingProblems(prediction: PluginDirPrediction, seen: PluginDirObservation): string[] {
  const problems: string[] = [];
  const want = prediction.plugins.map(expectedFields);
  for (const w of want) {
    const g = seen.plugins.find((x) => x.name === w.name);
    if (!g) problems.push(`${w.name} (${w.source}) is not listed`);
    else if (!same(listedFields(g), w)) problems.push(`${w.name} is listed as ${JSON.stringify(listedFields(g))}, expected ${JSON.stringify(w)}`);
  }
  for (const g of seen.plugins) if (!want.some((w) => w.name === g.name)) problems.push(`${g.name} is listed but the oracle predicts no such plugin`);
  for (const p of prediction.plugins) {
    const entry = seen.plugins.find((x) => x.name === p.name);
    if (!entry) continue; // reported above
    const warnings = entry.warnings ?? [];
    if (warnings.length !== p.unknownFields.length || p.unknownFields.some((f, i) => !warnings[i]?.includes(f))) problems.push(`${p.name}: warnings ${JSON.stringify(warnings)}, expected one naming each of ${JSON.stringify(p.unknownFields)}`);
  }
  return problems;
}

/** DIR-03: the registry holds exactly the predicted routes under /plugins/, owner `plugin:<name>`, and each answers its declared JSON. */
export function routeProblems(prediction: PluginDirPrediction, seen: PluginDirObservation): string[] {
  const problems: string[] = [];
  const want = prediction.plugins.flatMap((p) => p.routes.map((r) => `${r.method} ${r.path} plugin:${p.name}`)).sort();
  const got = seen.routes.map((r) => `${r.method} ${r.path} ${r.owner}`).sort();
  if (!same(got, want)) problems.push(`registry routes under /plugins/ are ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
  for (const a of prediction.plugins.flatMap((p) => p.answers)) {
    const s = seen.answers.find((x) => x.method === a.method && x.path === a.path);
    if (s?.status !== a.status || !same(s.body, a.body)) problems.push(`${a.method} ${a.path} answered ${s?.status} ${JSON.stringify(s?.body)}, expected ${a.status} ${JSON.stringify(a.body)}`);
  }
  return problems;
}

/** DIR-03: the permission catalog is exactly the loaded plugins' permissions. */
export function permissionProblems(prediction: PluginDirPrediction, seen: PluginDirObservation): string[] {
  return same(seen.permissions, prediction.permissions) ? [] : [`the permission catalog is ${JSON.stringify(seen.permissions)}, expected ${JSON.stringify(prediction.permissions)}`];
}

/** Every predicted DIR diagnostic is reported, and no other. */
export function diagnosticProblems(prediction: PluginDirPrediction, seen: PluginDirObservation): string[] {
  const missing = prediction.diagnostics.filter((d) => matchingDiagnostics(seen.diagnostics, d).length === 0).map((d) => `missing: ${d.level} ${d.code} of ${d.fixture} (${d.source}) naming ${[d.file, ...d.mustName].join(", ")}`);
  const unexpected = seen.diagnostics.filter((x) => !prediction.diagnostics.some((d) => matchingDiagnostics([x], d).length > 0)).map((x) => `unexpected: ${JSON.stringify(x)}`);
  return [...missing, ...unexpected];
}

/** Everything of one boot. */
export function judgePluginDirectories(prediction: PluginDirPrediction, seen: PluginDirObservation): string[] {
  const skipped = (source: PluginSource) => prediction.outcomes.filter((o) => !o.loads && o.source === source).map((o) => o.fixture);
  return [
    ...listingProblems(prediction, seen),
    ...routeProblems(prediction, seen),
    ...permissionProblems(prediction, seen),
    ...diagnosticProblems(prediction, seen),
    ...skipProblems(prediction, seen, skipped("directory"), "directory"),
    ...skipProblems(prediction, seen, skipped("wheel"), "wheel"),
  ];
}
