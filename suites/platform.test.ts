import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { StartedCellContainer } from "../src/containers/cell-container.ts";
import { TestcontainersCellFactory } from "../src/containers/testcontainers-cell-factory.ts";
import { runCells } from "./support/cells.ts";
import { adapterOf, scaledTimeout } from "./support/host.ts";
import { allWheels, CONTAINER_WHEELS, containerPath, toContainer } from "./support/fixture-files.ts";
import type { WheelIndexEntry } from "../src/fixtures/build/fixture-index.ts";

/** PEP 503 name normalisation. */
const normalise = (name: string): string => name.toLowerCase().replace(/[-_.]+/g, "-");

// The platform suite proves the ground floor on every cell: the container is the platform the
// cell names, it has the Python the base promises, and a wheel built outside any source tree
// installs with pip from a local folder alone (no network, no index) and its entry point is listed.
const cells = runCells();
const factory = new TestcontainersCellFactory();

describe.concurrent.each(cells)("platform on $id", (cell) => {
  let container: StartedCellContainer;
  // The sample wheels rendered for the cell's host, in its entry point group.
  const { templateId, entryPointGroup } = adapterOf(cell);

  beforeAll(async () => {
    container = await factory.start(cell, { image: inject("cellImages")[cell.id]!.base });
    // Once, before the tests: they run concurrently, and a second put re-extracts every wheel while
    // another test's pip reads them (pip saw a wheel vanish: "No such file or directory").
    await container.putFiles(toContainer(allWheels(templateId)));
  }, scaledTimeout(cell, 30_000));

  afterAll(async () => {
    await container?.stop();
  });

  it("runs on the cell's machine architecture", async () => {
    const result = await container.exec(["uname", "-m"]);
    expect(result.stdout.trim()).toBe(cell.platform.info.uname);
    const python = await container.exec(["python3", "-c", "import platform; print(platform.machine())"]);
    expect(python.stdout.trim()).toBe(cell.platform.info.uname);
  });

  it("provides the base's Python version", async () => {
    const result = await container.exec(["python3", "-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim()).toBe(cell.base.python);
  });

  it("installs every sample wheel with pip from a local folder alone, and lists its entry point", async () => {
    // The oracle is the fixture index (what the harness built), not the container's answer.
    const wheels = allWheels(templateId);
    expect(wheels.length).toBeGreaterThan(0);
    // One pip call per batch, a batch holding one version of each distribution (upgrades come later).
    const batches: WheelIndexEntry[][] = [];
    for (const w of [...wheels].sort((a, b) => a.version.localeCompare(b.version, undefined, { numeric: true }))) {
      const batch = batches.find((b) => !b.some((x) => normalise(x.distribution) === normalise(w.distribution)));
      if (batch) batch.push(w);
      else batches.push([w]);
    }
    for (const batch of batches) {
      const install = await container.exec(["python3", "-m", "pip", "install", "--no-index", "--no-deps", "--find-links", CONTAINER_WHEELS, ...batch.map(containerPath)]);
      expect(install.exitCode, `${install.stdout}${install.stderr}`).toBe(0);
      const list = await container.exec([
        "python3",
        "-c",
        `import importlib.metadata as m, json; print(json.dumps(sorted([ep.group, ep.name, ep.value, ep.dist.name, ep.dist.version] for ep in m.entry_points(group=${JSON.stringify(entryPointGroup)}))))`,
      ]);
      expect(list.exitCode, list.stderr).toBe(0);
      const listed = (JSON.parse(list.stdout) as string[][]).map(([g, n, v, d, ver]) => [g, n, v, normalise(d!), ver]);
      for (const w of batch) {
        expect(listed, `entry point of ${w.name}`).toContainEqual([w.entryPoint.group, w.entryPoint.name, w.entryPoint.target, normalise(w.distribution), w.version]);
      }
    }
  }, scaledTimeout(cell, 30_000));

  it("resolves Requires-Dist between sample wheels from the local folder only", async () => {
    const wheels = allWheels(templateId);
    const user = wheels.find((w) => w.requiresDist.length > 0);
    expect(user, "a sample wheel with Requires-Dist").toBeDefined();
    const r = await container.exec(["python3", "-m", "pip", "install", "--no-index", "--find-links", CONTAINER_WHEELS, "--target", "/tmp/dep-check", containerPath(user!)]);
    expect(r.exitCode, `${r.stdout}${r.stderr}`).toBe(0);
    const dists = await container.exec(["python3", "-c", "import importlib.metadata as m, json; print(json.dumps([d.metadata['Name'] for d in m.distributions(path=['/tmp/dep-check'])]))"]);
    const installed = (JSON.parse(dists.stdout) as string[]).map(normalise);
    for (const req of user!.requiresDist) expect(installed).toContain(normalise(req.split(/[ <>=!~;[(]/)[0]!));
    expect(installed).toContain(normalise(user!.distribution));
  }, scaledTimeout(cell, 20_000));

  it("has no network", async () => {
    const result = await container.exec(["python3", "-c", "import socket; socket.create_connection(('1.1.1.1', 80), timeout=2)"]);
    expect(result.exitCode).not.toBe(0);
  });
});
