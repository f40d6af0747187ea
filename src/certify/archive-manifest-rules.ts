import semver from "semver";
import { DEFAULT_HOST_RANGE, npmRangeSatisfies, requiredHostRange } from "../oracle/archive-oracle.ts";

/**
 * `extension.toml` rules of the archive contract, applied to a parsed manifest: ARC-09 validation,
 * the host range's syntax (ARC-11), the grace range (ARC-10), and which ARC-10 defaults the manifest
 * relies on. Fields are looked up where the Zelos seed and the reference host read them: the agent
 * table (`[host.agent]`, or legacy `[runtime]`) first, then the top level (`[stop]`, `workdir`, ...).
 */

export const MAX_KEYWORDS = 20;
export const MAX_CATEGORIES = 10;
export const GRACE_RANGE = [1, 300] as const;

type Table = Record<string, unknown>;

const isTable = (value: unknown): value is Table => value !== null && typeof value === "object" && !Array.isArray(value);

/** SemVer 2.0.0 exactly: no `v` prefix, no surrounding space (npm's `valid` trims and accepts both). */
export function isStrictSemver(version: unknown): version is string {
  return typeof version === "string" && version === version.trim() && !/^[v=]/i.test(version) && semver.valid(version) !== null;
}

/** The table holding agent settings: `[host.agent]` in the host form, `[runtime]` in the legacy form. */
function agentTable(manifest: Table): Table {
  const host = manifest.host;
  if (isTable(host)) return isTable(host.agent) ? host.agent : {};
  return isTable(manifest.runtime) ? manifest.runtime : {};
}

function merged(manifest: Table, key: string): unknown {
  const agent = agentTable(manifest);
  return key in agent ? agent[key] : manifest[key];
}

export function nameProblem(manifest: Table): string | undefined {
  const name = manifest.name;
  return typeof name === "string" && name.trim() !== "" ? undefined : `name must be a non-empty string, got ${JSON.stringify(name ?? null)}`;
}

export function versionProblem(manifest: Table): string | undefined {
  return isStrictSemver(manifest.version) ? undefined : `version must be strict SemVer (e.g. 1.2.3 or 2.0.0-beta.1), got ${JSON.stringify(manifest.version ?? null)}`;
}

/** `[host]` with type agent (and an entry) or app (and an entry), else the legacy `[runtime]` with type python and an entry. */
export function hostSectionProblem(manifest: Table): string | undefined {
  const { host, runtime } = manifest;
  if (host === undefined && runtime === undefined) return "needs a [host] section (or the legacy [runtime] section); neither is present";
  if (host !== undefined) {
    if (!isTable(host)) return "[host] must be a table";
    if (host.type !== "agent" && host.type !== "app") return `[host] type must be "agent" or "app", got ${JSON.stringify(host.type ?? null)}`;
    const sub = host[host.type];
    if (host.type === "agent" && (!isTable(sub) || typeof sub.entry !== "string" || sub.entry === "")) return "[host.agent] entry is required (e.g. entry = \"main.py\")";
    if (host.type === "app" && (!isTable(sub) || typeof sub.entry !== "string" || sub.entry === "")) return "[host.app] entry is required (e.g. entry = \"dist/index.html\")";
    return undefined;
  }
  if (!isTable(runtime)) return "[runtime] must be a table";
  if (runtime.type !== "python") return `[runtime] type must be "python", got ${JSON.stringify(runtime.type ?? null)}`;
  if (typeof runtime.entry !== "string" || runtime.entry === "") return "[runtime] entry is required (e.g. entry = \"main.py\")";
  return undefined;
}

/** Keywords (≤20) or categories (≤10): a list of non-empty strings. */
export function listProblem(manifest: Table, key: "keywords" | "categories"): string | undefined {
  const limit = key === "keywords" ? MAX_KEYWORDS : MAX_CATEGORIES;
  const value = manifest[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) return `${key} must be an array of strings, got ${JSON.stringify(value)}`;
  if (value.length > limit) return `${key} has ${value.length} entries; the limit is ${limit}`;
  const empty = value.findIndex((v: string) => v.trim() === "");
  return empty >= 0 ? `${key}[${empty}] is an empty string` : undefined;
}

