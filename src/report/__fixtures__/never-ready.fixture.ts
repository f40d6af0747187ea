import { beforeAll, describe, it } from "vitest";
import { CellNeverReadyError, neverReadyFailure } from "../../run/cell-health.ts";

// Run by never-ready.test.ts through distcheck's reporter: a cell whose host never became ready, its
// boot stopped in a suite's setup and in a test, next to a cell that runs normally.
const failure = neverReadyFailure({
  cellId: "linux-x86_64.bookworm.broken",
  file: "suites/host-boot.test.ts",
  message: "linux-x86_64.bookworm.broken: the host did not report ready within 20000 ms",
  log: "starting the host\n",
});

// Concurrent, with a setup that takes a moment, as the suites are: vitest may report the first test
// of such a suite before the suite carries its setup's error.
describe.concurrent("host boot on linux-x86_64.bookworm.broken", () => {
  beforeAll(async () => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    throw new CellNeverReadyError(failure);
  });
  it("HST-02: boot to ready within its bound", () => {});
  it("WHL-02: lists the sample wheel", () => {});
});

describe("hostile archives on linux-x86_64.bookworm.broken", () => {
  it("ARC-04: boots its host in the test", () => {
    throw new CellNeverReadyError(failure);
  });
});

describe("host boot on linux-x86_64.bookworm.reference", () => {
  it("HST-02: boot to ready within its bound", () => {});
});
