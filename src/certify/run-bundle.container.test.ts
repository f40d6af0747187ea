import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../matrix/selection.ts";
import { verifyBundle } from "./bundle-verifier.ts";
import { ed25519Pem, scratch } from "./test-artifact-builder.ts";

// Release sign-off end to end: `distcheck run --bundle --sign-key` on one cell and one suite writes a
// bundle whose subject is the reference host's source tree, and `distcheck verify` accepts it and
// refuses it once one byte changed.
let dir: Awaited<ReturnType<typeof scratch>>;
let run: { exitCode?: number; stderr: string };
const keys = ed25519Pem();

beforeAll(async () => {
  dir = await scratch();
  const key = await dir.file("key.pem", keys.privatePem);
  await dir.file("key.pub.pem", keys.publicPem);
  const r = await execa("node", ["bin/distcheck.js", "run", "--host", "reference", "--platform", "linux-x86_64", "--python", "3.11", "--suite", "host-boot", "--reports", path.join(dir.dir, "reports"), "--bundle", path.join(dir.dir, "signoff.tar.gz"), "--sign-key", key], { cwd: PACKAGE_ROOT, reject: false, env: { ...process.env, CI: "" } });
  run = { exitCode: r.exitCode, stderr: r.stderr };
}, 15 * 60_000);

afterAll(async () => {
  await dir?.dispose();
});

describe("distcheck run --bundle", () => {
  it("writes a signed bundle of the run that verifies, with the host's source tree as its subject", async () => {
    expect(run.exitCode, run.stderr.slice(-3000)).toBe(0);
    const bytes = readFileSync(path.join(dir.dir, "signoff.tar.gz"));
    const verified = verifyBundle(bytes, keys.publicPem);
    expect(verified.verdict).toBe("CERTIFIED");
    expect(verified.subjects.map((s) => s.name)).toEqual(["reference"]);
    const cli = await execa("node", ["bin/distcheck.js", "verify", path.join(dir.dir, "signoff.tar.gz"), "--key", path.join(dir.dir, "key.pub.pem"), "--json"], { cwd: PACKAGE_ROOT, reject: false });
    expect(cli.exitCode, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ ok: true, verdict: "CERTIFIED" });
  });

  it("a bundle with one byte changed fails verification", async () => {
    const bytes = Buffer.from(readFileSync(path.join(dir.dir, "signoff.tar.gz")));
    bytes[bytes.length - 20] = bytes[bytes.length - 20]! ^ 0x01;
    const tampered = path.join(dir.dir, "tampered.tar.gz");
    writeFileSync(tampered, bytes);
    const cli = await execa("node", ["bin/distcheck.js", "verify", tampered, "--key", path.join(dir.dir, "key.pub.pem"), "--json"], { cwd: PACKAGE_ROOT, reject: false });
    expect(cli.exitCode).toBe(1);
    expect(JSON.parse(cli.stdout).code).toMatch(/^(bundle_unreadable|file_digest_mismatch|signature_invalid|subject_digest_mismatch|verdict_mismatch)$/);
  });
});
