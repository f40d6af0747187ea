import { createHash } from "node:crypto";
import { eq as pep440Equal } from "@renovatebot/pep440";
import { wheelDistributionName } from "../fixtures/wheels/wheel-names.ts";
import { isPep440Specifier, isPep440Version, specifierClauses } from "../oracle/pep440.ts";
import { parseExtensionRequirement } from "../oracle/wheel-oracle.ts";
import { entryNameProblem } from "./archive-entry-rules.ts";
import type { Finding } from "./certification-document.ts";
import { StaticFindings, type CheckSpec } from "./finding-builder.ts";
import { header, parseEntryPointValue, parseEntryPoints, parseHeaders, parseRecord, parseWheelFileName } from "./wheel-metadata-parsers.ts";
import { ZipMemberReader } from "./zip-member-reader.ts";

/**
 * Static checks of a wheel (WHL clauses), read from its bytes in memory: the zip directory through
 * the project's byte-level reader and single members inflated on request, never extracted. Check ids
 * name the defect they look for; `pass` means it is absent. Checks that depend on one that failed
 * are reported not-applicable, so every check appears in every document.
 */

const c = (checkId: string, clause: string, severity: CheckSpec["severity"], title: string, invalidatesArtifact?: true): CheckSpec =>
  invalidatesArtifact ? { checkId, clause, severity, title, invalidatesArtifact } : { checkId, clause, severity, title };

export const WHEEL_CHECKS = {
  zipUnreadable: c("wheel.zip.unreadable", "WHL-01", "error", "The wheel is a readable zip: directory, and every member inflates to its declared size and CRC-32", true),
  unsafeName: c("wheel.member.unsafe-name", "WHL-01", "error", "Member names are safe relative paths, each held once (pip refuses paths outside the install target)"),
  distInfo: c("wheel.dist-info.not-single", "WHL-01", "error", "Exactly one .dist-info directory", true),
  wheelVersion: c("wheel.wheel-file.unsupported-version", "WHL-01", "error", "WHEEL declares Wheel-Version 1.x", true),
  metadata: c("wheel.metadata.invalid", "WHL-01", "error", "METADATA names the distribution and a PEP 440 version", true),
  fileName: c("wheel.filename.mismatch", "WHL-01", "error", "The file name is a wheel name whose distribution and version match METADATA"),
  recordMissing: c("wheel.record.missing", "WHL-01", "error", "RECORD is present", true),
  recordIncomplete: c("wheel.record.incomplete", "WHL-01", "error", "RECORD lists every file of the wheel, and only those"),
  recordHash: c("wheel.record.hash-mismatch", "WHL-01", "error", "Every RECORD row's sha256 and size match the member's bytes (pip does not check this)"),
  entryPointMissing: c("wheel.entry-point.missing", "WHL-02", "error", "entry_points.txt has an entry point in the host's group"),
  entryPointTarget: c("wheel.entry-point.target-missing", "WHL-02", "error", "The entry point names module:attr and its module is in the wheel"),
  manifestMissing: c("wheel.manifest.missing", "WHL-05", "error", "extension.json is inside the entry point's top-level package"),
  manifestInvalid: c("wheel.manifest.invalid", "WHL-05", "error", "extension.json is a JSON object with string id, name and version (schema_version 1)"),
  versionInvalid: c("wheel.manifest.version-invalid", "WHL-10", "error", "The manifest version is a PEP 440 version"),
  coreRangeInvalid: c("wheel.manifest.core-range-invalid", "WHL-10", "error", "requires_core_version is a PEP 440 specifier"),
  requiresInvalid: c("wheel.manifest.requires-extensions-invalid", "WHL-10", "error", "requires_extensions is a list of `id` or `id<specifier>` with PEP 440 specifiers"),
  remoteEntryMissing: c("wheel.frontend.remote-entry-missing", "WHL-13", "error", "A declared frontend.remote_entry is a file under the package's static/"),
  coreRangeAbsent: c("wheel.manifest.core-range-absent", "WHL-08", "warning", "requires_core_version is declared (the authoring guide: it should reflect the host versions you tested)"),
  coreRangeUnbounded: c("wheel.manifest.core-range-unbounded", "WHL-08", "warning", "requires_core_version has an upper bound (<, <=, ~=, ==), so untested future hosts are not claimed"),
  absoluteAssets: c("wheel.frontend.absolute-asset-path", "WHL-13", "warning", "The remote entry uses no absolute asset paths (they break under ingress or a reverse proxy)"),
  versionDiffers: c("wheel.manifest.version-differs", "WHL-02", "warning", "The manifest version equals the distribution version in METADATA"),
} as const satisfies Record<string, CheckSpec>;