/** The host range (`[core]` or `[zelos]` version, else the default) must be an npm range, with the Zelos comma as AND. */
export function hostRangeProblem(manifest: Table): { range: string; defaulted: boolean; problem?: string } {
  const { range, defaulted } = requiredHostRange(manifest);
  const named = (["core", "zelos"] as const).flatMap((t) => (isTable(manifest[t]) && (manifest[t] as Table).version !== undefined ? [JSON.stringify((manifest[t] as Table).version)] : []));
  if (new Set(named).size > 1) return { range, defaulted, problem: `[core] version ${named[0]} and [zelos] version ${named[1]} differ; name the host range once` };
  try {
    // Any valid version: only the range's syntax is in question here.
    npmRangeSatisfies("0.0.0", range);
    return { range, defaulted };
  } catch (error) {
    return { range, defaulted, problem: (error as Error).message };
  }
}

/** `stop.grace_seconds` when set: an integer from 1 to 300. */
export function graceProblem(manifest: Table): string | undefined {
  const stop = merged(manifest, "stop");
  if (stop === undefined) return undefined;
  if (!isTable(stop)) return "[stop] must be a table";
  const grace = stop.grace_seconds;
  if (grace === undefined) return undefined;
  if (typeof grace !== "number" || !Number.isInteger(grace)) return `stop.grace_seconds must be an integer, got ${JSON.stringify(grace)}`;
  return grace < GRACE_RANGE[0] || grace > GRACE_RANGE[1] ? `stop.grace_seconds is ${grace}; the valid range is ${GRACE_RANGE[0]}-${GRACE_RANGE[1]}` : undefined;
}

/** One ARC-10 default: whether the manifest relies on it, and the value it then gets. */
export interface DefaultUse {
  /** Check id suffix, e.g. `python-version`. */
  id: string;
  field: string;
  /** The default's value, or null when the field does not apply (python_version of an app). */
  value: unknown;
  relied: boolean;
  /** What the manifest sets instead, when it does. */
  given?: unknown;
  /** Why the default does not apply at all, when it does not. */
  notApplicable?: string;
}

/** Every ARC-10 default, in the contract's order. */
export function defaultsUsed(manifest: Table): DefaultUse[] {
  const agent = agentTable(manifest);
  const isApp = isTable(manifest.host) && manifest.host.type === "app";
  const stop = merged(manifest, "stop");
  const config = manifest.config;
  const field = (id: string, name: string, value: unknown, given: unknown): DefaultUse => (given === undefined ? { id, field: name, value, relied: true } : { id, field: name, value, relied: false, given });
  const range = requiredHostRange(manifest);
  return [
    isApp ? { id: "python-version", field: "python_version", value: null, relied: false, notApplicable: "an app extension runs no Python" } : field("python-version", "python_version", "3.11", agent.python_version),
    field("workdir", "workdir", ".", merged(manifest, "workdir")),
    range.defaulted
      ? { id: "host-range", field: "host version range", value: range.range, relied: true }
      : { id: "host-range", field: "host version range", value: DEFAULT_HOST_RANGE[isApp ? "app" : "agent"], relied: false, given: range.range },
    field("grace-seconds", "stop.grace_seconds", 10, isTable(stop) ? stop.grace_seconds : undefined),
    isTable(config) ? field("config-schema", "config.schema", "config.schema.json", config.schema) : { id: "config-schema", field: "config.schema", value: "config.schema.json", relied: false, notApplicable: "no [config] section" },
    field("targets", "targets", [], merged(manifest, "targets")),
    field("env", "env", {}, merged(manifest, "env")),
    field("keywords", "keywords", [], manifest.keywords),
    field("categories", "categories", [], manifest.categories),
  ];
}
