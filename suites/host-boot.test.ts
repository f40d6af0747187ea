import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootedHost } from "../src/hosts/booted-host.ts";
import { runCells } from "./support/cells.ts";
import { archive, containerPath, wheel } from "./support/fixture-files.ts";
import { bootHost, scaledTimeout } from "./support/host.ts";
import { waitFor } from "./support/timeline.ts";

// The reference host boots on every cell: reaches ready (HST-02), lists a wheel extension with the
// id and version of its installed manifest (WHL-02), installs an archive whose SHA-256 matches and
// starts its process, and refuses one whose SHA-256 does not before anything is extracted (ARC-02).
const cells = runCells();

describe.concurrent.each(cells)("host boot on $id", (cell) => {
  let host: BootedHost;
  const sample = wheel("ok-basic");
  const arc = archive("arc-basic", "tar.gz");

  beforeAll(async () => {
    host = await bootHost(cell, { wheels: [sample], files: [arc] });
  }, scaledTimeout(cell, 30_000));

  afterAll(async () => {
    await host?.[Symbol.asyncDispose]();
  });

  it("HST-02: reports ready", async () => {
    expect(await host.get("/readyz")).toMatchObject({ ready: true });
  });

  it("WHL-02: lists the sample wheel with the id and version of its manifest", async () => {
    const list = await host.get<Array<{ id: string; version: string }>>("/api/extensions");
    expect(list).toContainEqual(expect.objectContaining({ id: sample.extensionId, version: sample.version }));
  });

  it("ARC-02: installs an archive whose SHA-256 matches and starts its process", async () => {
    const res = await host.post<{ id: string; version: string }>("/api/agent/install", { source: containerPath(arc), sha256: arc.sha256, id: arc.installId });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ id: arc.installId, version: arc.version });
    const witness = await waitFor(`process_start of ${arc.name}`, async () => (await host.witness()).find((l) => l.event === "process_start" && l.fixture === arc.name), scaledTimeout(cell, 5_000));
    expect(witness.ext).toBe(arc.installId);
  }, scaledTimeout(cell, 15_000));

  it("ARC-02: refuses a wrong SHA-256 before extracting: no install directory", async () => {
    const wrong = createHash("sha256").update("not the archive").digest("hex");
    const res = await host.post<{ error: { code: string } }>("/api/agent/install", { source: containerPath(arc), sha256: wrong, id: "distcheck.checksum-probe" });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.body.error.code).toBe("checksum_mismatch");
    const dir = await host.container.exec(["sh", "-c", "ls -d /var/lib/distcheck-host/extensions/distcheck.checksum-probe 2>/dev/null; true"]);
    expect(dir.stdout.trim()).toBe("");
  });
});

