import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdir, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../cli/main.ts";
import { runConformance } from "../run/conformance-run.ts";
import type { Waiver } from "../hosts/waivers.ts";
import type { HostProfile } from "../report/host-verdicts.ts";
import { summarise } from "../report/report-summary.ts";
import type { TestRecord, TestRecordError } from "../report/test-record.ts";
import { BUNDLE, cellResultsPath } from "./bundle-layout.ts";
import { readBundle } from "./bundle-reader.ts";
import { verifyBundle } from "./bundle-verifier.ts";
import { buildBundle, packBundle } from "./bundle-writer.ts";
import type { Subject } from "./certification-document.ts";
import { sourceTreeDigestScript } from "./reproduce-guide.ts";
import { certifyConformanceRun, checkBundlePath, checkRunBundleRequest, hostSourceSubject, readSigningKey, RUN_CELL, sourceTreeDigest, type RunCertificationInput } from "./run-bundle.ts";
import { ed25519Pem, scratch, TEST_TOOL } from "./test-artifact-builder.ts";

/**
 * The sign-off bundle of a conformance run, from synthetic test records through the report's own
 * summary (`summarise`) to a signed bundle that `verifyBundle` checks: the verdict follows the run.
 */

const X86 = "linux-x86_64.trixie.reference";
const ARM = "linux-aarch64.trixie.reference";
const X86_OLD = "linux-x86_64.bookworm.reference";
const NOW = (): Date => new Date("2025-06-01T12:00:00.000Z");
const HOST = { id: "reference", version: "1.2.0", entryPointGroup: "distcheck.extensions" };

let dir: Awaited<ReturnType<typeof scratch>>;
let tree: string;
let subject: Subject;
let keys: ReturnType<typeof ed25519Pem>;

beforeAll(async () => {
  dir = await scratch();
  tree = join(dir.dir, "reference");
  await mkdir(join(tree, "src", "pkg", "__pycache__"), { recursive: true });
  await mkdir(join(tree, ".git"), { recursive: true });
  await writeFile(join(tree, "pyproject.toml"), '[project]\nname = "distcheck-host"\nversion = "1.2.0"\n');
  await writeFile(join(tree, "src", "pkg", "__init__.py"), "VERSION = '1.2.0'\n");
  await writeFile(join(tree, "src", "pkg", "__pycache__", "__init__.cpython-313.pyc"), "cache");
  await writeFile(join(tree, ".git", "HEAD"), "ref: refs/heads/main\n");
  subject = { ...(await hostSourceSubject(tree, { id: HOST.id })), version: HOST.version };
  keys = ed25519Pem();
});
afterAll(async () => {
  await dir.dispose();
});

function record(cell: string, name: string, state: TestRecord["state"], options: { suite?: string; error?: TestRecordError; clauses?: string[] } = {}): TestRecord {
  const suite = options.suite ?? "discovery";
  const [platform, base, host] = cell.split(".") as [string, string, string];
  const describe = `${suite} on '${cell}'`;
  return {
    key: `suites/${suite}.test.ts#${describe} ${name}`,
    file: `suites/${suite}.test.ts`,
    suite,
    suitePath: [describe],
    name,
    clauses: options.clauses ?? [...new Set(/^((?:[A-Z]{3}-\d{2}[\s,]*)+):/.exec(name)?.[1]?.match(/[A-Z]{3}-\d{2}/g) ?? [])],
    cell: { id: cell, platform: platform as "linux-x86_64", base, host },
    state,
    durationMs: 5,
    errors: options.error ? [options.error] : [],
    attachments: [],
  };
}

const assertion = (message: string): TestRecordError => ({ name: "AssertionError", message });

/** The run as `runConformance` would hand it over: the report's summary of these records, for the reference host. */
function run(records: TestRecord[], options: { cells?: string[]; waivers?: Waiver[]; excluded?: HostProfile["excluded"]; vitestExitCode?: number } = {}): RunCertificationInput {
  const cells = options.cells ?? [X86, ARM];
  const profile: HostProfile = { id: HOST.id, adapter: "reference", families: ["WHL", "HST"], cells, excluded: options.excluded ?? [], waivers: options.waivers ?? [] };
  const summary = summarise(records, { runId: "r1", requiredClauses: [], platforms: ["linux-x86_64", "linux-aarch64"], hosts: [profile] });
  return { summary, records, host: HOST, subject, declared: cells, vitestExitCode: options.vitestExitCode, scope: { suites: ["discovery", "host-defaults"], filtered: false }, tool: TEST_TOOL, now: NOW, images: { [X86]: { id: "sha256:abc" } } };
}

