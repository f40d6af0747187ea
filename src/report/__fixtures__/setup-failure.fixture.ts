import { beforeAll, describe, expect, it } from "vitest";

// Run by setup-failure.test.ts through distcheck's reporter: a suite whose beforeAll fails (as when
// a host never boots) next to a suite that runs normally.
describe("setup-failure on linux-x86_64.bookworm.reference", () => {
  beforeAll(() => {
    expect("never ready", "the host booted").toBe("ready");
  });
  it("WHL-01: first test of a suite whose setup failed", () => {});
  it("WHL-02: second test of a suite whose setup failed", () => {});
});

describe("setup-ok on linux-x86_64.bookworm.reference", () => {
  it.skip("WHL-03: skipped on purpose", () => {});
  it("WHL-04: passes", () => {});
});
