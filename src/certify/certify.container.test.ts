import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderArchiveExtension } from "../fixtures/archives/archive-extension-renderer.ts";
import { benignTarEntries, packTarGz } from "../fixtures/archives/archive-packer.ts";
import type { ArchiveDeclaration } from "../fixtures/declarations/fixture-declaration.ts";
import { runCertification, type CertifyOutcome, type CertifyRequest } from "./certify-run.ts";
import { verifyBundle } from "./bundle-verifier.ts";
import type { Verdict } from "./certification-document.ts";
import { archiveDeclaration, ed25519Pem, sampleTarGz, sampleWheel, scratch, tamperZipMember, wheelDeclaration } from "./test-artifact-builder.ts";

// distcheck certify end to end, on both platforms of the default matrix (one base each): sample
// artifacts from the fixture factory, one per defect class, each with the verdict and the failing
// check ids the certification must give. Every job runs in one certification suite run, the way a
// marketplace certifies a batch.

const PLATFORMS = ["linux-x86_64", "linux-aarch64"];
const CELLS = PLATFORMS.map((p) => `${p}.bookworm.reference`);

interface Case {
  name: string;
  request: CertifyRequest;
  verdict: Verdict;
  /** Check ids that must fail (in every cell where they are dynamic), and no other error may. */
  failing: string[];
}

/** arc-basic-next's main.py with one line more: it writes `{}` over its config at start (an upgrade that loses the configuration). */
function resettingConfig(d: ArchiveDeclaration): Buffer {
  const files = renderArchiveExtension(d, "").map((f) =>
    f.path === "main.py"
      ? { ...f, content: Buffer.from(f.content.toString("utf8").replace("    config, config_path = load_config()\n", "    config, config_path = load_config()\n    if config_path:\n        open(config_path, 'w').write('{}')\n        config = {}\n")) }
      : f,
  );
  if (files.find((f) => f.path === "main.py")!.content.toString().includes("write('{}')") === false) throw new Error("main.py changed: the config-resetting line was not inserted");
  return packTarGz(benignTarEntries(files));
}

let dir: Awaited<ReturnType<typeof scratch>>;
let cases: Case[];
let outcomes: Map<string, CertifyOutcome>;
const keys = ed25519Pem();

