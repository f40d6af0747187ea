import { beforeAll, describe, expect, it } from "vitest";
import { execFormatFailure } from "../../engine/exec-format-failure.ts";
import { InfrastructureError } from "../../errors/distcheck-error.ts";
import { HostBootError } from "../../hosts/booted-host.ts";
import { OracleError } from "../../oracle/oracle-error.ts";
import { WaitTimeoutError } from "../../../suites/support/timeline.ts";

// Run by error-category.test.ts through distcheck's reporter: each test fails with one kind of
// error, thrown by the real class (or the real detector), so the test sees what vitest's
// serialization keeps of `code` and `category` on the way to a test record.
describe("error-category on linux-aarch64.bookworm.reference", () => {
  it("WHL-01: the host never became ready", () => {
    throw new HostBootError("linux-aarch64.bookworm.reference: the host did not report ready within 20000 ms", "log");
  });
  it("WHL-02: a state the host must reach never came", () => {
    throw new WaitTimeoutError("ok-basic to run", 20_000, "not yet");
  });
  it("WHL-03: an assertion about the host", () => {
    expect(201, "status of POST /x").toBe(400);
  });
  it("WHL-04: qemu binfmt is missing", () => {
    const output = 'OCI runtime exec failed: exec failed: unable to start container process: exec: "uname": exec format error: unknown';
    throw execFormatFailure(output, { where: "Cell linux-aarch64.bookworm.reference", command: ["uname", "-m"], platform: "linux/arm64" }) ?? new Error("not detected");
  });
  it("WHL-05: the oracle cannot predict", () => {
    throw new OracleError("oracle_ambiguous", "Fixtures a, b share id x but differ in version.");
  });
  it("WHL-06: a bug in a suite", () => {
    (undefined as unknown as { x: number }).x;
  });
});

describe("error-category-setup on linux-aarch64.bookworm.reference", () => {
  beforeAll(() => {
    throw new InfrastructureError("engine_unavailable", "The Docker engine at unix:///var/run/docker.sock does not answer (connect ENOENT).");
  });
  it("WHL-07: a test whose setup met a dead engine", () => {});
});
