import type { CodeExpectation, WheelDeclaration } from "../fixtures/declarations/fixture-declaration.ts";
import { OracleError } from "./oracle-error.ts";
import { isPep440Specifier, isPep440Version, pep440Contains, specifierClauses } from "./pep440.ts";

/**
 * What the contract (WHL-02..13) predicts for each installed sample wheel, from the declarations
 * alone: the host's answer is never an input. The steps follow the contract's order: load, construct,
 * manifest, duplicates, disabled, compatibility to a fixed point before any setup(), setup(), frontend.
 */

/** The host facts a prediction depends on. */
export interface WheelHostFacts {
  /** The host's own PEP 440 version (`core_version`). */
  coreVersion: string;
  /** Extension ids in the host's disabled list. @default [] */
  disabled?: string[];
}

/** The contract's prediction for one installed sample wheel. */
export interface WheelOutcome {
  fixture: string;
  /** The manifest id when the manifest declares a usable one, else null. */
  extensionId: string | null;
  /**
   * `true`/`false`; `"one-of"`: a duplicate group where exactly one member is listed (which one is
   * the host's deterministic choice); `"any"`: the contract does not say (a missing remote entry).
   */
  listed: boolean | "one-of" | "any";
  /**
   * Diagnostics for this extension, each a code or alternatives. For a duplicate group they are the
   * winner's; every other member is reported with `duplicate_extension_id`.
   */
  diagnostics: CodeExpectation[];
  /** Whether its `setup()` runs (witness `setup` line); `"one-of"` for the winner of a duplicate group. */
  setupRuns: boolean | "one-of";
  /**
   * `"any"`: the contract does not say whether what it registered stays (a setup() that raised part
   * way, WHL-11). Otherwise a listed extension's registrations are there and a skipped one's are not.
   */
  registrations?: "any";
  /** Strings a diagnostic's message must contain, by code (`incompatible_extension` names both versions). */
  messageMustName: Record<string, string[]>;
  /** The published `remote_entry_url` (WHL-13); null: none may be published; "any": either; undefined: no frontend. */
  remoteEntryUrl?: string | null | "any";
  /** Fixture names sharing this extension id (WHL-06), this one included. */
  duplicateGroup?: string[];
  /** Why, in a few words (for failure messages). */
  reason: string;
}

/** `id` or `id<specifier>` in `requires_extensions` (WHL-09). */
export interface ExtensionRequirement {
  id: string;
  specifier: string;
}

const ID = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9])?$/;
const REQUIREMENT = /^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(.*?)\s*$/;
const UNREADABLE: CodeExpectation = ["manifest_read_failed", "manifest_invalid"];

/** Splits `id` / `id<specifier>`; null when the entry is not a string with an id and a valid specifier. */
export function parseExtensionRequirement(entry: unknown): ExtensionRequirement | null {
  if (typeof entry !== "string") return null;
  const match = REQUIREMENT.exec(entry);
  if (!match) return null;
  const [id, specifier] = [match[1]!, match[2]!];
  if (specifier !== "" && !isPep440Specifier(specifier)) return null;
  return { id, specifier };
}

interface Parsed {
  decl: WheelDeclaration;
  id: string;
  version: string;
  manifest: Record<string, unknown>;
  requires: ExtensionRequirement[];
}

/** The manifest the wheel ships, or why the host cannot use it (WHL-05, WHL-10). */
function readManifest(decl: WheelDeclaration): { ok: true; parsed: Parsed } | { ok: false; codes: CodeExpectation; id: string | null; reason: string } {
  let manifest: unknown;
  if (decl.manifestFile === "absent") return { ok: false, codes: UNREADABLE, id: null, reason: "no extension.json in the package" };
  if (decl.manifestFile === "raw") {
    try {
      manifest = JSON.parse(decl.manifestRaw ?? "");
    } catch {
      return { ok: false, codes: UNREADABLE, id: null, reason: "extension.json is not JSON" };
    }
  } else manifest = decl.manifest;
  if (manifest === null || typeof manifest !== "object" || Array.isArray(manifest)) return { ok: false, codes: UNREADABLE, id: null, reason: "extension.json is not an object" };
  const m = manifest as Record<string, unknown>;
  if (typeof m.id !== "string" || !ID.test(m.id)) return { ok: false, codes: UNREADABLE, id: null, reason: "extension.json has no valid id" };
  const id = m.id;
  for (const key of ["name", "version"]) {
    if (typeof m[key] !== "string" || (m[key] as string).trim() === "") return { ok: false, codes: UNREADABLE, id, reason: `extension.json has no ${key}` };
  }
  if ((m.schema_version ?? 1) !== 1) return { ok: false, codes: UNREADABLE, id, reason: "unsupported schema_version" };
  // Several problems in one manifest: any one of their codes satisfies the contract.
  const problems: string[] = [];
  if (!isPep440Version(m.version as string)) problems.push("invalid_version");
  const spec = m.requires_core_version;
  if (spec !== undefined && spec !== null && (typeof spec !== "string" || !isPep440Specifier(spec))) problems.push("invalid_specifier");
  const requires: ExtensionRequirement[] = [];
  const list = m.requires_extensions ?? [];
  if (!Array.isArray(list)) problems.push("manifest_invalid");
  else {
    for (const entry of list) {
      const parsed = parseExtensionRequirement(entry);
      if (parsed) requires.push(parsed);
      else if (!problems.includes("invalid_specifier")) problems.push("invalid_specifier");
    }
  }
  if (problems.length > 0) return { ok: false, codes: problems.length === 1 ? problems[0]! : problems, id, reason: `manifest problem: ${problems.join(", ")}` };
  return { ok: true, parsed: { decl, id, version: m.version as string, manifest: m, requires } };
}

