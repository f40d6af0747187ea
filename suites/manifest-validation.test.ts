import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import type { ArchiveDeclaration } from "../src/fixtures/declarations/fixture-declaration.ts";
import { loadFixtureDeclarations } from "../src/fixtures/declarations/declaration-loader.ts";
import type { BootedHost } from "../src/hosts/booted-host.ts";
import type { AgentAnswer, InstallAnswer } from "../src/hosts/host-wire.ts";
import { ARCHIVE_LIMITS, predictManifest } from "../src/oracle/archive-oracle.ts";
import { isValidExtensionId, localExtensionId } from "../src/oracle/index.ts";
import { suiteCells, PROJECT_ROOT } from "./support/cells.ts";
import { archive, CONTAINER_ARCHIVES, containerPath, fixtureBytes } from "./support/fixture-files.ts";
import { attachOnFailure, bootHost, scaledTimeout } from "./support/host.ts";

// ARC-09: manifest validation and extension ids; ARC-10: the valid range of stop.grace_seconds.
// Expected outcomes come from the fixture declarations (their `predicted`), from the archive
// oracle (src/oracle/archive-oracle.ts: the contract's limits and manifest rules) for fixtures that
// predict "oracle", and from the id rules of the contract implemented in the harness's oracle
// (src/oracle/extension-id.ts), never from the host's answers.
const cells = suiteCells("manifest-validation");
const declarations = (await loadFixtureDeclarations(path.join(PROJECT_ROOT, "fixtures"))).archives;
const declaration = (name: string): ArchiveDeclaration => {
  const d = declarations.find((a) => a.name === name);
  if (!d) throw new Error(`No archive declaration ${name} in fixtures/archives`);
  return d;
};

type Json = Record<string, unknown>;

/**
 * Every numeric limit of a manifest at its boundary: the last value inside and the first outside,
 * one fixture each, so that an off-by-one in either direction fails exactly one test. `value` reads
 * the bounded quantity from a manifest (the declared one, or the host's effective one), `expected`
 * is what the fixture must hold; a fixture that drifted off its boundary stops the suite here.
 */
interface Boundary {
  fixture: string;
  /** A list field whose whole value the effective manifest must keep when accepted. */
  field?: "keywords" | "categories";
  /** Which bound, in words for the title. */
  position: string;
  /** Whether the value lies inside the valid range (the fixture is otherwise valid, so the oracle must accept it exactly then). */
  inside: boolean;
  expected: number;
  value: (manifest: Json) => unknown;
}

const listLength = (key: "keywords" | "categories") => (manifest: Json): unknown => (Array.isArray(manifest[key]) ? (manifest[key] as unknown[]).length : undefined);
/** `stop.grace_seconds` where a manifest sets it: `[host.agent]` or the top level (the effective manifest has it at the top). */
const graceSeconds = (manifest: Json): unknown => {
  const agent = ((manifest.host as Json | undefined)?.agent ?? {}) as Json;
  return ((agent.stop ?? manifest.stop) as Json | undefined)?.grace_seconds;
};
const { maxKeywords, maxCategories, graceSeconds: grace } = ARCHIVE_LIMITS;

/** ARC-09: keywords ≤ 20, categories ≤ 10 (the limit itself is valid). */
const LIST_BOUNDARIES: Array<Boundary & Required<Pick<Boundary, "field">>> = [
  { field: "keywords", fixture: "arc-manifest-keywords-at-limit", position: "exactly the limit", inside: true, expected: maxKeywords, value: listLength("keywords") },
  { field: "keywords", fixture: "arc-manifest-too-many-keywords", position: "one over the limit", inside: false, expected: maxKeywords + 1, value: listLength("keywords") },
  { field: "categories", fixture: "arc-manifest-categories-at-limit", position: "exactly the limit", inside: true, expected: maxCategories, value: listLength("categories") },
  { field: "categories", fixture: "arc-manifest-too-many-categories", position: "one over the limit", inside: false, expected: maxCategories + 1, value: listLength("categories") },
];
/** ARC-10: stop.grace_seconds valid 1–300, both ends included. */
const GRACE_BOUNDARIES: Boundary[] = [
  { fixture: "arc-grace-0", position: "one below the valid range", inside: false, expected: grace.min - 1, value: graceSeconds },
  { fixture: "arc-grace-1", position: "the lowest valid value", inside: true, expected: grace.min, value: graceSeconds },
  { fixture: "arc-grace-300", position: "the highest valid value", inside: true, expected: grace.max, value: graceSeconds },
  { fixture: "arc-grace-out-of-range", position: "one above the valid range", inside: false, expected: grace.max + 1, value: graceSeconds },
];
for (const b of [...LIST_BOUNDARIES, ...GRACE_BOUNDARIES]) {
  const held = b.value(declaration(b.fixture).manifest);
  if (held !== b.expected) throw new Error(`fixtures/archives/${b.fixture}.json must hold ${b.expected} (${b.position}), holds ${JSON.stringify(held)}`);
  // Nothing else may be wrong with a boundary fixture: the oracle accepts it exactly when its value is inside.
  const verdict = predictManifest(declaration(b.fixture).manifest);
  if (b.inside ? !verdict.valid : verdict.valid || verdict.problems.length !== 1) throw new Error(`fixtures/archives/${b.fixture}.json must be ${b.inside ? "valid" : "invalid only by its boundary value"}; the oracle says ${JSON.stringify(verdict)}`);
}
const boundaryNames = new Set([...LIST_BOUNDARIES, ...GRACE_BOUNDARIES].map((b) => b.fixture));
/** What the oracle predicts for a boundary fixture, in words for its title. */
const verdictText = (b: Boundary): string => {
  const verdict = predictManifest(declaration(b.fixture).manifest);
  return verdict.valid ? "is accepted, and its effective manifest keeps the value" : `is refused with ${verdict.error} and installs nothing`;
};

