import path from "node:path";
import { gunzipSync } from "node:zlib";
import semver from "semver";
import { describe, expect, it } from "vitest";
import { GRACE_RANGE, graceProblem, hostSectionProblem, listProblem, MAX_CATEGORIES, MAX_KEYWORDS, nameProblem, versionProblem } from "../certify/archive-manifest-rules.ts";
import { CONTRACT } from "../contract/contract.ts";
import { loadFixtureDeclarations } from "../fixtures/declarations/declaration-loader.ts";
import type { HostileFormat } from "../fixtures/declarations/fixture-declaration.ts";
import { buildHostileArchive } from "../fixtures/hostile/hostile-archive-builder.ts";
import { tarRecords, zipRecords } from "../fixtures/inspect/archive-records.ts";
import {
  ARCHIVE_LIMITS,
  DEFAULT_HOST_RANGE,
  detectPlatform,
  npmRangeSatisfies,
  pickPlatformPackage,
  predictDownloadSize,
  predictExtraction,
  predictHostRange,
  predictManifest,
  readSha256,
  requiredHostRange,
  sameSha256,
} from "./archive-oracle.ts";

describe("host version range (ARC-10, ARC-11)", () => {
  it("defaults by host type when the manifest names no range", () => {
    expect(requiredHostRange({ host: { type: "agent" } })).toEqual({ range: DEFAULT_HOST_RANGE.agent, defaulted: true });
    expect(requiredHostRange({ host: { type: "app" } })).toEqual({ range: ">=26.0.3", defaulted: true });
    expect(requiredHostRange({ runtime: { type: "python" } }).range).toBe(">=25.0.20");
  });

  it("reads [core] or the Zelos [zelos] table", () => {
    expect(requiredHostRange({ core: { version: ">=99.0.0" } }).range).toBe(">=99.0.0");
    expect(requiredHostRange({ zelos: { version: "~25.0.20" } }).range).toBe("~25.0.20");
  });

  it.each([
    ["25.0.20", ">=25.0.20", true],
    ["25.0.19", ">=25.0.20", false],
    ["25.0.20-rc.1", ">=25.0.20", false], // npm: pre-releases never satisfy unless opted in
    ["25.0.21-rc.1", ">=25.0.20", false],
    ["25.0.20-rc.2", ">=25.0.20-rc.1", true],
    ["25.5.0", ">=25.0.0, <26.0.0", true], // the Zelos seed's comma form
    ["26.0.0", ">=25.0.0, <26.0.0", false],
    ["25.0.99", "~25.0.20", true],
    ["25.1.0", "~25.0.20", false],
    ["1.0.0", "*", true],
  ])("%s satisfies %s: %s", (version, range, expected) => {
    expect(npmRangeSatisfies(version, range)).toBe(expected);
    if (!range.includes(",")) expect(semver.satisfies(version, range)).toBe(expected);
  });

  it("rejects invalid input", () => {
    expect(() => npmRangeSatisfies("25", ">=1")).toThrow(RangeError);
    expect(() => npmRangeSatisfies("25.0.0", ">=>1")).toThrow(RangeError);
  });

  it("predicts a refusal that must name both versions", () => {
    expect(predictHostRange({ core: { version: ">=99.0.0" } }, "98.99.99")).toEqual({
      installs: false,
      range: ">=99.0.0",
      agentVersion: "98.99.99",
      error: "incompatible_host_version",
      mustName: [">=99.0.0", "98.99.99"],
    });
    expect(predictHostRange({ core: { version: ">=99.0.0" } }, "99.0.0").installs).toBe(true);
    expect(predictHostRange({ host: { type: "agent" } }, "25.0.19").installs).toBe(false);
  });
});

