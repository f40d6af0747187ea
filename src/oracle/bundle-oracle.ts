import { entryNameProblem, entryTypeProblem, type UnsafeEntryReason } from "../certify/archive-entry-rules.ts";
import { modulePath, type BundleDeclaration, type BundleRouteDeclaration } from "../fixtures/declarations/bundle-declaration.ts";
import type { HostileCorpusEntry } from "../fixtures/declarations/fixture-declaration.ts";
import { bundleEntryFacts, hostileBundleEntryFacts, type BundleEntryFact, type HostileBundleBase } from "../fixtures/bundles/bundle-renderer.ts";
import type { ArchiveRecord } from "../fixtures/inspect/archive-records.ts";
import { OracleError } from "./oracle-error.ts";

/**
 * What the contract predicts for bundles imported over HTTP (BND-01..02), from a bundle declaration
 * alone (`fixtures/bundles/*.json`, or a good bundle plus an archive-corpus entry) and the host's
 * ARC-05 limits, never from a host's answer. The rules are the agreed interface
 * (hosts/reference/SEED-SYSTEMS.md, "BND"; INTERFACE.md, "Bundles (BND)"):
 *
 * - BND-01, in the order a careful host checks before storing anything: the body is a zip
 *   (`not_a_zip`); every entry by the ARC-04 rules, types and names first, entry by entry
 *   (`unsafe_entry` with its reason and entry; a zip local header that names another path is
 *   `name_mismatch`), then duplicates and the ARC-05 limits on the declared sizes and the file count
 *   (`unsafe_entry` `duplicate`, `too_large_extracted`, `too_many_files`); `manifest.json` at the
 *   root (`manifest_missing`); the manifest's fields: `name` a slug, `version` strict SemVer,
 *   `frontend`, `backend.modules`, `contributions` of the right shapes (`manifest_invalid`, every
 *   problem in one message); each backend module in the zip (`manifest_invalid`). A refusal stores
 *   nothing.
 * - BND-02: accepted → `installed`; activation → `activating`, then `activated`, or `failed` with
 *   `<ExceptionType>: <message>` of the first module whose `activate` raises, in manifest order (the
 *   manifest's commands are registered first; each module's routes, then its commands); while
 *   activated every declared route answers and the commands are the manifest's plus the code's; a
 *   failure and a deactivation dispose all of them; deactivation calls `deactivate()` last module
 *   first.
 */

/** The ARC-05 limits an import is checked against (the host's `max_files`, `max_extracted_bytes`). */
export interface BundleLimits {
  maxFiles: number;
  maxExtractedBytes: number;
}

/** The contract's ARC-05 limits, the host's defaults. */
export const CONTRACT_BUNDLE_LIMITS: Readonly<BundleLimits> = { maxFiles: 10_000, maxExtractedBytes: 2 * 1024 ** 3 };

export const BUNDLE_SLUG = /^[a-z0-9]+(-[a-z0-9]+)*$/;
/** Strict SemVer 2.0.0, as the host checks `version`. */
const STRICT_SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;
const MODULE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const MANIFEST = "manifest.json";
/** Entry names longer than this are reported shortened (the reference host quotes the first 80 characters). */
const MAX_NAME_BYTES = 4096;

export type ImportPrediction =
  | {
      accepted: false;
      code: string;
      /** `unsafe_entry` only. */
      reason?: UnsafeEntryReason;
      /** `unsafe_entry` only: the entry as the error names it. */
      entry?: string;
      /** Texts the refusal's message must contain (offending values, the module, the wrapper folder). */
      mustName: string[];
    }
  | { accepted: true; name: string; version: string; frontendEntry: string | null; backendModules: string[] };

export type Refusal = Extract<ImportPrediction, { accepted: false }>;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === "object" && !Array.isArray(v);
const refuse = (code: string, mustName: string[] = [], extra: { reason?: UnsafeEntryReason; entry?: string } = {}): Refusal => ({ accepted: false, code, ...extra, mustName });

function asRecord(fact: BundleEntryFact): ArchiveRecord {
  // A zip has no hard links: the zip path writes one as a regular file.
  const kind = fact.kind === "hardlink" ? "file" : fact.kind;
  return { name: fact.name, rawName: Buffer.from(fact.name, "utf8"), kind, permissions: 0, size: fact.size };
}

/** Pass one, entry by entry: type, name, local header name (the host reads every header before it counts). */
function headerProblem(entries: readonly BundleEntryFact[]): Refusal | undefined {
  for (const fact of entries) {
    const problem = entryTypeProblem(asRecord(fact)) ?? entryNameProblem(fact.name);
    if (problem) {
      const entry = problem.reason === "name_too_long" && Buffer.byteLength(fact.name) > MAX_NAME_BYTES ? `${fact.name.slice(0, 80)}...` : fact.name;
      return refuse("unsafe_entry", [], { reason: problem.reason, entry });
    }
    if (fact.localName !== undefined && fact.localName !== fact.name) return refuse("unsafe_entry", [], { reason: "name_mismatch", entry: fact.name });
  }
  return undefined;
}