// Invalid and valid manifests that declare their outcome; the boundary fixtures have tests of their own.
const refused = declarations.filter((d) => d.clauses.includes("ARC-09") && typeof d.predicted === "object" && d.predicted.installed === false && !boundaryNames.has(d.name));
const accepted = declarations.filter((d) => d.clauses.includes("ARC-09") && typeof d.predicted === "object" && d.predicted.installed === true && !boundaryNames.has(d.name));
if (refused.length < 4 || accepted.length < 2) throw new Error("fixtures/archives must declare invalid and valid ARC-09 manifests");

/** Ids from the seed's examples and edge cases, requested at install of a valid archive. */
const REQUESTED_IDS = ["acme.canbus-decoder", "john-doe.mqtt-bridge", "local.sensor-01", "Acme.CANBus", "acme.-canbus", "acme..canbus", "acme", "acme.can_bus"];
/** Folder-like archive names installed without an id: the id is the normalised local id. */
const LOCAL_NAMES = ["My Extension v2", "Sensor_Monitor", "CAN__BUS___Tool"];

type Answer = AgentAnswer<InstallAnswer>;

describe.concurrent.each(cells)("manifest validation on $id", (cell) => {
  let host: BootedHost;
  const minimal = archive("arc-minimal", "tar.gz");
  const variant = (d: ArchiveDeclaration) => archive(d.name, "tar.gz");

  beforeAll(async () => {
    host = await bootHost(cell, {
      files: [...refused.map(variant), ...accepted.map(variant), ...[...boundaryNames].map((n) => variant(declaration(n))), minimal],
      extraFiles: LOCAL_NAMES.map((n) => ({ target: `${CONTAINER_ARCHIVES}/${n}-1.0.0.tar.gz`, content: fixtureBytes(minimal) })),
    });
  }, scaledTimeout(cell, 30_000));

  afterAll(async () => {
    await host?.[Symbol.asyncDispose]();
  });

  const install = (source: string, sha256: string, id?: string): Promise<Answer> => host.agent.install({ source, sha256, ...(id ? { id } : {}) });
  /** ARC-08 layout, from the contract: `<data>/extensions/<id>`. */
  const installDir = (id: string): string => `${host.dataDir}/extensions/${id}`;
  /** `test -e`, through the Engine API. */
  const installDirExists = (id: string): Promise<boolean> => host.container.exists(installDir(id), { followSymlinks: true });

  it("ARC-09: refuses each invalid manifest (empty name, non-SemVer version, no [host]/[runtime], an empty category) and installs nothing", async (ctx) => {
    const answers: Record<string, Answer> = {};
    attachOnFailure(ctx, () => host, async () => ({ answers }));
    for (const d of refused) {
      const entry = variant(d);
      const answer = await install(containerPath(entry), entry.sha256, d.installId);
      answers[d.name] = answer;
      const predicted = d.predicted as { error?: string | string[] };
      expect(answer.status, d.name).toBeGreaterThanOrEqual(400);
      expect([predicted.error].flat(), d.name).toContain(answer.body.error?.code);
      expect(await installDirExists(d.installId), `${d.name} left ${installDir(d.installId)}`).toBe(false);
    }
  }, scaledTimeout(cell, 30_000));

  it("ARC-09: accepts a valid manifest in the [host] form and in the legacy [runtime] form", async (ctx) => {
    const answers: Record<string, Answer> = {};
    attachOnFailure(ctx, () => host, async () => ({ answers }));
    for (const d of accepted) {
      const entry = variant(d);
      const answer = await install(containerPath(entry), entry.sha256, d.installId);
      answers[d.name] = answer;
      expect(answer.status, `${d.name}: ${JSON.stringify(answer.body)}`).toBe(201);
      expect(answer.body.id).toBe(d.installId);
    }
    expect(accepted.map((d) => variant(d).manifestForm).sort()).toEqual(expect.arrayContaining(["host", "runtime"]));
  }, scaledTimeout(cell, 30_000));

  /**
   * Installs a boundary fixture and checks what the oracle predicts: accepted (201, its id, and the
   * effective manifest keeps the bounded value) or refused (the oracle's code, no install directory).
   */
  async function checkBoundary(ctx: TestContext, b: Boundary): Promise<void> {
    const d = declaration(b.fixture);
    const verdict = predictManifest(d.manifest);
    const entry = variant(d);
    let answer: Answer | undefined;
    let listed: unknown;
    attachOnFailure(ctx, () => host, async () => ({ fixture: { name: d.name, manifest: d.manifest, oracle: verdict }, answer, listed }));
    answer = await install(containerPath(entry), entry.sha256, d.installId);
    if (verdict.valid) {
      expect(answer.status, `${d.name}: ${JSON.stringify(answer.body)}`).toBe(201);
      expect(answer.body.id).toBe(d.installId);
      const effective = (await host.agent.list()).find((e) => e.id === d.installId);
      listed = effective;
      expect(effective, `${d.installId} in the agent's list`).toBeDefined();
      expect(b.value(effective!.manifest), `${d.name}: the effective manifest keeps the declared value`).toBe(b.expected);
      if (b.field) expect(effective!.manifest[b.field], `${d.name}: the effective manifest keeps every one of its ${b.field}`).toEqual(d.manifest[b.field]);
    } else {
      expect(answer.status, `${d.name}: ${JSON.stringify(answer.body)}`).toBeGreaterThanOrEqual(400);
      expect(answer.status, `${d.name}: ${JSON.stringify(answer.body)}`).toBeLessThan(500);
      expect(answer.body.error?.code, `${d.name}: ${answer.body.error?.message}`).toBe(verdict.error);
      expect(await installDirExists(d.installId), `${d.name} left ${installDir(d.installId)}`).toBe(false);
    }
  }

  for (const b of LIST_BOUNDARIES) {
    it(`ARC-09: a manifest with ${b.expected} ${b.field} (${b.position} of ${b.field === "keywords" ? maxKeywords : maxCategories}) ${verdictText(b)}`, async (ctx) => {
      await checkBoundary(ctx, b);
    }, scaledTimeout(cell, 30_000));
  }

  for (const b of GRACE_BOUNDARIES) {
    it(`ARC-10: a manifest with stop.grace_seconds ${b.expected} (${b.position} ${grace.min}-${grace.max}) ${verdictText(b)}`, async (ctx) => {
      await checkBoundary(ctx, b);
    }, scaledTimeout(cell, 30_000));
  }

  it("ARC-09: extension ids follow the publisher.name rules", async (ctx) => {
    const answers: Record<string, Answer> = {};
    attachOnFailure(ctx, () => host, async () => ({ answers }));
    for (const id of REQUESTED_IDS) {
      const answer = await install(containerPath(minimal), minimal.sha256, id);
      answers[id] = answer;
      if (isValidExtensionId(id)) {
        expect(answer.status, `${id}: ${JSON.stringify(answer.body)}`).toBe(201);
        expect(answer.body.id).toBe(id);
      } else {
        expect(answer.status, `${id} must be refused`).toBeGreaterThanOrEqual(400);
        expect(answer.body.error?.code, id).toBe("manifest_invalid");
        expect(await installDirExists(id), id).toBe(false);
      }
    }
  }, scaledTimeout(cell, 40_000));

  it("ARC-09: a local install's id is normalised from its name", async (ctx) => {
    const answers: Record<string, Answer> = {};
    attachOnFailure(ctx, () => host, async () => ({ answers }));
    for (const name of LOCAL_NAMES) {
      const answer = await install(`${CONTAINER_ARCHIVES}/${name}-1.0.0.tar.gz`, minimal.sha256);
      answers[name] = answer;
      expect(answer.status, `${name}: ${JSON.stringify(answer.body)}`).toBe(201);
      expect(answer.body.id, name).toBe(localExtensionId(name));
    }
  }, scaledTimeout(cell, 30_000));
});