describe("platform detection (ARC-12, the Zelos seed's examples)", () => {
  it.each([
    ["my-ext-1.0.0-linux-x86_64.tar.gz", "linux-x86_64"],
    ["my-ext-1.0.0-macos-arm64.tar.gz", "darwin-arm64"],
    ["my-ext-1.0.0-universal.tar.gz", "universal"],
    ["my-ext-1.0.0.tar.gz", "universal"],
    ["my-ext-1.0.0-linux-aarch64.zip", "linux-aarch64"],
    ["my-ext-1.0.0-linux-arm64.tgz", "linux-aarch64"],
    ["my-ext-1.0.0-LINUX-X86_64.tar.gz", "linux-x86_64"],
    ["my-ext-1.0.0-Linux-AArch64.tar.gz", "linux-aarch64"],
    ["my-ext-1.0.0-windows-amd64.zip", "windows-x86_64"],
    ["my-ext-1.0.0-win32-x64.zip", "windows-x86_64"],
    ["my-ext-1.0.0-linux.tar.gz", "universal"], // only an OS: universal
    ["my-ext-1.0.0-x86_64.tar.gz", "universal"], // only an arch: universal
    ["alarm-linux-1.0.tar.gz", "universal"], // `alarm` is not `arm`
    ["/fixtures/archives/arc-platform-1.0.0-linux-x86_64.tar.gz", "linux-x86_64"],
  ])("%s → %s", (name, platform) => {
    expect(detectPlatform(name)).toBe(platform);
  });
});

describe("platform pick (ARC-12)", () => {
  const files = ["e-1.0.0-universal.tar.gz", "e-1.0.0-linux-aarch64.tar.gz", "e-1.0.0-linux-x86_64.tar.gz"];
  it("picks the exact platform wherever it is listed", () => {
    expect(pickPlatformPackage(files, "linux-x86_64")).toMatchObject({ installs: true, index: 2, platform: "linux-x86_64", exact: true });
    expect(pickPlatformPackage(files, "linux-aarch64")).toMatchObject({ installs: true, index: 1, exact: true });
  });
  it("falls back to universal, else refuses", () => {
    expect(pickPlatformPackage(files.slice(0, 2), "linux-x86_64")).toMatchObject({ installs: true, index: 0, platform: "universal", exact: false });
    expect(pickPlatformPackage(files.slice(1, 2), "linux-x86_64")).toEqual({ installs: false, error: "no_platform_package" });
  });
  it("matches names case-insensitively", () => {
    expect(pickPlatformPackage(["e-1.0.0-LINUX-X86_64.tar.gz", "e-1.0.0-Linux-AArch64.tar.gz"], "linux-aarch64")).toMatchObject({ installs: true, index: 1 });
  });
});

const FIXTURES = path.resolve(import.meta.dirname, "..", "..", "fixtures");
const declarations = await loadFixtureDeclarations(FIXTURES);
const clauseText = (id: string): string => CONTRACT.clauses.find((c) => c.id === id)?.text ?? "";

describe("the contract's numeric limits (ARC-03, ARC-05, ARC-09, ARC-10)", () => {
  it("are the numbers CONTRACT.md states", () => {
    expect(clauseText("ARC-03")).toContain("above 500 MiB compressed are refused");
    expect(ARCHIVE_LIMITS.maxDownloadBytes).toBe(500 * 2 ** 20);
    expect(clauseText("ARC-03")).toContain("time out after 60 s");
    expect(ARCHIVE_LIMITS.downloadTimeoutS).toBe(60);
    expect(clauseText("ARC-05")).toContain("would exceed 2 GiB or whose file count exceeds 10,000");
    expect([ARCHIVE_LIMITS.maxExtractedBytes, ARCHIVE_LIMITS.maxFiles]).toEqual([2 * 2 ** 30, 10_000]);
    expect(clauseText("ARC-09")).toContain("keyword (≤20) and category (≤10) limits");
    expect([ARCHIVE_LIMITS.maxKeywords, ARCHIVE_LIMITS.maxCategories]).toEqual([20, 10]);
    expect(clauseText("ARC-10")).toContain("`stop.grace_seconds` 10 (valid 1–300)");
    expect(ARCHIVE_LIMITS.graceSeconds).toEqual({ min: 1, max: 300 });
  });

  it("agree with the static certifier's manifest rules", () => {
    expect([MAX_KEYWORDS, MAX_CATEGORIES]).toEqual([ARCHIVE_LIMITS.maxKeywords, ARCHIVE_LIMITS.maxCategories]);
    expect(GRACE_RANGE).toEqual([ARCHIVE_LIMITS.graceSeconds.min, ARCHIVE_LIMITS.graceSeconds.max]);
  });
});

