import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { Ajv, type ErrorObject } from "ajv";
import schema from "./matrix.schema.json" with { type: "json" };
import { MatrixError } from "../errors/distcheck-error.ts";
import { platformInfo, type PlatformId } from "../platform/platforms.ts";
import { hostAdapter, HOST_ADAPTER_IDS } from "../hosts/host-adapters.ts";
import { loadRecipe } from "../images/image-recipe.ts";
import { MATRIX_DEFAULTS, type Cell, type ExcludedCell, type Matrix, type MatrixBase, type MatrixFilter, type MatrixHost } from "./matrix.ts";

/** The environment variable that overrides a host's source: `DISTCHECK_SOURCE_TOPOSYNC`. */
export function sourceVariable(hostId: string): string {
  return `DISTCHECK_SOURCE_${hostId.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

/** `/platforms/2/id` → `platforms[2].id` */
export function toDottedPath(instancePath: string, extra?: string): string {
  const parts = instancePath.split("/").slice(1).map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  if (extra !== undefined) parts.push(extra);
  let out = "";
  for (const part of parts) out += /^\d+$/.test(part) ? `[${part}]` : out === "" ? part : `.${part}`;
  return out === "" ? "(root)" : out;
}

function valueAt(data: unknown, instancePath: string): unknown {
  let cur: unknown = data;
  for (const part of instancePath.split("/").slice(1)) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function describeError(error: ErrorObject, data: unknown): string {
  const at = toDottedPath(error.instancePath);
  const got = JSON.stringify(valueAt(data, error.instancePath));
  switch (error.keyword) {
    case "enum":
      return `${at} must be one of ${(error.params.allowedValues as unknown[]).join(", ")} (got ${got})`;
    case "required":
      return `${toDottedPath(error.instancePath, String(error.params.missingProperty))} is required`;
    case "additionalProperties":
      return `${toDottedPath(error.instancePath, String(error.params.additionalProperty))} is not a known setting; valid here: ${Object.keys(propertiesAt(error.schemaPath)).join(", ")}`;
    case "pattern":
      return `${at} must match ${String(error.params.pattern)} (got ${got})`;
    case "type":
      return `${at} must be ${String(error.params.type)} (got ${got})`;
    default:
      return `${at} ${error.message ?? "is invalid"} (got ${got})`;
  }
}

/** The `properties` of the schema object that an error's schemaPath points into. */
function propertiesAt(schemaPath: string): Record<string, unknown> {
  let cur: unknown = schema;
  for (const part of schemaPath.replace(/^#\//, "").split("/").slice(0, -1)) {
    cur = (cur as Record<string, unknown>)[part];
  }
  return ((cur as { properties?: Record<string, unknown> }).properties ?? {}) as Record<string, unknown>;
}

function duplicates(values: string[]): string[] {
  return values.filter((v, i) => values.indexOf(v) !== i);
}

/**
 * Parses and validates matrix data. Every problem is reported at once, each naming its full path
 * (`platforms[2].id must be one of linux-x86_64, linux-aarch64`). `root` is where relative paths
 * (images/, hosts/, suites/) are checked; pass undefined to skip file-existence checks.
 */
export function parseMatrix(data: unknown, source: string, root: string | undefined, env: NodeJS.ProcessEnv = process.env): Matrix {
  if (!validate(data)) {
    // oneOf/const noise is reported alongside the useful error; keep the most specific ones.
    const errors = (validate.errors ?? []).filter((e) => e.keyword !== "oneOf" && e.keyword !== "if");
    const lines = [...new Set(errors.map((e) => describeError(e, data)))];
    throw new MatrixError(`${source} is invalid:\n  - ${lines.join("\n  - ")}\nSee src/matrix/matrix.schema.json for every setting.`);
  }
  type RawHost = Omit<MatrixHost, "bases" | "default"> & { bases?: string[]; default?: boolean };
  const raw = data as Omit<Matrix, "platforms" | "hosts" | "excluded"> & { platforms: Array<Partial<Matrix["platforms"][number]> & { id: PlatformId }>; hosts: RawHost[] };
  const problems: string[] = [];
  for (const [key, ids] of [
    ["platforms", raw.platforms.map((p) => p.id)],
    ["bases", raw.bases.map((b) => b.id)],
    ["hosts", raw.hosts.map((h) => h.id)],
  ] as const) {
    for (const dup of new Set(duplicates(ids))) problems.push(`${key} lists the id ${JSON.stringify(dup)} more than once`);
  }
  if (root !== undefined) {
    raw.bases.forEach((b, i) => {
      if (!existsSync(path.join(root, "images", `${b.image}.json`))) {
        problems.push(`bases[${i}].image names no recipe: images/${b.image}.json does not exist`);
      }
    });
    raw.hosts.forEach((h, i) => {
      // A host only a --host selection runs (default: false) may live outside the project, e.g.
      // third-party test material; its source is checked when it is selected (filterMatrix).
      if ((h.default ?? true) && !env[sourceVariable(h.id)] && !existsSync(path.resolve(root, h.source))) problems.push(`hosts[${i}].source ${JSON.stringify(h.source)} does not exist`);
    });
    raw.suites.forEach((s, i) => {
      if (!existsSync(path.join(root, "suites", `${s}.test.ts`))) problems.push(`suites[${i}] names no suite: suites/${s}.test.ts does not exist`);
    });
  }
  raw.hosts.forEach((h, i) => {
    if (!HOST_ADAPTER_IDS.includes(h.adapter)) problems.push(`hosts[${i}].adapter must be one of ${HOST_ADAPTER_IDS.join(", ")} (got ${JSON.stringify(h.adapter)})`);
    for (const [j, b] of (h.bases ?? []).entries()) if (!raw.bases.some((x) => x.id === b)) problems.push(`hosts[${i}].bases[${j}] names no base of the matrix: ${JSON.stringify(b)}; valid: ${raw.bases.map((x) => x.id).join(", ")}`);
  });
  if (problems.length > 0) throw new MatrixError(`${source} is invalid:\n  - ${problems.join("\n  - ")}`);
  const platforms = raw.platforms.map((p) => ({ ...MATRIX_DEFAULTS, ...p }));
  const excluded: ExcludedCell[] = [];
  const hosts: MatrixHost[] = raw.hosts.map((h) => {
    const override = env[sourceVariable(h.id)];
    const given = override || h.source;
    const resolved = root === undefined || path.isAbsolute(given) ? given : path.resolve(override ? process.cwd() : root, given);
    const bases: string[] = [];
    for (const base of raw.bases) {
      const reason = h.bases !== undefined && !h.bases.includes(base.id) ? `matrix.hosts[].bases of ${h.id} does not list ${base.id}` : unsupported(h.adapter, base, root);
      if (reason === undefined) bases.push(base.id);
      else for (const p of platforms) excluded.push({ id: `${p.id}.${base.id}.${h.id}`, platform: p.id, base: base.id, host: h.id, reason });
    }
    return { id: h.id, adapter: h.adapter, source: resolved, bases, default: h.default ?? true };
  });
  return { platforms, bases: raw.bases, hosts, suites: raw.suites, excluded };
}

/** Why a host's adapter cannot run on a base (its recipe), or undefined. Without a root, every base is taken. */
function unsupported(adapter: string, base: MatrixBase, root: string | undefined): string | undefined {
  if (root === undefined) return undefined;
  return hostAdapter(adapter).unsupportedBase(loadRecipe(path.join(root, "images"), base.image));
}

/** Reads and validates a matrix file. */
export function loadMatrix(file: string, root = path.dirname(path.resolve(file))): Matrix {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (cause) {
    throw new MatrixError(`Could not read the matrix file ${file}: ${(cause as Error).message}. Pass --matrix PATH or run from the project root.`, { cause });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new MatrixError(`${file} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  return parseMatrix(data, file, root);
}