/** Pass two, entry by entry: duplicates (a name twice, a file that is also a folder), the file count, the declared size. */
function countProblem(entries: readonly BundleEntryFact[], limits: BundleLimits): { refusal?: Refusal; files: Set<string> } {
  const explicit = new Set<string>();
  const files = new Set<string>();
  const parents = new Set<string>();
  let fileCount = 0;
  let members = 0;
  let declared = 0;
  for (const fact of entries) {
    const isDir = fact.kind === "directory" || fact.name.endsWith("/");
    const name = fact.name.endsWith("/") ? fact.name.slice(0, -1) : fact.name;
    const duplicate = () => ({ refusal: refuse("unsafe_entry", [], { reason: "duplicate", entry: fact.name }), files });
    if (explicit.has(name) || (!isDir && parents.has(name))) return duplicate();
    const parts = name.split("/");
    for (let depth = 1; depth < parts.length; depth++) {
      const parent = parts.slice(0, depth).join("/");
      if (files.has(parent)) return duplicate();
      parents.add(parent);
    }
    explicit.add(name);
    if (!isDir) files.add(name);
    members += 1;
    if (!isDir) {
      fileCount += 1;
      if (fileCount > limits.maxFiles) return { refusal: refuse("too_many_files"), files };
      declared += fact.size;
      if (declared > limits.maxExtractedBytes) return { refusal: refuse("too_large_extracted"), files };
    } else if (members > 2 * limits.maxFiles + 100) {
      return { refusal: refuse("too_many_files"), files };
    }
  }
  return { files };
}

/** The manifest's field problems, as the host lists them, and the offending values a message must quote. */
function manifestProblems(manifest: Json): { problems: string[]; mustName: string[]; modules: string[] } {
  const problems: string[] = [];
  const mustName: string[] = [];
  const { name, version } = manifest;
  if (typeof name !== "string" || !BUNDLE_SLUG.test(name)) {
    problems.push("name");
    if (typeof name === "string") mustName.push(name);
  }
  if (typeof version !== "string" || !STRICT_SEMVER.test(version)) {
    problems.push("version");
    if (typeof version === "string") mustName.push(version);
  }
  const frontend = manifest.frontend;
  if (frontend !== undefined && frontend !== null) {
    if (!isObject(frontend)) problems.push("frontend");
    else if (frontend.remoteEntry !== undefined && frontend.remoteEntry !== null && (typeof frontend.remoteEntry !== "string" || frontend.remoteEntry === "")) problems.push("frontend.remoteEntry");
  }
  let modules: string[] = [];
  const backend = manifest.backend;
  if (backend !== undefined && backend !== null) {
    if (!isObject(backend)) problems.push("backend");
    else {
      const listed = "modules" in backend ? backend.modules : [];
      if (!Array.isArray(listed) || !listed.every((m) => typeof m === "string" && MODULE.test(m))) problems.push("backend.modules");
      else if (new Set(listed).size !== listed.length) problems.push("backend.modules");
      else modules = listed as string[];
    }
  }
  const contributions = "contributions" in manifest ? manifest.contributions : {};
  if (!isObject(contributions)) problems.push("contributions");
  else {
    const commands = "commands" in contributions ? contributions.commands : [];
    const okCommand = (c: unknown): boolean => isObject(c) && typeof c.id === "string" && c.id !== "" && (!("title" in c) || typeof c.title === "string");
    if (!Array.isArray(commands) || !commands.every(okCommand)) problems.push("contributions.commands");
    if ("views" in contributions && !Array.isArray(contributions.views)) problems.push("contributions.views");
  }
  return { problems, mustName, modules };
}

/** BND-01 for an upload described by its zip entries and its manifest (the body, when it is no zip). */
export function predictImportOf(upload: { entries: readonly BundleEntryFact[]; manifest: Json; rawBody?: string }, limits: BundleLimits = CONTRACT_BUNDLE_LIMITS): ImportPrediction {
  if (upload.rawBody !== undefined) return refuse("not_a_zip");
  if (upload.entries.length === 0) throw new OracleError("oracle_input_invalid", "a bundle zip with no entries: declare files or a rawBody");
  const header = headerProblem(upload.entries);
  if (header) return header;
  const { refusal, files } = countProblem(upload.entries, limits);
  if (refusal) return refusal;
  if (!files.has(MANIFEST)) {
    const nested = [...files].filter((f) => f.endsWith(`/${MANIFEST}`)).sort();
    return refuse("manifest_missing", nested.length > 0 ? [`${nested[0]!.slice(0, -MANIFEST.length - 1)}/`] : []);
  }
  const { problems, mustName, modules } = manifestProblems(upload.manifest);
  if (problems.length > 0) return refuse("manifest_invalid", mustName);
  for (const module of modules) {
    const asFile = modulePath(module);
    if (!files.has(asFile) && !files.has(`${module.split(".").join("/")}/__init__.py`)) return refuse("manifest_invalid", [module, asFile]);
  }
  const frontend = upload.manifest.frontend;
  const remoteEntry = isObject(frontend) && typeof frontend.remoteEntry === "string" ? frontend.remoteEntry : null;
  return { accepted: true, name: upload.manifest.name as string, version: upload.manifest.version as string, frontendEntry: remoteEntry, backendModules: modules };
}

