import { describe, expect, it } from "vitest";
import { fromEnv, PROTOCOL_VARIABLES, toEnv, type RunProtocol } from "./run-protocol.ts";

const full: Required<RunProtocol> = {
  runId: "20250101T000000Z-abcdef",
  ownerPid: 4242,
  parentPid: 4343,
  matrixFile: "/work/matrix.json",
  platforms: ["linux-x86_64", "linux-aarch64"],
  pythons: ["3.11", "trixie"],
  hosts: ["reference", "toposync"],
  skipImageBuild: true,
  resultsDir: "/work/reports/r/results",
  mutant: "arc15-poll-every-200ms",
  dockerHost: "tcp://arm64-box:2375",
  keep: "20250101T000000Z-123456",
};

describe("run protocol", () => {
  it("reads back every field it wrote, under the documented names", () => {
    const env = toEnv(full);
    expect(fromEnv(env)).toEqual(full);
    expect(env).toMatchObject({
      DISTCHECK_RUN_ID: full.runId,
      DISTCHECK_OWNER_PID: "4242",
      DISTCHECK_PARENT_PID: "4343",
      DISTCHECK_MATRIX: full.matrixFile,
      DISTCHECK_FILTER_PLATFORM: "linux-x86_64,linux-aarch64",
      DISTCHECK_FILTER_PYTHON: "3.11,trixie",
      DISTCHECK_FILTER_HOST: "reference,toposync",
      DISTCHECK_SKIP_IMAGE_BUILD: "1",
      DISTCHECK_RESULTS_DIR: full.resultsDir,
      DISTCHECK_MUTANT: full.mutant,
      DOCKER_HOST: full.dockerHost,
      TESTCONTAINERS_RYUK_DISABLED: "true",
    });
  });

  it("writes every distcheck variable, empty when absent, and reads an empty protocol back", () => {
    const env = toEnv({});
    for (const [field, name] of Object.entries(PROTOCOL_VARIABLES)) {
      if (field === "dockerHost") expect(env, name).not.toHaveProperty(name);
      else expect(env[name], name).toBe("");
    }
    expect(fromEnv(env)).toEqual({});
  });

  it("does not let a variable the starting process inherited reach the child", () => {
    const inherited = { DISTCHECK_FILTER_PLATFORM: "linux-aarch64", DISTCHECK_PYTHON: "3.13", DISTCHECK_MUTANT: "old", DISTCHECK_RUN_ID: "another-run" };
    expect(fromEnv({ ...inherited, ...toEnv({ platforms: ["linux-x86_64"] }) })).toEqual({ platforms: ["linux-x86_64"] });
  });

  it("still reads DISTCHECK_PLATFORM and DISTCHECK_PYTHON, and prefers the new names when both are set", () => {
    expect(fromEnv({ DISTCHECK_PLATFORM: "linux-x86_64", DISTCHECK_PYTHON: " 3.13, 3.11 " })).toEqual({ platforms: ["linux-x86_64"], pythons: ["3.13", "3.11"] });
    expect(fromEnv({ DISTCHECK_PLATFORM: "linux-x86_64", DISTCHECK_FILTER_PLATFORM: "linux-aarch64", DISTCHECK_PYTHON: "3.13", DISTCHECK_FILTER_PYTHON: "" })).toEqual({ platforms: ["linux-aarch64"] });
  });

  it("takes no host filter from the reference host's own DISTCHECK_HOST_* settings", () => {
    expect(fromEnv({ DISTCHECK_HOST: "reference", DISTCHECK_HOST_SHUTDOWN_GRACE_MS: "500" })).toEqual({});
  });

  it("ignores a pid that is not a positive integer", () => {
    expect(fromEnv({ DISTCHECK_PARENT_PID: "0", DISTCHECK_OWNER_PID: "abc" })).toEqual({});
  });
});
