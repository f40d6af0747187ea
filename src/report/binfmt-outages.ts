import { readResultsList, writeResultsList } from "./results-list-file.ts";
import type { BinfmtOutage } from "../engine/binfmt-watch.ts";
import { binfmtFix } from "../engine/binfmt-registration.ts";
import { platformInfo } from "../platform/platforms.ts";
import type { TestRecord, TestRecordError } from "./test-record.ts";

/** The file in a run's results directory that lists when an emulated platform's registration was off. */
export const BINFMT_OUTAGES_FILE = "binfmt-outages.json";

export function writeBinfmtOutages(resultsDir: string, outages: readonly BinfmtOutage[]): void {
  writeResultsList(resultsDir, BINFMT_OUTAGES_FILE, outages);
}

export function readBinfmtOutages(resultsDir: string): BinfmtOutage[] {
  return readResultsList<BinfmtOutage>(resultsDir, BINFMT_OUTAGES_FILE);
}

export const BINFMT_DISABLED = "binfmt_disabled";

/**
 * A failed test of a platform that ran, even in part, while the platform's binfmt registration was
 * off is the machine's fault: every process of that platform started then failed in the kernel, the
 * ones a host already running under qemu starts included, and those fail inside the host in words
 * that name no machine (a wheel's entry point that "could not start", an extension that "exited").
 * The test's first error becomes a `binfmt_disabled` infrastructure error with the fix; its own
 * errors follow unchanged. A test that began after the registration was back keeps its category.
 */
export function attributeBinfmtOutages(record: TestRecord, outages: readonly BinfmtOutage[]): TestRecord {
  if (record.state !== "failed" || record.endedAt === undefined || !record.cell) return record;
  if (record.errors[0]?.category === "infrastructure") return record;
  const endedAt = record.endedAt;
  const startedAt = endedAt - record.durationMs;
  const outage = outages.find((o) => o.platform === record.cell!.platform && endedAt >= o.offAt && (o.onAt === undefined || startedAt <= o.onAt));
  if (!outage) return record;
  const error: TestRecordError = { name: "InfrastructureError", code: BINFMT_DISABLED, category: "infrastructure", message: binfmtOutageMessage(outage) };
  return { ...record, errors: [error, ...record.errors] };
}

/** What happened and what to do, for a test it broke and for the run's list of machine problems. */
export function binfmtOutageMessage(o: BinfmtOutage): string {
  const at = (ms: number): string => new Date(ms).toISOString();
  return (
    `The ${o.entry} binfmt registration was ${o.state === "unregistered" ? "removed" : "disabled"} at ${at(o.offAt)}` +
    (o.onAt === undefined ? " and stayed off to the end of the run" : ` until ${at(o.onAt)}`) +
    `: this machine could not start ${platformInfo(o.platform).docker} processes then (those of a host already running under qemu included), so for what failed on ${o.platform} then the machine is at fault, not the host under test. ` +
    `Fix: \`${binfmtFix(platformInfo(o.platform), o.state)}\` (as root; \`npx distcheck doctor\` checks it), then run again.`
  );
}