function narrow<T>(items: T[], wanted: string[] | undefined, keys: (item: T) => string[], flag: string): T[] {
  if (wanted === undefined || wanted.length === 0) return items;
  const valid = [...new Set(items.flatMap(keys))];
  const unknown = wanted.filter((w) => !valid.includes(w));
  if (unknown.length > 0) {
    throw new MatrixError(`${flag} ${unknown.join(", ")} is not in the matrix; valid choices: ${valid.join(", ")}`);
  }
  return items.filter((item) => keys(item).some((k) => wanted.includes(k)));
}

/**
 * Applies the command-line filters; an unknown value is an error that lists the valid choices.
 * Without --host, only the matrix's default hosts run. A selected host's source must be usable
 * (its adapter checks it and names the path when it is not).
 */
export function filterMatrix(matrix: Matrix, filter: MatrixFilter): Matrix {
  const platforms = narrow(matrix.platforms, filter.platform, (p) => [p.id], "--platform");
  const bases = narrow(matrix.bases, filter.python, (b) => [b.id, b.python], "--python");
  const hosts = filter.host?.length ? narrow(matrix.hosts, filter.host, (h) => [h.id], "--host") : matrix.hosts.filter((h) => h.default);
  for (const h of hosts) if (path.isAbsolute(h.source)) hostAdapter(h.adapter).checkSource(h.source);
  const excluded = matrix.excluded.filter((e) => platforms.some((p) => p.id === e.platform) && bases.some((b) => b.id === e.base) && hosts.some((h) => h.id === e.host));
  return { platforms, bases, hosts, suites: narrow(matrix.suites, filter.suite, (s) => [s], "--suite"), excluded };
}

/** Every platform x base x host combination that can run (a host on the bases it supports), in matrix order. */
export function expandCells(matrix: Matrix): Cell[] {
  return matrix.platforms.flatMap((platform) =>
    matrix.bases.flatMap((base) =>
      matrix.hosts.filter((host) => host.bases.includes(base.id)).map((host) => ({
        id: `${platform.id}.${base.id}.${host.id}`,
        platform: { ...platform, info: platformInfo(platform.id) },
        base,
        host,
      })),
    ),
  );
}
