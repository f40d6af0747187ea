import { readFileSync } from "node:fs";
import path from "node:path";
import Docker from "dockerode";
import { describe, expect, it } from "vitest";
import { expandCells, loadMatrix } from "../matrix/matrix-loader.ts";
import { PACKAGE_ROOT } from "../matrix/selection.ts";
import { TestcontainersCellFactory } from "./testcontainers-cell-factory.ts";

// A timed host's container gets a larger CPU weight (suites/support/host.ts, TIMING_CPU_SHARES): the
// engine must be told, and the kernel must hold it, or two suite files at once slow the host a
// suite is timing.
const docker = new Docker();
const cell = expandCells(loadMatrix(path.join(PACKAGE_ROOT, "matrix.json"))).find((c) => c.base.id === "bookworm" && c.host.id === "reference" && c.platform.id === "linux-x86_64")!;

async function baseImage(): Promise<string> {
  const images = await docker.listImages({ filters: { label: ["dev.distcheck.image=base", `dev.distcheck.platform=${cell.platform.id}`, "dev.distcheck.recipe=bookworm"] } });
  const tag = images.flatMap((i) => i.RepoTags ?? []).find((t) => t.startsWith("distcheck/base-bookworm:"));
  if (!tag) throw new Error(`no ${cell.platform.id} bookworm base image: run \`npx distcheck images build --base-only\` first`);
  return tag;
}

/** The cpu.shares the kernel holds for a container (cgroup v1 or v2's cpu.weight, converted back). */
function kernelShares(id: string): number | undefined {
  for (const file of [`/sys/fs/cgroup/cpu/docker/${id}/cpu.shares`, `/sys/fs/cgroup/cpu,cpuacct/docker/${id}/cpu.shares`]) {
    try {
      return Number(readFileSync(file, "utf8").trim());
    } catch {
      // not this layout
    }
  }
  return undefined;
}

describe("a container's CPU weight", () => {
  const factory = new TestcontainersCellFactory();

  it("is the weight asked for, in the engine and in the kernel", async () => {
    await using container = await factory.start(cell, { image: await baseImage(), cpuShares: 8192 });
    const info = (await docker.getContainer(container.id).inspect()) as { HostConfig: { CpuShares: number } };
    expect(info.HostConfig.CpuShares).toBe(8192);
    const held = kernelShares(container.id);
    if (held !== undefined) expect(held).toBe(8192);
  }, 60_000);

  it("is the engine's default when none is asked for", async () => {
    await using container = await factory.start(cell, { image: await baseImage() });
    const info = (await docker.getContainer(container.id).inspect()) as { HostConfig: { CpuShares: number } };
    expect(info.HostConfig.CpuShares).toBe(0);
  }, 60_000);
});
