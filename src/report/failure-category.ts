import type { TestRecord } from "./test-record.ts";

/** Who is at fault when a test did not pass. */
export type FailureCategory = "product" | "harness" | "infrastructure";

/**
 * Classifies a failed test by its first error. The code that threw it decided whose fault it is
 * (DistcheckError.category, which the reporter records): a host that never booted or never reached
 * a state it must reach is `product`; an engine, container, qemu or image problem is
 * `infrastructure`; a harness error, and an input error inside a test (the run's own inputs, not the
 * host), are `harness`. Without a category, a failed `expect` (vitest's AssertionError, an assertion
 * about the host) is `product`, and anything else (a TypeError in a suite) is `harness`.
 */
export function categorise(record: Pick<TestRecord, "state" | "errors">): FailureCategory | undefined {
  if (record.state !== "failed") return undefined;
  const first = record.errors[0];
  if (!first) return "harness";
  switch (first.category) {
    case "product":
    case "infrastructure":
    case "harness":
      return first.category;
    case "input":
      return "harness";
    default:
      return first.name === "AssertionError" ? "product" : "harness";
  }
}

/** Allure category rules matching the label the report adds. */
export const ALLURE_CATEGORIES = [
  { name: "Product defects (the host broke a clause)", matchers: [{ labels: { "distcheck.category": "product" } }] },
  { name: "Harness errors", matchers: [{ labels: { "distcheck.category": "harness" } }] },
  { name: "Infrastructure problems (engine, image, qemu)", matchers: [{ labels: { "distcheck.category": "infrastructure" } }] },
];
