import { describe, expect, it } from "vitest";
import type { ErrorCategory } from "../errors/distcheck-error.ts";
import { categorise } from "./failure-category.ts";

const failed = (error: { name: string; message: string; code?: string; category?: ErrorCategory }) => ({ state: "failed" as const, errors: [error] });

describe("categorise", () => {
  it("takes the category the throwing code set", () => {
    expect(categorise(failed({ name: "HostBootError", message: "the host exited with 1 before it was ready", code: "host_boot_failed", category: "product" }))).toBe("product");
    expect(categorise(failed({ name: "WaitTimeoutError", message: "Waited 20000 ms for x to run again; it never happened", code: "wait_timeout", category: "product" }))).toBe("product");
    expect(categorise(failed({ name: "InfrastructureError", message: "The Docker engine at unix:///var/run/docker.sock does not answer", code: "engine_unavailable", category: "infrastructure" }))).toBe("infrastructure");
    expect(categorise(failed({ name: "ContainerError", message: "Cell x: machine x86_64, expected aarch64", code: "architecture_mismatch", category: "infrastructure" }))).toBe("infrastructure");
    expect(categorise(failed({ name: "InfrastructureError", message: "exec format error", code: "exec_format_error", category: "infrastructure" }))).toBe("infrastructure");
    expect(categorise(failed({ name: "OracleError", message: "fixtures share an id", code: "oracle_ambiguous", category: "harness" }))).toBe("harness");
  });

  it("files an input error inside a test as the harness's (the run's inputs, not the host)", () => {
    expect(categorise(failed({ name: "FixtureDeclarationError", message: "fixtures/wheels/x.json: version must be a string", code: "fixture_declaration_invalid", category: "input" }))).toBe("harness");
  });

  it("goes by the category, never by names or words in the message", () => {
    // A product failure whose message mentions qemu and the engine is still the host's fault.
    expect(categorise(failed({ name: "WaitTimeoutError", message: "Waited 500 ms for pid 7 under qemu; last probe: Cannot connect to the Docker daemon", category: "product" }))).toBe("product");
    // Class names and engine words alone no longer decide: the throw site must set the category.
    expect(categorise(failed({ name: "InfrastructureError", message: "The Docker engine does not answer" }))).toBe("harness");
    expect(categorise(failed({ name: "Error", message: "connect ECONNREFUSED /var/run/docker.sock", code: "ECONNREFUSED" }))).toBe("harness");
    expect(categorise(failed({ name: "Error", message: "qemu: uncaught target signal 11" }))).toBe("harness");
  });

  it("files a failed expect (vitest's AssertionError, no category) as a product defect", () => {
    expect(categorise(failed({ name: "AssertionError", message: "expected 201 to be 400" }))).toBe("product");
  });

  it("files everything else as the harness's own error", () => {
    expect(categorise(failed({ name: "TypeError", message: "Cannot read properties of undefined" }))).toBe("harness");
    expect(categorise({ state: "failed", errors: [] })).toBe("harness");
  });

  it("has no category for a test that did not fail", () => {
    expect(categorise({ state: "passed", errors: [] })).toBeUndefined();
  });
});