const passing = (): TestRecord[] => [X86, ARM].flatMap((c) => [record(c, "WHL-01 WHL-02: loads every extension", "passed"), record(c, "HST-01: documents its defaults", "passed", { suite: "host-defaults" })]);

function sealed(input: RunCertificationInput): { bytes: Buffer; verdict: string } {
  const { document, cells, meta } = certifyConformanceRun(input);
  return { bytes: buildBundle(document, cells, meta, keys.privatePem).bytes, verdict: document.verdict };
}

const verifyCode = (bytes: Buffer): string | undefined => {
  try {
    verifyBundle(bytes, keys.publicPem);
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
};

describe("certifyConformanceRun", () => {
  it("certifies a passing run: the host's source tree is the subject, one finding per test and clause, and verify accepts the bundle", () => {
    const { document, cells, meta } = certifyConformanceRun(run(passing()));
    expect(document.verdict).toBe("CERTIFIED");
    expect(document.subjects).toEqual([{ file: "reference", kind: "host-source", format: "tree", sha256: expect.stringMatching(/^[0-9a-f]{64}$/), size: expect.any(Number), files: 2, name: "reference", version: "1.2.0" }]);
    expect(document.host).toEqual(HOST);
    expect(document.matrix).toEqual({ declared: [ARM, X86].sort(), executed: [ARM, X86].sort() });
    const x86 = document.findings.filter((f) => f.cell === X86 && f.status === "pass").map((f) => f.checkId);
    expect(x86).toEqual(["run.HST-01.host-defaults.documents-its-defaults", "run.WHL-01.discovery.loads-every-extension", "run.WHL-02.discovery.loads-every-extension"]);
    // Families the reference host profile here does not implement are not applicable, per clause and cell.
    expect(document.findings.find((f) => f.cell === X86 && f.checkId === "run.ARC-04")).toMatchObject({ status: "not-applicable", severity: "info", clause: "ARC-04" });
    expect(document.findings.find((f) => f.checkId === "run.gate")).toMatchObject({ cell: RUN_CELL, status: "pass", evidence: { suites: ["discovery", "host-defaults"], filtered: false } });
    expect(meta).toEqual({ host: HOST, images: { [X86]: { id: "sha256:abc" } } });
    expect(cells.every((c) => c.logs === undefined)).toBe(true);

    const built = buildBundle(document, cells, meta, keys.privatePem);
    expect(built.files).toContain(cellResultsPath(X86));
    expect(built.files).toContain(cellResultsPath(RUN_CELL));
    expect(verifyBundle(built.bytes, keys.publicPem)).toMatchObject({ verdict: "CERTIFIED", subjects: [{ name: "reference", digest: { sha256: subject.sha256 } }] });
    const reproduce = readBundle(built.bytes).get(BUNDLE.reproduce)!.toString();
    expect(reproduce).toContain("npx distcheck run --host reference --bundle");
    expect(reproduce).toContain(`prints ${subject.sha256}`);
  });

  it("qualifies a failure under a waiver: CERTIFIED_WITH_WARNINGS, with the waiver's reason and quoted source line", () => {
    const waiver: Waiver = { clause: "WHL-06", cells: "*.trixie.reference", reason: "keeps the first duplicate in site-packages order", source: { file: "src/pkg/manager.py", line: 12, quote: "if manifest.id in discovered:" } };
    const records = [...passing(), ...[X86, ARM].map((c) => record(c, "WHL-06: a duplicate id keeps the same distribution", "failed", { error: assertion("expected 'b' to be 'a'") }))];
    const input = run(records, { waivers: [waiver], vitestExitCode: 1 });
    expect(input.summary.gate.passed).toBe(true);
    const { document, cells } = certifyConformanceRun(input);
    expect(document.verdict).toBe("CERTIFIED_WITH_WARNINGS");
    const waived = document.findings.find((f) => f.cell === X86 && f.clause === "WHL-06")!;
    expect(waived).toMatchObject({ status: "fail", severity: "warning", checkId: "run.WHL-06.discovery.a-duplicate-id-keeps-the-same-distribution" });
    expect(waived.evidence.waiver).toEqual({ clause: "WHL-06", cells: "*.trixie.reference", reason: waiver.reason, source: waiver.source });
    expect(waived.detail).toContain("if manifest.id in discovered:");
    expect(document.findings.find((f) => f.checkId === "run.vitest-exit")?.status).toBe("pass");
    expect(String(cells.find((c) => c.cell === X86)!.logs?.["failures.txt"])).toContain("expected 'b' to be 'a'");
    expect(verifyBundle(sealed(input).bytes, keys.publicPem).verdict).toBe("CERTIFIED_WITH_WARNINGS");
  });

  it("refuses a failed clause: NOT_CERTIFIED, the failure an error and the gate failed", () => {
    const records = [...passing(), record(ARM, "WHL-08: skips an extension whose core range excludes the core", "failed", { error: assertion("expected [] to include 'late'") })];
    const input = run(records, { vitestExitCode: 1 });
    const { document } = certifyConformanceRun(input);
    expect(document.verdict).toBe("NOT_CERTIFIED");
    expect(document.findings.find((f) => f.clause === "WHL-08")).toMatchObject({ cell: ARM, status: "fail", severity: "error", evidence: { category: "product" } });
    expect(document.findings.find((f) => f.checkId === "run.gate")).toMatchObject({ status: "fail", severity: "error" });
    expect(verifyBundle(sealed(input).bytes, keys.publicPem).verdict).toBe("NOT_CERTIFIED");
  });

  it("records a failure of the machine as a harness error, and the failed gate still refuses the sign-off", () => {
    const records = [...passing(), record(X86, "WHL-03: installs offline", "failed", { error: { name: "ContainerError", message: "container did not start", code: "container_start_failed", category: "infrastructure" } })];
    const { document } = certifyConformanceRun(run(records, { vitestExitCode: 1 }));
    expect(document.findings.find((f) => f.clause === "WHL-03")).toMatchObject({ status: "harness-error", evidence: { category: "infrastructure" } });
    expect(document.verdict).toBe("NOT_CERTIFIED");
  });

  it("is INCOMPLETE when a declared cell did not run, or vitest ended in a way no test explains", () => {
    const missing = run(passing(), { cells: [X86, ARM, X86_OLD] });
    expect(missing.summary.gate.passed).toBe(true);
    const { document } = certifyConformanceRun(missing);
    expect(document.matrix.declared).toContain(X86_OLD);
    expect(document.matrix.executed).not.toContain(X86_OLD);
    expect(document.verdict).toBe("INCOMPLETE");
    expect(verifyBundle(sealed(missing).bytes, keys.publicPem).verdict).toBe("INCOMPLETE");

    const crashed = certifyConformanceRun(run(passing(), { vitestExitCode: 2 })).document;
    expect(crashed.findings.find((f) => f.checkId === "run.vitest-exit")?.status).toBe("harness-error");
    expect(crashed.verdict).toBe("INCOMPLETE");
  });

  it("names a cell the host cannot run on once, as not applicable", () => {
    const { document } = certifyConformanceRun(run(passing(), { excluded: [{ id: X86_OLD, platform: "linux-x86_64", reason: "bookworm's Python is too old for this host" }] }));
    expect(document.findings.filter((f) => f.cell === X86_OLD)).toEqual([expect.objectContaining({ checkId: "run.cell-excluded", status: "not-applicable", detail: "bookworm's Python is too old for this host" })]);
    expect(document.verdict).toBe("CERTIFIED");
  });

  it("keeps check ids unique within a cell", () => {
    const records = [...passing(), ...[X86, ARM].flatMap((c) => [record(c, "WHL-04: a/b", "passed"), record(c, "WHL-04: a b", "passed")])];
    const { document } = certifyConformanceRun(run(records));
    expect(document.findings.filter((f) => f.cell === X86 && f.clause === "WHL-04").map((f) => f.checkId).sort()).toEqual(["run.WHL-04.discovery.a-b", "run.WHL-04.discovery.a-b-2"]);
    expect(document.verdict).toBe("CERTIFIED");
  });

  it("records a skipped test as not applicable; a clause that only skipped on a platform fails the gate", () => {
    const records = [...passing(), record(X86, "WHL-05: only where symlinks work", "skipped"), record(ARM, "WHL-05: only where symlinks work", "passed")];
    const { document } = certifyConformanceRun(run(records));
    expect(document.findings.find((f) => f.clause === "WHL-05" && f.cell === X86)).toMatchObject({ status: "not-applicable", severity: "info", detail: expect.stringContaining("skipped") });
    expect(document.findings.find((f) => f.checkId === "run.gate")).toMatchObject({ status: "fail", detail: expect.stringContaining("WHL-05 did not run (and pass) on linux-x86_64") });
    expect(document.verdict).toBe("NOT_CERTIFIED");
  });

  it("fails verification when one byte of the bundle changes", () => {
    const { bytes } = sealed(run(passing()));
    expect(verifyCode(bytes)).toBeUndefined();
    const tampered = (name: string): Buffer => {
      const files = readBundle(bytes);
      const copy = Buffer.from(files.get(name)!);
      copy[Math.floor(copy.length / 2)]! ^= 0x01;
      files.set(name, copy);
      return packBundle(files);
    };
    expect(verifyCode(tampered(cellResultsPath(X86)))).toBe("file_digest_mismatch");
    expect(verifyCode(tampered(BUNDLE.document))).toBe("file_digest_mismatch");
    expect(verifyCode(tampered(BUNDLE.attestation))).toBe("signature_invalid");
  });
});

describe("the host source subject", () => {
  it("digests paths and bytes, leaving out .git and __pycache__, wherever the tree lies", async () => {
    const digest = await sourceTreeDigest(tree);
    expect(digest).toEqual({ sha256: subject.sha256, size: subject.size, files: 2 });
    const copy = join(dir.dir, "copy", "elsewhere");
    await mkdir(join(copy, "src", "pkg"), { recursive: true });
    await writeFile(join(copy, "pyproject.toml"), '[project]\nname = "distcheck-host"\nversion = "1.2.0"\n');
    await writeFile(join(copy, "src", "pkg", "__init__.py"), "VERSION = '1.2.0'\n");
    await mkdir(join(copy, "node_modules", "x"), { recursive: true });
    await writeFile(join(copy, "node_modules", "x", "index.js"), "ignored");
    expect((await sourceTreeDigest(copy)).sha256).toBe(digest.sha256);
    await writeFile(join(copy, "src", "pkg", "__init__.py"), "VERSION = '1.2.1'\n");
    expect((await sourceTreeDigest(copy)).sha256).not.toBe(digest.sha256);
  });

  it.skipIf(!hasPython())("is recomputed by the Python script of REPRODUCE.md", async () => {
    const linked = join(dir.dir, "linked");
    await mkdir(join(linked, "a-b"), { recursive: true });
    await mkdir(join(linked, "a"), { recursive: true });
    await writeFile(join(linked, "a-b", "x"), "1");
    await writeFile(join(linked, "a", "x"), "2");
    await symlink("a/x", join(linked, "link"));
    for (const folder of [tree, linked]) {
      const printed = execFileSync("python3", ["-", folder], { input: sourceTreeDigestScript(), encoding: "utf8" }).trim();
      expect(printed, folder).toBe((await sourceTreeDigest(folder)).sha256);
    }
  });

  it("is the sha256 of a host wheel's bytes", async () => {
    const bytes = Buffer.from("PK\x03\x04 not really a wheel", "latin1");
    const wheel = await dir.file("toposync_core-0.8.0-py3-none-any.whl", bytes);
    const s = await hostSourceSubject(wheel, { id: "toposync", version: "0.8.0" });
    expect(s).toMatchObject({ file: "toposync_core-0.8.0-py3-none-any.whl", kind: "host-source", format: "whl", size: bytes.length, name: "toposync", version: "0.8.0" });
    expect(execFileSync("sha256sum", [wheel], { encoding: "utf8" }).split(" ")[0]).toBe(s.sha256);
    await expect(hostSourceSubject(join(dir.dir, "absent"), { id: "toposync" })).rejects.toMatchObject({ code: "artifact_missing", category: "input" });
  });
});

describe("a bundle request, checked before the run", () => {
  it("needs --bundle and --sign-key together, one host and no mutant", () => {
    expect(() => checkRunBundleRequest({})).not.toThrow();
    expect(() => checkRunBundleRequest({ bundle: "b.tar.gz", signKey: "k.pem" }), "the pairing alone").not.toThrow();
    expect(() => checkRunBundleRequest({ bundle: "b.tar.gz", signKey: "k.pem", hosts: [] })).toThrow(expect.objectContaining({ code: "bundle_needs_one_host" }));
    expect(() => checkRunBundleRequest({ bundle: "b.tar.gz" })).toThrow(expect.objectContaining({ code: "bundle_options_incomplete", category: "input" }));
    expect(() => checkRunBundleRequest({ signKey: "k.pem" })).toThrow(expect.objectContaining({ code: "bundle_options_incomplete" }));
    expect(() => checkRunBundleRequest({ bundle: "b.tar.gz", signKey: "k.pem", hosts: ["reference", "toposync", "reference"] })).toThrow(expect.objectContaining({ code: "bundle_needs_one_host", message: expect.stringContaining("reference, toposync") }));
    expect(() => checkRunBundleRequest({ bundle: "b.tar.gz", signKey: "k.pem", hosts: ["reference"], mutant: "skip-check" })).toThrow(expect.objectContaining({ code: "bundle_with_mutant" }));
    expect(() => checkRunBundleRequest({ bundle: "b.tar.gz", signKey: "k.pem", hosts: ["reference", "reference"] })).not.toThrow();
  });

  it("loads the key first: unreadable, missing or not ed25519 fail with the signing key codes", async () => {
    expect((await readSigningKey(await dir.file("good.pem", keys.privatePem))).toString()).toBe(keys.privatePem);
    await expect(readSigningKey(join(dir.dir, "missing.pem"))).rejects.toMatchObject({ code: "key_unreadable", category: "input" });
    await expect(readSigningKey(await dir.file("garbage.pem", "not a key"))).rejects.toMatchObject({ code: "key_unreadable" });
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    await expect(readSigningKey(await dir.file("rsa.pem", rsa))).rejects.toMatchObject({ code: "key_not_ed25519" });
  });

  it("is a usage error of distcheck run (exit 2) to give only one of --bundle and --sign-key", async () => {
    for (const args of [["--bundle", "b.tar.gz"], ["--sign-key", "k.pem"]]) {
      let err = "";
      const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true));
      try {
        expect(await main(["run", ...args]), args.join(" ")).toBe(2);
      } finally {
        spy.mockRestore();
        process.exitCode = undefined;
      }
      expect(err).toContain("[bundle_options_incomplete]");
    }
  });

  it("fails runConformance before anything runs or is written: a bad key, or several hosts", async () => {
    const matrixFile = async (hosts: string[]): Promise<string> =>
      dir.file(
        `matrix-${hosts.length}.json`,
        JSON.stringify({ platforms: [{ id: "linux-x86_64" }], bases: [{ id: "trixie", image: "trixie", python: "3.13" }], hosts: hosts.map((id) => ({ id, adapter: "reference", source: "hosts/reference" })), suites: ["discovery"] }),
      );
    const reports = join(dir.dir, "reports-untouched");
    const bundle = join(dir.dir, "untouched", "signoff.tar.gz");
    const attempt = async (matrix: string, signKey: string): Promise<unknown> =>
      runConformance({
        matrix,
        build: false,
        reports,
        bundle,
        signKey,
        env: {},
        out: () => {},
        // The first progress line is the run starting: it must never come.
        progress: (line) => {
          throw new Error(`the run started: ${line}`);
        },
      }).catch((error: unknown) => error);
    expect(await attempt(await matrixFile(["ref-a"]), await dir.file("bad.pem", "-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n"))).toMatchObject({ code: "key_unreadable", category: "input" });
    const good = await dir.file("good.pem", keys.privatePem);
    expect(await attempt(await matrixFile(["ref-a", "ref-b"]), good)).toMatchObject({ code: "bundle_needs_one_host", category: "input" });
    // One host and a good key: the sign-off is prepared (source digest, image tags) and the run would start
    // (it names itself in this process's environment, which is put back).
    const saved = { id: process.env.DISTCHECK_RUN_ID, pid: process.env.DISTCHECK_OWNER_PID };
    try {
      expect(await attempt(await matrixFile(["ref-a"]), good)).toMatchObject({ message: expect.stringMatching(/^the run started: run \S+: 1 cell\(s\)/) });
    } finally {
      for (const [name, value] of [["DISTCHECK_RUN_ID", saved.id], ["DISTCHECK_OWNER_PID", saved.pid]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    await expect(stat(reports)).rejects.toMatchObject({ code: "ENOENT" });
    await expect(stat(bundle)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("refuses a bundle path that is a folder", async () => {
    await expect(checkBundlePath(dir.dir)).rejects.toMatchObject({ code: "bundle_path_invalid", category: "input" });
    await expect(checkBundlePath(join(dir.dir, "new", "signoff.tar.gz"))).resolves.toBeUndefined();
  });
});

function hasPython(): boolean {
  try {
    execFileSync("python3", ["-c", "pass"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
