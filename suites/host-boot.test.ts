import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { READY_BOUND_MS, type BootedHost } from "../src/hosts/booted-host.ts";
import { runCells } from "./support/cells.ts";
import { archive, containerPath } from "./support/fixture-files.ts";
import { bootHost, implementsFamilies, sampleWheel, scaledTimeout, timingFactorOf } from "./support/host.ts";
import { waitFor } from "./support/timeline.ts";

// The host boots on every cell: reaches ready within its bound (HST-02), lists a wheel extension with
// the id and version of its installed manifest (WHL-02), and, where it has an archive agent, installs
// an archive whose SHA-256 matches and starts its process, and refuses one whose SHA-256 does not
// before anything is extracted (ARC-02).
const cells = runCells();

describe.concurrent.each(cells)("host boot on $id", (cell) => {
  let host: BootedHost;
  const sample = sampleWheel(cell, "ok-basic");
  const arc = archive("arc-basic", "tar.gz");
  const factor = timingFactorOf(cell);

  beforeAll(async () => {
    host = await bootHost(cell, { wheels: [sample], files: [arc] });
  }, scaledTimeout(cell, 30_000));

  afterAll(async () => {
    await host?.[Symbol.asyncDispose]();
  });

  it("HST-02: the host process became ready within its bound (harness clock, start-up factor)", () => {
    // From starting the host process to its ready line, measured here: it includes a process start,
    // so the bound scales with the platform's start-up factor.
    expect(host.lastBootMs, "boot to ready").toBeTypeOf("number");
    expect(host.lastBootMs!, `ready within ${READY_BOUND_MS} ms x timing factor ${factor}`).toBeLessThanOrEqual(READY_BOUND_MS * factor);
  });

  it("WHL-02: lists the sample wheel with the id and version of its manifest", async () => {
    const list = await host.extensions();
    expect(list).toContainEqual(expect.objectContaining({ id: sample.extensionId, version: sample.version }));
  });

  if (!implementsFamilies(cell, "ARC")) return;

  it("ARC-02: installs an archive whose SHA-256 matches and starts its process", async () => {
    const res = await host.agent.install({ source: containerPath(arc), sha256: arc.sha256, id: arc.installId });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ id: arc.installId, version: arc.version });
    const witness = await waitFor(`process_start of ${arc.name}`, async () => (await host.witness()).find((l) => l.event === "process_start" && l.fixture === arc.name), scaledTimeout(cell, 5_000));
    expect(witness.ext).toBe(arc.installId);
  }, scaledTimeout(cell, 15_000));

  it("ARC-02: refuses a wrong SHA-256 before extracting: no install directory", async () => {
    const wrong = createHash("sha256").update("not the archive").digest("hex");
    const id = "distcheck.checksum-probe";
    const res = await host.agent.install({ source: containerPath(arc), sha256: wrong, id });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.body.error?.code).toBe("checksum_mismatch");
    // The data directory exists (the good install above wrote into it), the refused id's folder not.
    expect(await host.container.isDirectory(host.dataDir), `${host.dataDir} exists`).toBe(true);
    expect(await host.container.exists(`${host.dataDir}/extensions/${id}`), `${host.dataDir}/extensions/${id} must not exist`).toBe(false);
  });
});
