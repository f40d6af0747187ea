import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseImageTag, loadRecipe } from "../src/images/image-recipe.ts";
import { PACKAGE_ROOT } from "../src/matrix/selection.ts";
import { LABELS } from "../src/run/run-identity.ts";
import { docker, withoutDistcheck } from "./fault-run.ts";

// Fault 4 of issue #16: the disk fills during a base image build. The build's scratch folder is
// under TMPDIR, which the test points at a 40 MiB tmpfs of its own: debootstrap fills it while it
// unpacks the archive's package index (about a second in). The build must stop with exit 3 and
// `disk_full` naming the folder and the fix, leave no image under the tag and nothing on the tmpfs;
// with TMPDIR back on a disk with room, the same build must succeed.
//
// So that a real build runs without touching the project's images, the CLI runs in a project folder
// of the test's own (the project root is the current folder when it has a matrix.json): its one
// recipe is bookworm's under another name, so its tag (`distcheck/base-faults-disk-full:...`) is
// the test's alone. bookworm on linux-x86_64 is the fastest base to debootstrap (about 90 s here).
const RECIPE = "faults-disk-full";
const PLATFORM = "linux-x86_64";
const work = mkdtempSync(path.join(os.tmpdir(), "distcheck-faults-disk-full-"));
const project = path.join(work, "project");
const small = path.join(work, "tmpfs");
let mounted = false;
let tag = "";

/** The real CLI in the test's project, as a CI job runs it, with a known run id. */
function distcheck(args: string[], runId: string, env: Record<string, string> = {}) {
  return execa("node", [path.join(PACKAGE_ROOT, "bin/distcheck.js"), ...args], {
    cwd: project,
    reject: false,
    all: true,
    extendEnv: false,
    env: { ...withoutDistcheck(process.env), DISTCHECK_RUN_ID: runId, CI: "", ...env },
  });
}

async function imageExists(ref: string): Promise<boolean> {
  return (await docker.listImages({ filters: { reference: [ref] } })).length > 0;
}

/** Every file and folder inside the run scratch folders on `dir` (tsx's compile cache aside). */
function scratchLeftovers(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.startsWith("distcheck-run-"))
    .flatMap((name) => readdirSync(path.join(dir, name), { recursive: true }).map((entry) => path.join(name, String(entry))));
}

beforeAll(async () => {
  mkdirSync(path.join(project, "images"), { recursive: true });
  symlinkSync(path.join(PACKAGE_ROOT, "hosts"), path.join(project, "hosts"));
  symlinkSync(path.join(PACKAGE_ROOT, "suites"), path.join(project, "suites"));
  const bookworm = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, "images/bookworm.json"), "utf8")) as Record<string, unknown>;
  writeFileSync(path.join(project, "images", `${RECIPE}.json`), JSON.stringify({ ...bookworm, $comment: "faults/disk-full.faults.test.ts: bookworm under the test's own name" }, null, 2));
  writeFileSync(
    path.join(project, "matrix.json"),
    JSON.stringify({ platforms: [{ id: PLATFORM }], bases: [{ id: RECIPE, image: RECIPE, python: bookworm.python }], hosts: [{ id: "reference", adapter: "reference", source: "hosts/reference" }], suites: ["platform"] }, null, 2),
  );
  tag = baseImageTag(loadRecipe(path.join(project, "images"), RECIPE), PLATFORM);
  expect(tag).toMatch(/^distcheck\/base-faults-disk-full:linux-x86_64-/);
  // Left by an earlier run of this test that was killed: the tag is this test's own.
  if (await imageExists(tag)) await docker.getImage(tag).remove({ force: true });
  mkdirSync(small);
  await execa("mount", ["-t", "tmpfs", "-o", "size=40m", "tmpfs", small]);
  mounted = true;
});

afterAll(async () => {
  if (mounted) {
    const r = await execa("umount", [small], { reject: false });
    // A process still holding a file there (a build that outlived its CLI) must not keep the mount.
    if (r.exitCode !== 0) await execa("umount", ["-l", small], { reject: false });
  }
  rmSync(work, { recursive: true, force: true });
  // The successful build's run folder (empty: its build folder went with the build); a run's sweep
  // would take it only once its owner is dead, and this test leaves nothing behind.
  for (const name of readdirSync(os.tmpdir())) if (name.startsWith("distcheck-run-") && name.endsWith(`-fault-disk-full-${process.pid}-retry`)) rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true });
  if (tag && (await imageExists(tag))) await docker.getImage(tag).remove({ force: true });
});

describe("faults", () => {
  it("4. no space left during a base image build: exit 3 with disk_full and the fix, no image under the tag, nothing left on the full disk; the next build with room succeeds", async () => {
    const runId = `fault-disk-full-${process.pid}`;
    const full = await distcheck(["images", "build", "--base-only", "--platform", PLATFORM], runId, { TMPDIR: small });
    const output = String(full.all ?? "");
    expect(full.exitCode, `output:\n${output.slice(-3000)}`).toBe(3);
    expect(output).toContain("error [disk_full]");
    expect(output).toContain(`under TMPDIR, ${small}`);
    expect(output).toMatch(/No space left on device/);
    expect(output).toMatch(/\d+\.\d MiB free of 40\.0 MiB/);
    expect(output).toContain("point TMPDIR at a larger disk");
    expect(await imageExists(tag), `${tag} after the failed build`).toBe(false);
    expect(scratchLeftovers(small), "the build's files left on the full disk").toEqual([]);

    // `distcheck run` builds the same missing image first: the same error, the same exit code.
    const reports = path.join(work, "reports");
    const run = await distcheck(["run", "--reports", reports], `${runId}-run`, { TMPDIR: small });
    const runOutput = String(run.all ?? "");
    expect(run.exitCode, `output:\n${runOutput.slice(-3000)}`).toBe(3);
    expect(runOutput).toContain("error [disk_full]");
    expect(runOutput).toContain("point TMPDIR at a larger disk");
    expect(await imageExists(tag), `${tag} after the failed run`).toBe(false);
    expect(scratchLeftovers(small), "the run's files left on the full disk").toEqual([]);
    const leftContainers = await docker.listContainers({ all: true, filters: { label: [`${LABELS.run}=${runId}-run`] } });
    expect(leftContainers.map((c) => c.Names[0]), "containers of the failed run").toEqual([]);
    expect(existsSync(path.join(reports, `${runId}-run`, "summary.json")), "no report for a run that stopped before its suites").toBe(false);

    // Room again (this process's own TMPDIR, the machine's /tmp unless CI set one): the same build succeeds.
    const roomy = await distcheck(["images", "build", "--base-only", "--platform", PLATFORM], `${runId}-retry`);
    expect(roomy.exitCode, `output:\n${String(roomy.all ?? "").slice(-3000)}`).toBe(0);
    expect(await imageExists(tag), `${tag} after the build with room`).toBe(true);
    await docker.getImage(tag).remove({ force: true });
    expect(await imageExists(tag)).toBe(false);
  });
});
