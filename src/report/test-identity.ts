import { createHash } from "node:crypto";
import path from "node:path";
import { PLATFORM_IDS, type PlatformId } from "../platform/platforms.ts";

/** A contract clause id such as `WHL-08`. */
export const CLAUSE_ID = /\b(WHL|ARC|DIR|BND|KRN|HST)-\d{2}\b/g;

/**
 * The clause ids a test checks: the ids its title starts with (`"WHL-08 WHL-09: skips ..."`).
 * Only the leading ids count, so a title that mentions a clause in passing does not claim it.
 */
export function clauseIdsOf(title: string): string[] {
  const lead = /^\s*((?:(?:WHL|ARC|DIR|BND|KRN|HST)-\d{2}[\s,]*)+):/.exec(title)?.[1];
  return lead ? [...new Set(lead.match(CLAUSE_ID) ?? [])] : [];
}

/** The clause family (`WHL`) of a clause id. */
export function familyOf(clause: string): string {
  return clause.slice(0, 3);
}

/** The cell a test ran on, from its describe names (`"discovery on linux-aarch64.trixie.reference"`). */
export interface CellIdentity {
  id: string;
  platform: PlatformId;
  base: string;
  host: string;
}

export function cellOf(suitePath: readonly string[]): CellIdentity | undefined {
  const platforms = PLATFORM_IDS.join("|").replace(/\./g, "\\.");
  const re = new RegExp(`\\b(${platforms})\\.([a-z0-9][a-z0-9-]*)\\.([a-z0-9][a-z0-9.-]*?)(?:'|"|$|\\s)`);
  for (const name of [...suitePath].reverse()) {
    const m = re.exec(name);
    if (m) return { id: `${m[1]}.${m[2]}.${m[3]}`, platform: m[1] as PlatformId, base: m[2]!, host: m[3]! };
  }
  return undefined;
}

/** The suite a test file is (`suites/discovery.test.ts` → `discovery`). */
export function suiteOf(file: string): string {
  return path.basename(file).replace(/\.test\.[cm]?[jt]s$/, "");
}

/** The key that matches a test to its Allure result (whose fullName ends with it). */
export function testKey(relativeFile: string, suitePath: readonly string[], name: string): string {
  return `${relativeFile.split(path.sep).join("/")}#${[...suitePath, name].join(" ")}`;
}

/**
 * A test's stable id: the first 24 hex digits of its key's SHA-256. Its record is `<id>.json` in the
 * run's results, and `distcheck repro` takes it to name the test to replay.
 */
export function testId(key: string): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 24);
}
