import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { sampleWheel, wheelDeclaration } from "../certify/test-artifact-builder.ts";
import type { ArtifactReplayResult } from "./artifact-replay.ts";
import type { CertificationReplayResult } from "./certification-replay.ts";

// issue #14's explicit form, end to end through the CLI: `repro --host --platform --python --artifact`
// certifies the artifact on that one cell per try. A wheel whose import fails (the fixture factory's
// import-error sample) is NOT_CERTIFIED 2 of 2; a good wheel (ok-basic) does not reproduce.
// A cell of a signed certification bundle of the import-error wheel replays to the bundle's verdict.
// One cell: linux-x86_64 bookworm (python 3.11), reference host.
const ROOT = path.resolve(import.meta.dirname, "../..");
const CELL = "linux-x86_64.bookworm.reference";
const work = mkdtempSync(path.join(os.tmpdir(), "distcheck-artifact-replay-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The CLI as a person starts it: none of this test runner's VITEST_* or DISTCHECK_* settings. */
function cli(args: string[]): { status: number; stdout: string; stderr: string } {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("VITEST") && !k.startsWith("DISTCHECK_") && k !== "NODE_ENV" && k !== "TEST"));
  const r = spawnSync(process.execPath, [path.join(ROOT, "bin/distcheck.js"), ...args], { cwd: ROOT, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function repro(artifact: string): { status: number; result: ArtifactReplayResult & { ok: boolean; code?: string }; stderr: string } {
  const r = cli(["repro", "--host", "reference", "--platform", "linux-x86_64", "--python", "3.11", "--artifact", artifact, "--repeat", "2", "--reports", path.join(work, "reports"), "--json"]);
  return { status: r.status, result: JSON.parse(r.stdout) as never, stderr: r.stderr };
}

async function wheelFile(name: string, change?: Parameters<typeof wheelDeclaration>[1]): Promise<string> {
  const built = sampleWheel(await wheelDeclaration(name, change));
  const file = path.join(work, built.fileName);
  writeFileSync(file, built.bytes);
  return file;
}

describe("distcheck repro --host --platform --python --artifact", () => {
  it("a wheel that does not import fails 2 of 2 on the cell, on the same findings, exit 1", { timeout: 600_000 }, async () => {
    const r = repro(await wheelFile("import-error"));
    expect(r.status, r.stderr.slice(-3000)).toBe(1);
    expect(r.result.cell).toBe(CELL);
    expect(r.result.verdict).toEqual({ classification: "fails_every_time", failed: 2, of: 2, sameFindings: true });
    for (const t of r.result.tries) {
      expect(t.verdict).toBe("NOT_CERTIFIED");
      expect(t.failingFindings).toContain(`wheel.discovery.listed@${CELL}`);
      const doc = JSON.parse(readFileSync(path.join(t.dir, "certification.json"), "utf8")) as { matrix: { declared: string[] } };
      expect(doc.matrix.declared).toEqual([CELL]);
      expect(t.dir).toBe(path.join(r.result.dir, "artifact", `try-${t.n}`));
      expect(readFileSync(path.join(t.dir, "command.sh"), "utf8")).toContain("npx distcheck certify ");
      expect(t.timingFactor, "the timing factor the try measured").toBeGreaterThan(0);
    }
  });

  it("a cell of a signed certification bundle replays to the same verdict with the same artifact; another artifact and none are refused", { timeout: 600_000 }, async () => {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const key = path.join(work, "sign.pem");
    const pub = path.join(work, "sign.pub.pem");
    writeFileSync(key, privateKey.export({ type: "pkcs8", format: "pem" }));
    writeFileSync(pub, publicKey.export({ type: "spki", format: "pem" }));
    const wheel = await wheelFile("import-error");
    const out = path.join(work, "certified");
    const certified = cli(["certify", wheel, "--host", "reference", "--platform", "linux-x86_64", "--python", "3.11", "--out", out, "--sign-key", key, "--json"]);
    expect(certified.status, certified.stderr.slice(-3000)).toBe(1);
    // --json: stdout is the verdict document alone (the suite's output went to stderr).
    expect((JSON.parse(certified.stdout) as { verdict: string }).verdict).toBe("NOT_CERTIFIED");
    const bundle = path.join(out, "certification.tar.gz");
    const replay = cli(["repro", "--bundle", bundle, "--key", pub, "--cell", CELL, "--artifact", wheel, "--reports", path.join(work, "reports"), "--json"]);
    expect(replay.status, replay.stderr.slice(-3000)).toBe(0);
    const r = JSON.parse(replay.stdout) as CertificationReplayResult;
    expect(r).toMatchObject({ cell: CELL, recordedVerdict: "NOT_CERTIFIED", sameVerdict: true, exitCode: 0 });
    expect(r.tries.map((t) => [t.verdict, t.differences])).toEqual([["NOT_CERTIFIED", []]]);
    expect(r.tries[0]!.timingFactor).toBeGreaterThan(0);

    const other = cli(["repro", "--bundle", bundle, "--key", pub, "--cell", CELL, "--artifact", await wheelFile("ok-basic"), "--json"]);
    expect([other.status, (JSON.parse(other.stdout) as { code: string }).code]).toEqual([2, "artifact_mismatch"]);
    const none = cli(["repro", "--bundle", bundle, "--key", pub, "--cell", CELL, "--json"]);
    expect([none.status, (JSON.parse(none.stdout) as { code: string }).code]).toEqual([2, "repro_usage"]);
  });

  it("a good wheel does not reproduce (0 of 2), exit 0", { timeout: 600_000 }, async () => {
    const r = repro(await wheelFile("ok-basic", (d) => {
      d.manifest!.requires_core_version = ">=0.8,<0.9";
    }));
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    expect(r.result.verdict).toMatchObject({ classification: "does_not_reproduce", failed: 0, of: 2 });
    expect(r.result.tries.map((t) => t.verdict)).toEqual(["CERTIFIED", "CERTIFIED"]);
    expect(existsSync(path.join(r.result.dir, "repro.json"))).toBe(true);
  });
});
