import { describe, expect, it } from "vitest";
import { categorise } from "./failure-category.ts";

const failed = (name: string, message: string) => ({ state: "failed" as const, errors: [{ name, message }] });

describe("categorise", () => {
  it("files assertion failures and hosts that never booted as product defects", () => {
    expect(categorise(failed("AssertionError", "expected 201 to be 400"))).toBe("product");
    expect(categorise(failed("HostBootError", "the host exited with 1 before it was ready"))).toBe("product");
    expect(categorise(failed("WaitTimeoutError", "Waited 20000 ms for x to run again; it never happened"))).toBe("product");
  });

  it("files engine, container and image problems as infrastructure", () => {
    expect(categorise(failed("InfrastructureError", "The Docker engine at unix:///var/run/docker.sock does not answer"))).toBe("infrastructure");
    expect(categorise(failed("ContainerError", "Cell x: machine x86_64, expected aarch64"))).toBe("infrastructure");
    expect(categorise(failed("Error", "connect ECONNREFUSED /var/run/docker.sock"))).toBe("infrastructure");
  });

  it("files everything else as the harness's own error", () => {
    expect(categorise(failed("TypeError", "Cannot read properties of undefined"))).toBe("harness");
    expect(categorise({ state: "failed", errors: [] })).toBe("harness");
  });

  it("has no category for a test that did not fail", () => {
    expect(categorise({ state: "passed", errors: [] })).toBeUndefined();
  });
});