beforeAll(async () => {
  dir = await scratch();
  const wheel = async (file: string, built: { fileName: string; bytes: Buffer }): Promise<string> => dir.file(file, built.bytes);
  const okBasic = await wheelDeclaration("ok-basic", (d) => {
    d.manifest!.requires_core_version = ">=0.8,<0.9";
  });
  const good = sampleWheel(okBasic);
  const goodPath = await dir.file(good.fileName, good.bytes);
  /** The same file name as another case's artifact, in a folder of its own. */
  const sub = async (folder: string, fileName: string, bytes: Buffer): Promise<string> => {
    await mkdir(path.join(dir.dir, folder), { recursive: true });
    return dir.file(path.join(folder, fileName), bytes);
  };
  const recordFile = Object.keys(okBasic.behaviour.static)[0]!;
  const tampered = tamperZipMember(good.bytes, `${okBasic.package}/static/${recordFile}`, (c) => Buffer.concat([c, Buffer.from("tampered\n")]));
  const noEntryPoint = sampleWheel(okBasic, "someone.elses.group");
  const noManifest = sampleWheel(await wheelDeclaration("no-manifest"));
  const badManifest = sampleWheel(await wheelDeclaration("manifest-invalid-json"));
  const excludes = sampleWheel(await wheelDeclaration("ok-basic", (d) => {
    d.manifest!.requires_core_version = ">=0.9,<1";
  }));
  const importError = sampleWheel(await wheelDeclaration("import-error"));
  const arcBasic = await archiveDeclaration("arc-basic");
  const arcNext = await archiveDeclaration("arc-basic-next");
  const hostile = sampleTarGz(arcBasic, { extra: [{ name: "escape", type: "symlink", linkName: "/etc/passwd" }] });
  const wrapped = sampleTarGz(arcBasic, { prefix: "arc-basic/" });
  const depUser = sampleWheel(await wheelDeclaration("dep-user"));
  const depBase = sampleWheel(await wheelDeclaration("dep-base"));
  await sub("deps", depBase.fileName, depBase.bytes);
  const arcPlatform = await archiveDeclaration("arc-platform");
  const perPlatform = await Promise.all(["linux-x86_64", "linux-aarch64"].map((p) => sub("platforms", `arc-platform-1.0.0-${p}.tar.gz`, packTarGz(benignTarEntries(renderArchiveExtension(arcPlatform, p))))));
  cases = [
    { name: "dependency from --deps", request: { artifacts: [await wheel(depUser.fileName, depUser)], deps: path.join(dir.dir, "deps") }, verdict: "CERTIFIED_WITH_WARNINGS", failing: ["wheel.manifest.core-range-absent"] },
    { name: "dependency missing (no --deps)", request: { artifacts: [path.join(dir.dir, depUser.fileName)] }, verdict: "NOT_CERTIFIED", failing: ["wheel.install.offline"] },
    { name: "platform-named archives", request: { artifacts: perPlatform }, verdict: "CERTIFIED", failing: [] },
    { name: "good wheel", request: { artifacts: [goodPath] }, verdict: "CERTIFIED", failing: [] },
    { name: "good archive", request: { artifacts: [await dir.file("arc-basic-1.0.0.tar.gz", sampleTarGz(arcBasic))] }, verdict: "CERTIFIED", failing: [] },
    { name: "RECORD hash mismatch", request: { artifacts: [await sub("record", good.fileName, tampered)] }, verdict: "NOT_CERTIFIED", failing: ["wheel.record.hash-mismatch"] },
    { name: "no entry point", request: { artifacts: [await sub("noep", noEntryPoint.fileName, noEntryPoint.bytes)] }, verdict: "NOT_CERTIFIED", failing: ["wheel.entry-point.missing"] },
    { name: "missing extension.json", request: { artifacts: [await wheel(noManifest.fileName, noManifest)] }, verdict: "NOT_CERTIFIED", failing: ["wheel.manifest.missing"] },
    { name: "invalid extension.json", request: { artifacts: [await wheel(badManifest.fileName, badManifest)] }, verdict: "NOT_CERTIFIED", failing: ["wheel.manifest.invalid"] },
    { name: "core range excludes the host", request: { artifacts: [await sub("excludes", excludes.fileName, excludes.bytes)] }, verdict: "NOT_CERTIFIED", failing: ["wheel.core-range.admits-host"] },
    { name: "import error", request: { artifacts: [await wheel(importError.fileName, importError)] }, verdict: "NOT_CERTIFIED", failing: ["wheel.discovery.listed", "wheel.discovery.no-diagnostic"] },
    { name: "hostile archive", request: { artifacts: [await dir.file("arc-hostile-1.0.0.tar.gz", hostile)] }, verdict: "NOT_CERTIFIED", failing: ["archive.entry.unsafe-type", "archive.install.accepted"] },
    { name: "manifest not at the root", request: { artifacts: [await dir.file("arc-wrapped-1.0.0.tar.gz", wrapped)] }, verdict: "NOT_CERTIFIED", failing: ["archive.manifest.not-at-root", "archive.install.accepted"] },
    { name: "ignores SIGTERM", request: { artifacts: [await dir.file("arc-ignores-sigterm-1.0.0.tar.gz", sampleTarGz(await archiveDeclaration("arc-ignores-sigterm")))] }, verdict: "CERTIFIED_WITH_WARNINGS", failing: ["archive.stop.sigterm-before-grace"] },
    { name: "crashes at start", request: { artifacts: [await dir.file("arc-crash-at-start-1.0.0.tar.gz", sampleTarGz(await archiveDeclaration("arc-crash-at-start")))] }, verdict: "NOT_CERTIFIED", failing: ["archive.start.stays-up"] },
    {
      name: "an upgrade that keeps the configuration",
      request: { artifacts: [await dir.file("arc-basic-next-1.1.0.tar.gz", sampleTarGz(arcNext))], previous: path.join(dir.dir, "arc-basic-1.0.0.tar.gz") },
      verdict: "CERTIFIED",
      failing: [],
    },
    {
      name: "an upgrade that loses the configuration",
      request: { artifacts: [await sub("lossy", "arc-basic-next-1.1.0.tar.gz", resettingConfig(arcNext))], previous: path.join(dir.dir, "arc-basic-1.0.0.tar.gz") },
      verdict: "NOT_CERTIFIED",
      failing: ["archive.upgrade.keeps-config"],
    },
  ];
  const keyFile = await dir.file("key.pem", keys.privatePem);
  const results = await runCertification({
    requests: cases.map((c) => c.request),
    platform: PLATFORMS,
    python: ["3.11"],
    signKey: keyFile,
    out: path.join(dir.dir, "out"),
    progress: (line) => process.stderr.write(`[certify] ${line}\n`),
  });
  outcomes = new Map(cases.map((c, i) => [c.name, results[i]!]));
}, 45 * 60_000);