/** BND-01 for a bundle declaration. */
export function predictBundleImport(declaration: BundleDeclaration, limits: BundleLimits = CONTRACT_BUNDLE_LIMITS): ImportPrediction {
  return predictImportOf({ entries: bundleEntryFacts(declaration), manifest: declaration.manifest, ...(declaration.rawBody === undefined ? {} : { rawBody: declaration.rawBody }) }, limits);
}

/** BND-01 for the hostile bundle of a corpus entry over the good bundle of `base`. */
export function predictHostileBundleImport(base: HostileBundleBase, entry: HostileCorpusEntry, limits: BundleLimits = CONTRACT_BUNDLE_LIMITS): ImportPrediction {
  return predictImportOf({ entries: hostileBundleEntryFacts(base, entry), manifest: base.declaration.manifest }, limits);
}

/** One route of an activated bundle, at the path the bundle registered it (the host mounts it under its own prefix). */
export interface PredictedRoute {
  method: string;
  path: string;
  /** What it answers with status 200. */
  response: unknown;
}

/** BND-02: the lifecycle of an accepted bundle. */
export interface LifecyclePrediction {
  name: string;
  version: string;
  /** `bundle_state` events of the import. */
  importStates: ["installed"];
  activation: {
    state: "activated" | "failed";
    /** `<ExceptionType>: <message>` recorded for a failure; null on success. */
    error: string | null;
    /** `bundle_state` events of the activation. */
    states: string[];
    /** Registered while activated (none after a failure). */
    routes: PredictedRoute[];
    commands: string[];
    /** Registered before the failure and disposed with it: they must not answer. */
    disposedRoutes: PredictedRoute[];
    /** Modules whose `activate` ran, in order (the witness's `activate` lines). */
    activatedModules: string[];
  };
  /** Only for an activated bundle. */
  deactivation?: {
    state: "deactivated";
    states: string[];
    /** Modules whose `deactivate()` runs, in order (the witness's `deactivate` lines). */
    deactivatedModules: string[];
  };
}

const route = (r: BundleRouteDeclaration): PredictedRoute => ({ method: r.method, path: r.path, response: r.response });
const byRoute = (a: PredictedRoute, b: PredictedRoute): number => (a.path === b.path ? (a.method < b.method ? -1 : 1) : a.path < b.path ? -1 : 1);

/** BND-02 for a bundle the oracle accepts (OracleError otherwise). */
export function predictLifecycle(declaration: BundleDeclaration): LifecyclePrediction {
  const imported = predictBundleImport(declaration);
  if (!imported.accepted) throw new OracleError("oracle_input_invalid", `bundle fixture ${declaration.name} is refused (${imported.code}); it has no lifecycle`);
  const contributions = isObject(declaration.manifest.contributions) ? declaration.manifest.contributions : {};
  const declared = Array.isArray(contributions.commands) ? (contributions.commands as Array<{ id: string }>).map((c) => c.id) : [];
  const commands = new Map<string, boolean>(); // id → bound to a function
  const routes: PredictedRoute[] = [];
  const activatedModules: string[] = [];
  let error: string | null = null;
  for (const id of declared) {
    if (commands.has(id)) {
      error = `ValueError: command '${id}' is already registered by bundle '${imported.name}'`;
      break;
    }
    commands.set(id, false);
  }
  for (const moduleName of error === null ? imported.backendModules : []) {
    const module = declaration.modules.find((m) => m.module === moduleName);
    if (!module) throw new OracleError("oracle_input_invalid", `bundle fixture ${declaration.name}: backend module ${moduleName} is a plain file, not a declared module; its behaviour is unknown`);
    activatedModules.push(moduleName);
    routes.push(...module.routes.map(route));
    for (const id of module.commands) {
      if (commands.get(id) === true) throw new OracleError("oracle_input_invalid", `bundle fixture ${declaration.name}: command ${id} is registered twice`);
      commands.set(id, true);
    }
    if (module.raises) {
      error = `${module.raises.type}: ${module.raises.message}`;
      break;
    }
  }
  const failed = error !== null;
  const activatedWithDeactivate = [...activatedModules].reverse().filter((m) => declaration.modules.find((d) => d.module === m)?.deactivate);
  return {
    name: imported.name,
    version: imported.version,
    importStates: ["installed"],
    activation: {
      state: failed ? "failed" : "activated",
      error,
      states: ["activating", failed ? "failed" : "activated"],
      routes: failed ? [] : [...routes].sort(byRoute),
      commands: failed ? [] : [...commands.keys()].sort(),
      disposedRoutes: failed ? [...routes].sort(byRoute) : [],
      activatedModules,
    },
    ...(failed ? {} : { deactivation: { state: "deactivated" as const, states: ["deactivating", "deactivated"], deactivatedModules: activatedWithDeactivate } }),
  };
}