describe("download size cap (ARC-03)", () => {
  it("accepts exactly the cap and refuses one byte more", () => {
    expect(predictDownloadSize(1024, 1024)).toEqual({ accepted: true });
    expect(predictDownloadSize(1025, 1024)).toEqual({ accepted: false, error: "download_too_large" });
    expect(predictDownloadSize(ARCHIVE_LIMITS.maxDownloadBytes)).toEqual({ accepted: true });
    expect(predictDownloadSize(ARCHIVE_LIMITS.maxDownloadBytes + 1).accepted).toBe(false);
    expect(() => predictDownloadSize(-1, 10)).toThrow(RangeError);
  });
});

describe("SHA-256 digests (ARC-02)", () => {
  const hex = "0123456789abcdef".repeat(4);
  it("reads 64 hex digits in any case; empty or missing is missing; anything else the contract leaves open", () => {
    expect(readSha256(hex)).toEqual({ kind: "digest", hex });
    expect(readSha256(hex.toUpperCase())).toEqual({ kind: "digest", hex });
    expect(readSha256("")).toEqual({ kind: "missing" });
    expect(readSha256(undefined)).toEqual({ kind: "missing" });
    expect(readSha256(`sha256:${hex}`)).toEqual({ kind: "unspecified" });
    expect(readSha256(hex.slice(1))).toEqual({ kind: "unspecified" });
  });
  it("compares all 256 bits: one differing hex digit, first or last, is another digest", () => {
    expect(sameSha256(hex.toUpperCase(), hex)).toBe(true);
    expect(sameSha256(`${hex.slice(0, 63)}e`, hex)).toBe(false);
    expect(sameSha256(`1${hex.slice(1)}`, hex)).toBe(false);
    expect(sameSha256(`sha256:${hex}`, hex)).toBe(false);
  });
});

describe("manifest validation (ARC-09, ARC-10)", () => {
  const base = { name: "X", version: "1.0.0", host: { type: "agent", agent: { entry: "main.py" } } };
  const words = (n: number): string[] => Array.from({ length: n }, (_, i) => `w${i + 1}`);
  const grace = (g: unknown, where: "agent" | "top" = "agent"): Record<string, unknown> =>
    where === "agent" ? { ...base, host: { type: "agent", agent: { entry: "main.py", stop: { grace_seconds: g } } } } : { ...base, stop: { grace_seconds: g } };

  it.each([
    ["20 keywords", { ...base, keywords: words(20) }, true],
    ["21 keywords", { ...base, keywords: words(21) }, false],
    ["10 categories", { ...base, categories: words(10) }, true],
    ["11 categories", { ...base, categories: words(11) }, false],
    ["an empty keyword", { ...base, keywords: ["a", " "] }, false],
    ["grace 0", grace(0), false],
    ["grace 1", grace(1), true],
    ["grace 300", grace(300), true],
    ["grace 301", grace(301), false],
    ["grace 301 at the top level", grace(301, "top"), false],
    ["grace 1.5", grace(1.5), false],
    ["grace true", grace(true), false],
    ["grace 300 in [runtime]", { name: "X", version: "1.0.0", runtime: { type: "python", entry: "main.py", stop: { grace_seconds: 300 } } }, true],
    ["a build-metadata version", { ...base, version: "1.0.0+build.7" }, true],
    ["a v-prefixed version", { ...base, version: "v1.0.0" }, false],
    ["no [host]", { name: "X", version: "1.0.0" }, false],
  ])("%s: valid %s", (_what, manifest, valid) => {
    expect(predictManifest(manifest).valid).toBe(valid);
  });

  it("agrees with every archive fixture that predicts its ARC-09 or ARC-10 outcome itself", () => {
    const judged = declarations.archives.filter((d) => (d.clauses.includes("ARC-09") || d.clauses.includes("ARC-10")) && d.predicted !== "oracle");
    expect(judged.length).toBeGreaterThanOrEqual(7);
    for (const d of judged) {
      const p = d.predicted as Exclude<typeof d.predicted, "oracle">;
      const verdict = predictManifest(d.manifest);
      expect(verdict.valid, `${d.name}: ${JSON.stringify(verdict)}`).toBe(p.installed);
      if (!verdict.valid) expect([p.error].flat(), d.name).toContain(verdict.error);
    }
  });

  it("agrees with the static certifier's rules on every archive fixture", () => {
    for (const d of declarations.archives) {
      const m = d.manifest;
      const certifier = [nameProblem(m), versionProblem(m), hostSectionProblem(m), listProblem(m, "keywords"), listProblem(m, "categories"), graceProblem(m)].filter((p) => p !== undefined);
      expect(predictManifest(m).valid, `${d.name}: certifier says ${certifier.join("; ") || "valid"}`).toBe(certifier.length === 0);
    }
  });
});