afterAll(async () => {
  await dir?.dispose();
});

describe("distcheck certify on both platforms", () => {
  const names = ["dependency from --deps", "dependency missing (no --deps)", "platform-named archives", "good wheel", "good archive", "RECORD hash mismatch", "no entry point", "missing extension.json", "invalid extension.json", "core range excludes the host", "import error", "hostile archive", "manifest not at the root", "ignores SIGTERM", "crashes at start", "an upgrade that keeps the configuration", "an upgrade that loses the configuration"];
  it.each(names)("%s: the predicted verdict and failing checks", (name) => {
    const c = cases.find((x) => x.name === name)!;
    const { document } = outcomes.get(name)!;
    const failed = document.findings.filter((f) => f.status === "fail" && (f.severity === "error" || c.verdict === "CERTIFIED_WITH_WARNINGS"));
    const summary = failed.map((f) => `${f.cell} ${f.checkId}: ${f.detail}`).join("\n");
    expect(document.findings.filter((f) => f.status === "harness-error"), "no check hit a harness error").toEqual([]);
    expect(document.verdict, summary).toBe(c.verdict);
    expect(document.matrix.executed.sort(), "every declared cell ran to the end").toEqual(document.matrix.declared.sort());
    expect(document.matrix.declared.sort()).toEqual([...CELLS].sort());
    expect([...new Set(failed.map((f) => f.checkId))].sort(), summary).toEqual([...c.failing].sort());
    // A dynamic failure must be seen on both platforms, not on one by chance.
    for (const id of c.failing.filter((x) => !x.startsWith("wheel.record") && !x.startsWith("wheel.entry-point") && !x.startsWith("wheel.manifest") && !x.startsWith("archive.entry") && !x.startsWith("archive.manifest"))) {
      expect(failed.filter((f) => f.checkId === id).map((f) => f.cell).sort(), `${id} fails in every cell`).toEqual([...CELLS].sort());
    }
  });

  it("platform-named archives: each platform installs its own package (ARC-12)", () => {
    const { document } = outcomes.get("platform-named archives")!;
    const picked = document.findings.filter((f) => f.checkId === "archive.platform.package").map((f) => [f.cell, f.evidence.picked, f.evidence.exact]);
    expect(picked.sort()).toEqual(PLATFORMS.map((p) => [`${p}.bookworm.reference`, `arc-platform-1.0.0-${p}.tar.gz`, true]).sort());
  });

  it("each bundle verifies with the signer's key and names the artifact's sha256", () => {
    for (const [name, outcome] of outcomes) {
      const verified = verifyBundle(readFileSync(outcome.bundle!.path), keys.publicPem);
      expect(verified.verdict, name).toBe(outcome.document.verdict);
      expect(verified.subjects.map((s) => s.digest.sha256)).toEqual(outcome.document.subjects.map((s) => s.sha256));
    }
  });

  it("the good wheel was probed at every edge of its core range, inside and outside", () => {
    const { document } = outcomes.get("good wheel")!;
    const probes = document.findings.filter((f) => f.checkId.startsWith("wheel.core-range.boundary.") && f.cell === CELLS[0]);
    expect(Object.fromEntries(probes.map((f) => [f.evidence.version, [f.evidence.predicted, f.status]]))).toEqual({
      "0.8rc1": ["skipped", "pass"],
      "0.8": ["loads", "pass"],
      "0.8.1": ["loads", "pass"],
      "0.9rc1": ["skipped", "pass"],
      "0.9": ["skipped", "pass"],
      "0.9.1": ["skipped", "pass"],
    });
  });
});
