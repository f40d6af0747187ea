import { createHash } from "node:crypto";
import semver from "semver";
import { DistcheckError } from "../errors/distcheck-error.ts";

/** One numbered clause of the contract. */
export interface Clause {
  /** `WHL-08`: the family, a hyphen, two digits. */
  id: string;
  /** `WHL` */
  family: string;
  /** A few words that name the clause in a report's tree or a table. */
  title: string;
  /** The clause as CONTRACT.md states it (Markdown: `code`, **strong**, *emphasis*). */
  text: string;
  /** The contract version in which the clause took its present meaning. */
  since: string;
}

/** A clause family: one section of CONTRACT.md. */
export interface ClauseFamily {
  id: string;
  title: string;
}

/** The contract as the harness reads it (contract.json), derived from CONTRACT.md. */
export interface Contract {
  /** Where the contract was generated from, relative to the repository root. */
  generatedFrom: string;
  /** SemVer of the contract. */
  version: string;
  /** SHA-256 (hex) of the bytes of CONTRACT.md the clauses were read from. */
  sha256: string;
  families: ClauseFamily[];
  clauses: Clause[];
}

/** CONTRACT.md does not follow the shape its parser reads (version line, family tables, changelog). */
export class ContractError extends DistcheckError {
  constructor(message: string) {
    super("contract_invalid", message, { category: "input" });
    this.name = "ContractError";
  }
}

const VERSION_LINE = /^Version: \*\*(.+?)\*\*\s*$/;
const FAMILY_HEADING = /^## ([A-Z]{3}): (.+?)\s*$/;
const CLAUSE_ID = /^([A-Z]{3})-\d{2}$/;
const TABLE_HEADER = ["id", "title", "clause", "since"];
const CHANGELOG_HEADING = /^## Changelog\s*$/;
const CHANGELOG_ENTRY = /^### (\S+)\s*$/;

/** The cells of a Markdown table row; `\|` inside a cell is a literal bar. */
function cellsOf(line: string): string[] {
  const inner = line.trim().replace(/^\|/, "").replace(/(?<!\\)\|$/, "");
  return inner.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|"));
}

/**
 * Reads CONTRACT.md: the version line (`Version: **1.0.0**`), one `## FAM: title` section per family
 * holding a `| id | title | clause | since |` table, and a `## Changelog` of `### <version>` entries,
 * newest first. Anything that would make a clause vanish silently (a malformed row, a row of another
 * family, a duplicate id) is an error naming the line, since a clause that is not read is a clause no
 * suite is held to.
 */
export function parseContract(markdown: Buffer | string, source = "CONTRACT.md"): Contract {
  const bytes = typeof markdown === "string" ? Buffer.from(markdown, "utf8") : markdown;
  const lines = bytes.toString("utf8").split(/\r?\n/);
  const fail = (line: number | undefined, what: string): never => {
    throw new ContractError(`${source}${line === undefined ? "" : `:${line}`}: ${what}`);
  };

  const versions = lines.flatMap((l, i) => (VERSION_LINE.test(l) ? [{ line: i + 1, value: VERSION_LINE.exec(l)![1]! }] : []));
  if (versions.length !== 1) fail(versions[1]?.line, `must have exactly one version line such as "Version: **1.0.0**", found ${versions.length}`);
  const version = versions[0]!.value;
  if (semver.valid(version) !== version) fail(versions[0]!.line, `the contract version must be a SemVer version such as 1.0.0, got "${version}"`);

  const families: ClauseFamily[] = [];
  const clauses: Clause[] = [];
  const changelog: Array<{ line: number; version: string }> = [];
  let section: "preamble" | "family" | "changelog" | "other" = "preamble";
  let family: ClauseFamily | undefined;
  lines.forEach((line, index) => {
    const n = index + 1;
    if (line.startsWith("## ")) {
      const heading = FAMILY_HEADING.exec(line);
      if (heading) {
        if (families.some((f) => f.id === heading[1])) fail(n, `family ${heading[1]} has a second section`);
        family = { id: heading[1]!, title: heading[2]! };
        families.push(family);
        section = "family";
      } else {
        family = undefined;
        section = CHANGELOG_HEADING.test(line) ? "changelog" : "other";
      }
      return;
    }
    if (section === "changelog") {
      const entry = CHANGELOG_ENTRY.exec(line);
      if (entry) changelog.push({ line: n, version: entry[1]! });
      return;
    }
    if (section !== "family" || !line.trimStart().startsWith("|")) return;
    const cells = cellsOf(line);
    if (cells.every((c) => /^:?-+:?$/.test(c))) return;
    if (cells.join("|") === TABLE_HEADER.join("|")) return;
    if (cells.length !== TABLE_HEADER.length) fail(n, `a clause row has ${TABLE_HEADER.length} cells (${TABLE_HEADER.join(", ")}), this one has ${cells.length}`);
    const [id, title, text, since] = cells as [string, string, string, string];
    const idFamily = CLAUSE_ID.exec(id)?.[1];
    if (!idFamily) fail(n, `"${id}" is not a clause id such as WHL-08`);
    if (idFamily !== family!.id) fail(n, `${id} sits in the ${family!.id} section; move it to the ${idFamily} section`);
    if (clauses.some((c) => c.id === id)) fail(n, `${id} appears twice`);
    if (!title) fail(n, `${id} has no title`);
    if (!text) fail(n, `${id} has no text`);
    if (semver.valid(since) !== since) fail(n, `${id}: since must be a SemVer version such as 1.0.0, got "${since}"`);
    if (semver.gt(since, version)) fail(n, `${id} is since ${since}, after the contract's version ${version}`);
    clauses.push({ id, family: idFamily!, title, text, since });
  });

  if (families.length === 0) fail(undefined, `has no clause family section ("## WHL: title" followed by a ${TABLE_HEADER.join(" | ")} table)`);
  for (const f of families) if (!clauses.some((c) => c.family === f.id)) fail(undefined, `family ${f.id} has no clauses`);
  // The changelog is how a reader learns what a version bump means: the current version must have
  // an entry, entries run newest first, and every clause's since names an entry.
  if (changelog[0]?.version !== version) fail(changelog[0]?.line, `the changelog ("## Changelog", then "### <version>" newest first) must start with the contract's version ${version}, got ${changelog[0]?.version ?? "no entry"}`);
  changelog.forEach((e, i) => {
    if (semver.valid(e.version) !== e.version) fail(e.line, `changelog entry "${e.version}" is not a SemVer version`);
    const newer = changelog[i - 1];
    if (newer && !semver.gt(newer.version, e.version)) fail(e.line, `changelog entries run newest first: ${e.version} follows ${newer.version}`);
  });
  for (const c of clauses) if (!changelog.some((e) => e.version === c.since)) fail(undefined, `${c.id} is since ${c.since}, which has no changelog entry`);

  return { generatedFrom: source, version, sha256: createHash("sha256").update(bytes).digest("hex"), families, clauses };
}

/** contract.json's bytes for a contract: what the generator writes and the unit test compares. */
export function contractJson(contract: Contract): string {
  return `${JSON.stringify(contract, null, 2)}\n`;
}
