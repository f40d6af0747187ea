import semver from "semver";
import { describe, expect, it } from "vitest";
import { DEFAULT_HOST_RANGE, detectPlatform, npmRangeSatisfies, pickPlatformPackage, predictHostRange, requiredHostRange } from "./archive-oracle.ts";

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