describe("extraction limits (ARC-05)", () => {
  const files = (n: number, size = 0) => Array.from({ length: n }, () => ({ kind: "file", size }));
  it("counts regular files only and refuses only above a limit", () => {
    const limits = { maxFiles: 3, maxExtractedBytes: 10 };
    expect(predictExtraction([...files(3, 3), { kind: "directory", size: 0 }, { kind: "directory", size: 0 }], limits)).toEqual({ installs: true, files: 3, bytes: 9 });
    expect(predictExtraction(files(4), limits)).toMatchObject({ installs: false, errors: ["too_many_files"] });
    expect(predictExtraction([...files(1, 10)], limits)).toMatchObject({ installs: true, bytes: 10 });
    expect(predictExtraction([...files(1, 11)], limits)).toMatchObject({ installs: false, errors: ["too_large_extracted"] });
    expect(predictExtraction(files(4, 3), limits)).toMatchObject({ installs: false, errors: ["too_many_files", "too_large_extracted"] });
    expect(predictExtraction(files(10_000)).installs).toBe(true);
    expect(predictExtraction(files(10_001)).installs).toBe(false);
  });

  const base = declarations.archives.find((a) => a.name === declarations.hostile.base)!;
  /** Corpus entries built against a limit, small enough to build here (the large ones take minutes). */
  const limited = declarations.hostile.entries.filter((e) => e.limit !== undefined && e.large !== true);
  const records = (bytes: Buffer, format: HostileFormat) => (format === "zip" ? zipRecords(bytes) : tarRecords(format === "tar" ? bytes : gunzipSync(bytes)));

  it("predicts what the hostile corpus declares for every entry built against a limit, in every format", () => {
    expect(limited.length).toBeGreaterThanOrEqual(5);
    for (const entry of limited) {
      const limits = { maxFiles: entry.limit!.max_files ?? ARCHIVE_LIMITS.maxFiles, maxExtractedBytes: entry.limit!.max_extracted_bytes ?? ARCHIVE_LIMITS.maxExtractedBytes };
      for (const format of entry.formats) {
        const verdict = predictExtraction(records(buildHostileArchive(entry, format, base), format), limits);
        const at = `${entry.name} (${format}): ${JSON.stringify(verdict)} against ${JSON.stringify(limits)}`;
        expect(verdict.installs, at).toBe(entry.expect.outcome === "installed");
        if (!verdict.installs) expect(verdict.errors, at).toEqual(expect.arrayContaining([entry.expect.code].flat()));
      }
    }
  });

  // Each boundary entry sits exactly at its limit or exactly one over it, in both formats: the base's
  // own files (extension.toml included) count, so a change of the base that moved them off the
  // boundary fails here, not silently in a container.
  it.each([
    ["files-at-limit-small", "files", 0],
    ["too-many-files-small", "files", 1],
    ["bytes-at-limit-small", "bytes", 0],
    ["bytes-over-limit-small", "bytes", 1],
  ] as const)("%s holds exactly its limit of %s plus %i", (name, what, over) => {
    const entry = limited.find((e) => e.name === name);
    expect(entry, `corpus entry ${name}`).toBeDefined();
    const limit = what === "files" ? entry!.limit!.max_files : entry!.limit!.max_extracted_bytes;
    expect(limit, `${name} declares its ${what} limit`).toBeDefined();
    for (const format of entry!.formats) {
      const verdict = predictExtraction(records(buildHostileArchive(entry!, format, base), format), { maxFiles: Number.MAX_SAFE_INTEGER, maxExtractedBytes: Number.MAX_SAFE_INTEGER });
      expect(verdict[what], `${name} (${format})`).toBe(limit! + over);
    }
  });
});
