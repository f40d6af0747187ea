import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ArchiveDeclaration } from "../src/fixtures/declarations/fixture-declaration.ts";
import { loadFixtureDeclarations } from "../src/fixtures/declarations/declaration-loader.ts";
import type { BootedHost } from "../src/hosts/booted-host.ts";
import type { AgentAnswer, InstallAnswer } from "../src/hosts/host-wire.ts";
import { isValidExtensionId, localExtensionId } from "../src/oracle/index.ts";
import { suiteCells, PROJECT_ROOT } from "./support/cells.ts";
import { archive, CONTAINER_ARCHIVES, containerPath, fixtureBytes } from "./support/fixture-files.ts";
import { attachOnFailure, bootHost, scaledTimeout } from "./support/host.ts";

// ARC-09: manifest validation and extension ids. Expected outcomes come from the fixture
// declarations (their `predicted`) and from the id rules of the contract implemented in the
// harness's oracle (src/oracle/extension-id.ts), never from the host's answers.
const cells = suiteCells("manifest-validation");
const declarations = (await loadFixtureDeclarations(path.join(PROJECT_ROOT, "fixtures"))).archives;
const refused = declarations.filter((d) => d.clauses.includes("ARC-09") && typeof d.predicted === "object" && d.predicted.installed === false);
const accepted = declarations.filter((d) => d.clauses.includes("ARC-09") && typeof d.predicted === "object" && d.predicted.installed === true);
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
      files: [...refused.map(variant), ...accepted.map(variant), minimal],
      extraFiles: LOCAL_NAMES.map((n) => ({ target: `${CONTAINER_ARCHIVES}/${n}-1.0.0.tar.gz`, content: fixtureBytes(minimal) })),
    });
  }, scaledTimeout(cell, 30_000));

  afterAll(async () => {
    await host?.[Symbol.asyncDispose]();
  });

  const install = (source: string, sha256: string, id?: string): Promise<Answer> => host.agent.install({ source, sha256, ...(id ? { id } : {}) });
  /** ARC-08 layout, from the contract: `<data>/extensions/<id>`. */
  const installDir = (id: string): string => `${host.dataDir}/extensions/${id}`;
  const installDirExists = async (id: string): Promise<boolean> => (await host.container.exec(["test", "-e", installDir(id)])).exitCode === 0;

  it("ARC-09: refuses each invalid manifest (empty name, non-SemVer version, no [host]/[runtime], too many keywords, an empty category) and installs nothing", async (ctx) => {
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
