import type { TestRecord } from "./test-record.ts";

/** Who is at fault when a test did not pass. */
export type FailureCategory = "product" | "harness" | "infrastructure";

const INFRA_CODES = /\[(engine_unavailable|engine_endpoint_invalid|container_start_failed|architecture_mismatch|image_build_failed|debootstrap_missing|timing_probe_failed)\]|does not answer|ECONNREFUSED .*docker\.sock|Cannot connect to the Docker daemon|qemu/i;
const INFRA_NAMES = new Set(["InfrastructureError", "ContainerError", "ImageBuildError"]);
// WaitTimeoutError: the host never reached a state the contract requires (suites/support/timeline.ts).
const PRODUCT_NAMES = new Set(["AssertionError", "HostBootError", "WaitTimeoutError"]);

/**
 * Classifies a failed test: an assertion about the host that did not hold, a host that did not
 * boot, or a wait for a state the host must reach that timed out, is a product defect (the host broke a clause); an unavailable engine, image or qemu is
 * infrastructure; anything else (a TypeError in a suite, a harness error code) is the harness's.
 */
export function categorise(record: Pick<TestRecord, "state" | "errors">): FailureCategory | undefined {
  if (record.state !== "failed") return undefined;
  const first = record.errors[0];
  if (!first) return "harness";
  const text = `${first.name ?? ""} ${first.message} ${first.stack ?? ""}`;
  if ((first.name && INFRA_NAMES.has(first.name)) || INFRA_CODES.test(text)) return "infrastructure";
  if ((first.name && PRODUCT_NAMES.has(first.name)) || /^AssertionError|host_boot_failed/.test(text)) return "product";
  return "harness";
}

/** Allure category rules matching the label the report adds. */
export const ALLURE_CATEGORIES = [
  { name: "Product defects (the host broke a clause)", matchers: [{ labels: { "distcheck.category": "product" } }] },
  { name: "Harness errors", matchers: [{ labels: { "distcheck.category": "harness" } }] },
  { name: "Infrastructure problems (engine, image, qemu)", matchers: [{ labels: { "distcheck.category": "infrastructure" } }] },
];