function outcome(decl: WheelDeclaration, fields: Partial<WheelOutcome> & Pick<WheelOutcome, "listed" | "reason">): WheelOutcome {
  return { fixture: decl.name, extensionId: null, diagnostics: [], setupRuns: false, messageMustName: {}, ...fields };
}

/** The part of a manifest and behaviour that decides what happens after de-duplication. */
function downstreamKey(p: Parsed): string {
  const m = p.manifest;
  return JSON.stringify([p.version, m.requires_core_version ?? null, p.requires, p.decl.behaviour.setup, m.frontend ?? null, p.decl.behaviour.frontend]);
}

/**
 * Predicts every installed wheel's outcome. `installed` is every sample wheel pip put into the host's
 * environment (dependencies pulled in by Requires-Dist included).
 */
export function predictWheels(installed: WheelDeclaration[], facts: WheelHostFacts): Map<string, WheelOutcome> {
  if (!isPep440Version(facts.coreVersion)) throw new OracleError("oracle_input_invalid", `core version ${JSON.stringify(facts.coreVersion)} is not a PEP 440 version; give the host a valid core_version.`);
  const disabled = new Set(facts.disabled ?? []);
  const result = new Map<string, WheelOutcome>();
  const parsed: Parsed[] = [];
  /** Ids the host could know (a manifest with an id was read), even when the manifest was rejected. */
  const rejectedIds = new Set<string>();

  for (const decl of [...installed].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const b = decl.behaviour;
    const id = typeof decl.manifest?.id === "string" ? decl.manifest.id : null;
    if (b.import === "error") result.set(decl.name, outcome(decl, { listed: false, extensionId: id, diagnostics: ["entry_point_load_failed"], reason: "the entry point's module fails to import" }));
    else if (b.construct === "raise") result.set(decl.name, outcome(decl, { listed: false, extensionId: id, diagnostics: ["plugin_initialize_failed"], reason: "the constructor raises" }));
    else if (b.entryPoint === "no-manifest-method") result.set(decl.name, outcome(decl, { listed: false, extensionId: id, diagnostics: ["manifest_method_missing"], reason: "the plugin has no manifest() method" }));
    else {
      const read = readManifest(decl);
      if (read.ok) parsed.push(read.parsed);
      else {
        if (read.id) rejectedIds.add(read.id);
        result.set(decl.name, outcome(decl, { listed: false, extensionId: read.id, diagnostics: [read.codes], reason: read.reason }));
      }
    }
  }

  // Duplicate ids (WHL-06): one node per id. Which member wins is the host's choice, so every member
  // must lead to the same downstream outcome, else the prediction would depend on that choice.
  const groups = new Map<string, Parsed[]>();
  for (const p of parsed) groups.set(p.id, [...(groups.get(p.id) ?? []), p]);
  for (const [id, members] of groups) {
    if (new Set(members.map(downstreamKey)).size > 1) {
      throw new OracleError("oracle_ambiguous", `Fixtures ${members.map((m) => m.decl.name).join(", ")} share id ${id} but differ in version, requirements, setup or frontend; the outcome would depend on which one the host keeps. Install at most one of them, or make them agree.`);
    }
  }
  const nodes = new Map([...groups].map(([id, members]) => [id, members[0]!]));

  // Node-level decisions, in the contract's order.
  const decided = new Map<string, Omit<WheelOutcome, "fixture" | "duplicateGroup">>();
  const decide = (id: string, fields: Partial<WheelOutcome> & Pick<WheelOutcome, "listed" | "reason">): void => {
    decided.set(id, { extensionId: id, diagnostics: [], setupRuns: false, messageMustName: {}, ...fields });
  };
  const active = new Set<string>();
  for (const [id, node] of nodes) {
    const spec = node.manifest.requires_core_version;
    if (disabled.has(id)) decide(id, { listed: false, diagnostics: ["extension_disabled"], reason: "disabled in the host configuration" });
    else if (typeof spec === "string" && spec.trim() !== "" && !pep440Contains(spec, facts.coreVersion)) {
      decide(id, {
        listed: false,
        diagnostics: ["incompatible_extension"],
        messageMustName: { incompatible_extension: [...specifierClauses(spec), facts.coreVersion] },
        reason: `requires_core_version ${spec} excludes core ${facts.coreVersion}`,
      });
    } else active.add(id);
  }

  // requires_extensions to a fixed point, before any setup() (WHL-09).
  const failing = (node: Parsed, present: Set<string>): ExtensionRequirement[] =>
    node.requires.filter((r) => !present.has(r.id) || (r.specifier !== "" && !pep440Contains(r.specifier, nodes.get(r.id)!.version)));
  const removed: string[] = [];
  for (let changed = true; changed; ) {
    changed = false;
    for (const id of [...active]) {
      if (failing(nodes.get(id)!, active).length > 0) {
        active.delete(id);
        removed.push(id);
        changed = true;
      }
    }
  }
  for (const id of removed) {
    const node = nodes.get(id)!;
    const codes = new Set<string>();
    for (const r of failing(node, active)) {
      const dep = nodes.get(r.id);
      if (dep === undefined) {
        // A dependency whose manifest was rejected: the host may count it as installed-but-skipped.
        codes.add("missing_dependency");
        if (rejectedIds.has(r.id)) codes.add("dependency_skipped");
      }
      if (dep !== undefined && !active.has(r.id)) codes.add("dependency_skipped");
      // An installed dependency whose version does not match may be reported as a mismatch even when
      // it was skipped too: the host may judge the version first.
      if (dep !== undefined && r.specifier !== "" && !pep440Contains(r.specifier, dep.version)) codes.add("dependency_version_mismatch");
    }
    const list = [...codes].sort();
    decide(id, { listed: false, diagnostics: [list.length === 1 ? list[0]! : list], reason: `requires_extensions not satisfied: ${failing(node, active).map((r) => r.id + r.specifier).join(", ")}` });
  }

  // setup() in dependency order; a dependant of a failed setup() is skipped (WHL-11, WHL-09).
  const setupOk = new Set<string>();
  const visiting = new Set<string>();
  const visit = (id: string): void => {
    if (decided.has(id) || visiting.has(id)) return;
    visiting.add(id);
    const node = nodes.get(id)!;
    for (const r of node.requires) visit(r.id);
    visiting.delete(id);
    if (decided.has(id)) return;
    const notSetUp = node.requires.filter((r) => !setupOk.has(r.id)).map((r) => r.id);
    if (notSetUp.length > 0) {
      decide(id, { listed: false, diagnostics: ["dependency_skipped"], reason: `depends on ${notSetUp.join(", ")}, whose setup() did not complete` });
      return;
    }
    if (node.decl.behaviour.setup === "raise") {
      // WHL-11 asks for the report and for isolation (the host serves, the others work); whether the
      // failed extension stays listed, and keeps what it registered before raising, it leaves open.
      decide(id, { listed: "any", registrations: "any", setupRuns: true, diagnostics: ["setup_failed"], reason: "setup() raises" });
      return;
    }
    setupOk.add(id);
    const frontend = node.manifest.frontend as Record<string, unknown> | undefined;
    const remote = frontend && typeof frontend.remote_entry === "string" && frontend.remote_entry !== "" ? frontend.remote_entry : undefined;
    if (remote === undefined) decide(id, { listed: true, setupRuns: true, reason: "loads" });
    else if (node.decl.behaviour.frontend === "present" || node.decl.behaviour.static[remote] !== undefined) {
      decide(id, { listed: true, setupRuns: true, remoteEntryUrl: `/extensions/${id}/${remote}`, reason: "loads with a frontend remote entry" });
    } else {
      // WHL-13 asks for the diagnostic; it does not say whether the URL of the missing file is published.
      decide(id, { listed: "any", setupRuns: true, remoteEntryUrl: "any", diagnostics: ["frontend_remote_entry_missing"], reason: `declares frontend.remote_entry ${remote} that the wheel lacks` });
    }
  };
  for (const id of [...active].sort()) visit(id);

  for (const [id, members] of groups) {
    const node = decided.get(id)!;
    for (const m of members) {
      if (members.length === 1) result.set(m.decl.name, { fixture: m.decl.name, ...node });
      else {
        result.set(m.decl.name, {
          fixture: m.decl.name,
          ...node,
          listed: node.listed === false ? false : "one-of",
          setupRuns: node.setupRuns ? "one-of" : false,
          duplicateGroup: members.map((x) => x.decl.name),
          reason: `duplicate id ${id}; the winner: ${node.reason}`,
        });
      }
    }
  }
  return result;
}