export interface WheelCheckHost {
  /** The entry point group the host discovers, e.g. `toposync.extensions`. */
  entryPointGroup: string;
}

export interface WheelStaticResult {
  findings: Finding[];
  /** METADATA `Name` and `Version`, when readable. */
  name: string | null;
  version: string | null;
  /** The first valid `extension.json` (id, name and version are non-empty strings), for the dynamic checks' expectations. */
  manifest?: Record<string, unknown>;
}

/** Largest text member read for metadata, manifests and the remote entry. */
const MAX_TEXT_BYTES = 16 * 2 ** 20;
/** PEP 427: signature files beside RECORD are not listed in it. */
const RECORD_EXEMPT = ["RECORD", "RECORD.jws", "RECORD.p7s"];
const HASHES = new Set(["sha256", "sha384", "sha512"]);
const UPPER_BOUND = /^(<|<=|~=|==|===)/;
/** Patterns of absolute asset paths in a bundled remote entry (the Toposync guide's "absolute /main.js-style asset paths"). */
const ABSOLUTE_ASSET_PATTERNS: Array<{ pattern: RegExp; what: string }> = [
  { pattern: /publicPath\s*[:=]\s*["'`]\/["'`]/, what: 'publicPath "/"' },
  { pattern: /\.p\s*=\s*["'`]\/["'`]/, what: 'a webpack public path of "/"' },
  { pattern: /["'`]\/(?:assets|static)\//, what: 'a "/assets/" or "/static/" path' },
  { pattern: /["'`]\/[\w.-]+(?:\/[\w.-]+)*\.(?:m?js|css|wasm|png|svg|jpe?g|gif|woff2?|ttf)["'`]/, what: 'a "/main.js"-style absolute asset path' },
];
const LIST_LIMIT = 20;

function listed(items: readonly string[]): string {
  return items.length <= LIST_LIMIT ? items.join(", ") : `${items.slice(0, LIST_LIMIT).join(", ")} and ${items.length - LIST_LIMIT} more`;
}

export function checkWheel(bytes: Buffer, fileName: string, host: WheelCheckHost, reproduce: string): WheelStaticResult {
  const out = new StaticFindings(fileName, reproduce);
  const result: WheelStaticResult = { findings: out.findings, name: null, version: null };
  const C = WHEEL_CHECKS;
  // Checks not reported when the run ends are not-applicable, with the reason that stopped them.
  let blocked = "an earlier check this one depends on failed";
  const finish = (): WheelStaticResult => {
    const reported = new Set(out.findings.map((f) => f.checkId));
    for (const spec of Object.values(C)) if (!reported.has(spec.checkId)) out.notApplicable(spec, `not checked: ${blocked}`);
    return result;
  };

  let zip: ZipMemberReader;
  try {
    zip = new ZipMemberReader(bytes);
  } catch (error) {
    out.fail(C.zipUnreadable, `the zip directory cannot be read: ${(error as Error).message}`);
    blocked = "the wheel is not a readable zip";
    return finish();
  }
  const read = (name: string): Buffer | undefined => (zip.has(name) ? zip.read(name, MAX_TEXT_BYTES) : undefined);
  const text = (name: string): string | undefined => {
    try {
      return read(name)?.toString("utf8");
    } catch {
      return undefined; // reported by the member pass below
    }
  };

  // Names: pip refuses a member that would land outside the install target.
  const names = zip.names;
  const nameProblems: string[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    const problem = entryNameProblem(name, { refuseHidden: false });
    if (problem) nameProblems.push(`${JSON.stringify(name)}: ${problem.detail}`);
    else if (seen.has(name)) nameProblems.push(`${JSON.stringify(name)}: held more than once`);
    seen.add(name);
  }
  out.outcome(C.unsafeName, nameProblems, `${names.length} member names are safe relative paths, each held once`);

  const fileNames = names.filter((n) => !n.endsWith("/"));
  const distInfos = [...new Set(names.map((n) => n.split("/")[0]!).filter((top) => top.endsWith(".dist-info") && names.some((n) => n.startsWith(`${top}/`))))].sort();
  if (distInfos.length !== 1) {
    out.fail(C.distInfo, distInfos.length === 0 ? "the wheel has no .dist-info directory" : `the wheel has ${distInfos.length} .dist-info directories: ${distInfos.join(", ")}`, { distInfo: distInfos });
    blocked = "the wheel has no single .dist-info directory";
    return finish();
  }
  const di = distInfos[0]!;
  out.pass(C.distInfo, `one .dist-info directory: ${di}`, { distInfo: di });

  // RECORD first, so the member pass computes only the digests it names.
  const recordPath = `${di}/RECORD`;
  const recordText = text(recordPath);
  const record = recordText === undefined ? undefined : parseRecord(recordText);
  const algorithms = new Set(["sha256", ...(record?.rows ?? []).map((r) => r.hash.split("=")[0]!).filter((a) => HASHES.has(a))]);
  const members: MemberDigests = new Map();
  const unreadable: string[] = [];
  for (const r of zip.records) {
    const name = r.name.toString("utf8");
    if (name.endsWith("/") || members.has(name)) continue;
    try {
      const data = zip.read(r);
      members.set(name, { size: data.length, digests: new Map([...algorithms].map((a) => [a, createHash(a).update(data).digest("base64url")])) });
    } catch (error) {
      unreadable.push((error as Error).message);
    }
  }
  out.outcome(C.zipUnreadable, unreadable, `${members.size} members inflate to their declared sizes and CRC-32`, { members: members.size });

  // WHEEL: pip refuses a major version it does not know.
  const wheelText = text(`${di}/WHEEL`);
  const wheelVersion = wheelText === undefined ? undefined : header(parseHeaders(wheelText), "Wheel-Version");
  if (wheelText === undefined) out.fail(C.wheelVersion, `${di}/WHEEL is missing or unreadable`);
  else if (wheelVersion === undefined || !/^1\.\d+$/.test(wheelVersion)) out.fail(C.wheelVersion, `WHEEL declares Wheel-Version ${JSON.stringify(wheelVersion ?? null)}; pip installs 1.x only`, { wheelVersion: wheelVersion ?? null });
  else out.pass(C.wheelVersion, `Wheel-Version ${wheelVersion}`, { wheelVersion });

  const metadataText = text(`${di}/METADATA`);
  const metadata = metadataText === undefined ? undefined : parseHeaders(metadataText);
  const distName = metadata && header(metadata, "Name");
  const distVersion = metadata && header(metadata, "Version");
  if (metadata === undefined) out.fail(C.metadata, `${di}/METADATA is missing or unreadable`);
  else if (!distName || !distVersion || !isPep440Version(distVersion)) out.fail(C.metadata, `METADATA has Name ${JSON.stringify(distName ?? null)} and Version ${JSON.stringify(distVersion ?? null)}; both are required, the version in PEP 440`, { name: distName ?? null, version: distVersion ?? null });
  else {
    out.pass(C.metadata, `METADATA: ${distName} ${distVersion}`, { name: distName, version: distVersion });
    result.name = distName;
    result.version = distVersion;
  }

  const parsedName = parseWheelFileName(fileName);
  if (parsedName === null) out.fail(C.fileName, `${JSON.stringify(fileName)} is not a wheel file name ({name}-{version}(-{build})?-{python}-{abi}-{platform}.whl)`);
  else if (result.name === null || result.version === null) out.notApplicable(C.fileName, "not checked: METADATA has no usable name and version");
  else {
    const problems: string[] = [];
    if (wheelDistributionName(parsedName.name) !== wheelDistributionName(result.name)) problems.push(`the file name says distribution ${parsedName.name}, METADATA says ${result.name}`);
    const fileVersion = parsedName.version.replace(/_/g, "-");
    if (!isPep440Version(fileVersion) || !pep440Equal(fileVersion, result.version)) problems.push(`the file name says version ${parsedName.version}, METADATA says ${result.version}`);
    // pip looks the .dist-info directory up by the distribution's canonical name.
    const diStem = di.slice(0, -".dist-info".length);
    const diName = diStem.includes("-") ? diStem.slice(0, diStem.lastIndexOf("-")) : diStem;
    if (wheelDistributionName(diName) !== wheelDistributionName(result.name)) problems.push(`the .dist-info directory ${di} does not name ${result.name}`);
    out.outcome(C.fileName, problems, `the file name matches METADATA (${result.name} ${result.version})`, { fileName: parsedName });
  }

  // RECORD: complete, and every row's digest and size are those of the member's bytes.
  if (record === undefined) {
    out.fail(C.recordMissing, `${recordPath} is missing or unreadable`);
    blocked = "the wheel has no RECORD";
  } else {
    out.pass(C.recordMissing, `${recordPath} has ${record.rows.length} rows`);
    checkRecord(out, di, record, members, fileNames, (n) => zip.has(n));
  }

  // Entry points in the host's group, and the module each one names.
  const entryPointsText = text(`${di}/entry_points.txt`);
  const group = entryPointsText === undefined ? undefined : parseEntryPoints(entryPointsText).get(host.entryPointGroup);
  if (entryPointsText === undefined) {
    out.fail(C.entryPointMissing, `${di}/entry_points.txt is missing: the wheel declares no entry point, so no host discovers it`, { group: host.entryPointGroup });
    blocked = `the wheel has no entry point in ${host.entryPointGroup}`;
    return finish();
  }
  if (group === undefined || group.size === 0) {
    const groups = [...parseEntryPoints(entryPointsText).keys()];
    out.fail(C.entryPointMissing, `entry_points.txt has no entry point in the group ${host.entryPointGroup}${groups.length ? `; it has ${groups.join(", ")}` : ""}`, { group: host.entryPointGroup, groups });
    blocked = `the wheel has no entry point in ${host.entryPointGroup}`;
    return finish();
  }
  out.pass(C.entryPointMissing, `${group.size} entry point(s) in ${host.entryPointGroup}: ${[...group.keys()].join(", ")}`, { group: host.entryPointGroup, entryPoints: Object.fromEntries(group) });

  // Module files may sit at the root (purelib) or under the wheel's .data/{purelib,platlib}.
  const roots = ["", ...distInfos.map((d) => d.replace(/\.dist-info$/, ".data")).flatMap((d) => [`${d}/purelib/`, `${d}/platlib/`])];
  const moduleFile = (module: string): string | undefined => {
    const base = module.replace(/\./g, "/");
    for (const root of roots) {
      const found = fileNames.find((n) => n === `${root}${base}.py` || n === `${root}${base}/__init__.py` || (n.startsWith(`${root}${base}.`) && /\.(so|pyd)$/.test(n) && !n.slice(`${root}${base}.`.length).includes("/")));
      if (found) return found;
    }
    return undefined;
  };
  const packages = new Map<string, { root: string; entryPoints: string[] }>();
  for (const [name, value] of group) {
    const target = parseEntryPointValue(value);
    const evidence = { entryPoint: name, value };
    if (target === null) {
      out.fail(C.entryPointTarget, `entry point ${name} = ${value} is not module:attr`, evidence);
      continue;
    }
    const problems: string[] = [];
    if (target.attr === null) problems.push(`entry point ${name} = ${value} names a module without an attribute; the host needs module:attr (a class or factory)`);
    const file = moduleFile(target.module);
    if (file === undefined) problems.push(`entry point ${name}: module ${target.module} is not in the wheel (no ${target.module.replace(/\./g, "/")}.py or package)`);
    out.outcome(C.entryPointTarget, problems, `entry point ${name} = ${value}: module file ${file}`, { ...evidence, moduleFile: file ?? null });
    // The manifest belongs to the top-level package, which can be in the wheel even when the module is not.
    const top = target.module.split(".")[0]!;
    const root = roots.find((r) => fileNames.some((n) => n.startsWith(`${r}${top}/`)));
    if (root !== undefined) {
      const entry = packages.get(top) ?? { root, entryPoints: [] };
      entry.entryPoints.push(name);
      packages.set(top, entry);
    }
  }
  if (packages.size === 0) blocked = "no entry point names a package in the wheel";

  // One manifest per top-level package, whichever entry points share it.
  for (const [top, { root, entryPoints }] of packages) {
    const manifest = checkManifest(out, text, `${root}${top}`, entryPoints, result.version);
    if (manifest !== undefined) result.manifest ??= manifest;
  }
  return finish();
}

type MemberDigests = Map<string, { size: number; digests: Map<string, string> }>;

function checkRecord(out: StaticFindings, di: string, record: ReturnType<typeof parseRecord>, members: MemberDigests, fileNames: string[], inZip: (name: string) => boolean): void {
  const C = WHEEL_CHECKS;
  const recordPath = `${di}/RECORD`;
  const exempt = new Set(RECORD_EXEMPT.map((n) => `${di}/${n}`));
  const rowsByPath = new Map(record.rows.map((r) => [r.path, r]));
  const unlisted = fileNames.filter((n) => !rowsByPath.has(n) && !exempt.has(n));
  const absent = record.rows.filter((r) => !members.has(r.path) && !inZip(r.path)).map((r) => r.path);
  const incomplete = [
    ...(unlisted.length ? [`files not in RECORD: ${listed(unlisted)}`] : []),
    ...(absent.length ? [`RECORD rows for files not in the wheel: ${listed(absent)}`] : []),
    ...(record.malformed.length ? [`RECORD lines that are not path,hash,size: ${listed(record.malformed.map(String))}`] : []),
  ];
  out.outcome(C.recordIncomplete, incomplete, `RECORD lists all ${fileNames.length} files`, { unlisted: unlisted.slice(0, 200), absent: absent.slice(0, 200) });

  const mismatches: Array<{ path: string; problem: string }> = [];
  for (const row of record.rows) {
    if (row.path === recordPath) continue;
    const member = members.get(row.path);
    if (member === undefined) continue; // absent or unreadable: reported by other checks
    const eq = row.hash.indexOf("=");
    const [algorithm, digest] = eq >= 0 ? [row.hash.slice(0, eq), row.hash.slice(eq + 1)] : [row.hash, ""];
    if (row.hash === "") mismatches.push({ path: row.path, problem: "no hash" });
    else if (!HASHES.has(algorithm)) mismatches.push({ path: row.path, problem: `hash algorithm ${JSON.stringify(algorithm)} is not sha256 or stronger` });
    else if (digest.replace(/=+$/, "") !== member.digests.get(algorithm)) mismatches.push({ path: row.path, problem: `RECORD says ${algorithm}=${digest}, the member's bytes give ${algorithm}=${member.digests.get(algorithm)}` });
    if (row.size === "") mismatches.push({ path: row.path, problem: "no size" });
    else if (Number(row.size) !== member.size) mismatches.push({ path: row.path, problem: `RECORD says ${row.size} bytes, the member has ${member.size}` });
  }
  const shown = mismatches.slice(0, LIST_LIMIT).map((m) => `${m.path}: ${m.problem}`);
  if (mismatches.length > LIST_LIMIT) shown.push(`and ${mismatches.length - LIST_LIMIT} more`);
  out.outcome(C.recordHash, shown, "every RECORD row's digest and size match the member's bytes", { mismatches: mismatches.slice(0, 200) });
}

/** Reads a text member of the wheel; undefined when it is absent or unreadable. */
type TextReader = (name: string) => string | undefined;

function checkManifest(out: StaticFindings, read: TextReader, packageDir: string, entryPoints: string[], distVersion: string | null): Record<string, unknown> | undefined {
  const C = WHEEL_CHECKS;
  const path = `${packageDir}/extension.json`;
  const where = { package: packageDir, entryPoints, manifest: path };
  const skip = (reason: string, specs: CheckSpec[]): void => {
    for (const spec of specs) out.notApplicable(spec, `not checked: ${reason}`, where);
  };
  const dependents = [C.manifestInvalid, C.versionInvalid, C.coreRangeInvalid, C.requiresInvalid, C.remoteEntryMissing, C.coreRangeAbsent, C.coreRangeUnbounded, C.absoluteAssets, C.versionDiffers];

  const raw = read(path);
  if (raw === undefined) {
    out.fail(C.manifestMissing, `${path} is not in the wheel: the host skips the extension (manifest_read_failed)`, where);
    skip("extension.json is missing", dependents);
    return;
  }
  out.pass(C.manifestMissing, `${path} is in the wheel`, where);

  let manifest: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("it is not a JSON object");
    manifest = parsed as Record<string, unknown>;
  } catch (error) {
    out.fail(C.manifestInvalid, `${path} is not a JSON object: ${(error as Error).message}`, where);
    skip("extension.json is not a JSON object", dependents.slice(1));
    return;
  }
  const fieldProblems = ["id", "name", "version"].filter((k) => typeof manifest[k] !== "string" || (manifest[k] as string).trim() === "").map((k) => `${k} must be a non-empty string, got ${JSON.stringify(manifest[k] ?? null)}`);
  if ((manifest.schema_version ?? 1) !== 1) fieldProblems.push(`schema_version must be 1, got ${JSON.stringify(manifest.schema_version)}`);
  const evidence = { ...where, id: manifest.id ?? null, name: manifest.name ?? null, version: manifest.version ?? null };
  out.outcome(C.manifestInvalid, fieldProblems, `extension.json: id ${String(manifest.id)}, name ${String(manifest.name)}, version ${String(manifest.version)}`, evidence);
  if (fieldProblems.length > 0) {
    skip("extension.json has no valid id, name and version", dependents.slice(1));
    return;
  }
  const version = manifest.version as string;

  if (isPep440Version(version)) out.pass(C.versionInvalid, `version ${version} is PEP 440`, evidence);
  else out.fail(C.versionInvalid, `version ${JSON.stringify(version)} is not a PEP 440 version: the host skips the extension (invalid_version)`, evidence);

  const spec = manifest.requires_core_version;
  if (spec === undefined || spec === null) {
    out.notApplicable(C.coreRangeInvalid, "no requires_core_version", evidence);
    out.fail(C.coreRangeAbsent, "extension.json declares no requires_core_version: the extension claims every host version, tested or not", evidence);
    out.notApplicable(C.coreRangeUnbounded, "no requires_core_version", evidence);
  } else if (typeof spec !== "string" || !isPep440Specifier(spec)) {
    out.fail(C.coreRangeInvalid, `requires_core_version ${JSON.stringify(spec)} is not a PEP 440 specifier: the host skips the extension (invalid_specifier)`, { ...evidence, requiresCoreVersion: spec });
    out.pass(C.coreRangeAbsent, "requires_core_version is declared", evidence);
    out.notApplicable(C.coreRangeUnbounded, "requires_core_version is not a valid specifier", evidence);
  } else {
    const clauses = specifierClauses(spec);
    out.pass(C.coreRangeInvalid, `requires_core_version ${JSON.stringify(spec)} is a PEP 440 specifier`, { ...evidence, requiresCoreVersion: spec });
    out.pass(C.coreRangeAbsent, `requires_core_version ${JSON.stringify(spec)}`, evidence);
    if (clauses.some((cl) => UPPER_BOUND.test(cl))) out.pass(C.coreRangeUnbounded, `requires_core_version ${JSON.stringify(spec)} has an upper bound`, { ...evidence, clauses });
    else out.fail(C.coreRangeUnbounded, `requires_core_version ${JSON.stringify(spec)} has no upper bound: it claims future host versions nobody tested`, { ...evidence, clauses });
  }

  const requires = manifest.requires_extensions;
  if (requires === undefined || requires === null) out.notApplicable(C.requiresInvalid, "no requires_extensions", evidence);
  else if (!Array.isArray(requires)) out.fail(C.requiresInvalid, `requires_extensions must be a list, got ${JSON.stringify(requires)}`, evidence);
  else {
    const bad = requires.filter((r) => parseExtensionRequirement(r) === null).map((r) => JSON.stringify(r));
    out.outcome(C.requiresInvalid, bad.length ? [`entries that are not id or id<PEP 440 specifier>: ${bad.join(", ")}`] : [], `requires_extensions: ${requires.length} valid entries`, { ...evidence, requiresExtensions: requires });
  }

  checkFrontend(out, read, packageDir, manifest.frontend, evidence);

  if (distVersion === null) out.notApplicable(C.versionDiffers, "METADATA has no usable version", evidence);
  else {
    const same = isPep440Version(version) ? pep440Equal(version, distVersion) : version === distVersion;
    if (same) out.pass(C.versionDiffers, `manifest and distribution are both version ${distVersion}`, evidence);
    else out.fail(C.versionDiffers, `the manifest says version ${version}, the distribution (METADATA) ${distVersion}: the host lists ${version} for a wheel pip calls ${distVersion}`, { ...evidence, distributionVersion: distVersion });
  }  return manifest;
}

function checkFrontend(out: StaticFindings, read: TextReader, packageDir: string, frontend: unknown, evidence: Record<string, unknown>): void {
  const C = WHEEL_CHECKS;
  if (frontend === undefined || frontend === null) {
    out.notApplicable(C.remoteEntryMissing, "the manifest declares no frontend", evidence);
    out.notApplicable(C.absoluteAssets, "the manifest declares no frontend", evidence);
    return;
  }
  const remoteEntry = typeof frontend === "object" ? (frontend as Record<string, unknown>).remote_entry : undefined;
  if (typeof remoteEntry !== "string" || remoteEntry === "") {
    out.fail(C.remoteEntryMissing, `frontend declares no remote_entry file name (got ${JSON.stringify(remoteEntry ?? null)})`, evidence);
    out.notApplicable(C.absoluteAssets, "no remote entry to read", evidence);
    return;
  }
  const unsafe = entryNameProblem(remoteEntry, { refuseHidden: false });
  const path = `${packageDir}/static/${remoteEntry}`;
  const content = unsafe ? undefined : read(path);
  const at = { ...evidence, remoteEntry, path };
  if (unsafe) out.fail(C.remoteEntryMissing, `frontend.remote_entry ${JSON.stringify(remoteEntry)} is not a path inside static/: ${unsafe.detail}`, at);
  else if (content === undefined) out.fail(C.remoteEntryMissing, `frontend.remote_entry is ${JSON.stringify(remoteEntry)} but ${path} is not in the wheel: the host reports frontend_remote_entry_missing`, at);
  else out.pass(C.remoteEntryMissing, `${path} is in the wheel (${Buffer.byteLength(content)} bytes)`, at);
  if (content === undefined) {
    out.notApplicable(C.absoluteAssets, "no remote entry to read", at);
    return;
  }
  const hits = ABSOLUTE_ASSET_PATTERNS.flatMap(({ pattern, what }) => {
    const match = pattern.exec(content);
    return match ? [{ what, snippet: content.slice(Math.max(0, match.index - 20), match.index + match[0].length + 20) }] : [];
  });
  if (hits.length === 0) out.pass(C.absoluteAssets, `${path} references no absolute asset path`, at);
  else out.fail(C.absoluteAssets, `${path} uses ${hits.map((h) => h.what).join(", ")}: assets load from the site root instead of /extensions/<id>/`, { ...at, hits });
}
