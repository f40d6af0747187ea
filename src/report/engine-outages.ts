import { readResultsList, writeResultsList } from "./results-list-file.ts";
import type { EngineOutage } from "../engine/engine-watch.ts";
import type { TestRecord, TestRecordError } from "./test-record.ts";

/** The file in a run's results directory that lists the engine outages the run saw. */
export const ENGINE_OUTAGES_FILE = "engine-outages.json";

export function writeEngineOutages(resultsDir: string, outages: readonly EngineOutage[]): void {
  writeResultsList(resultsDir, ENGINE_OUTAGES_FILE, outages);
}

export function readEngineOutages(resultsDir: string): EngineOutage[] {
  return readResultsList<EngineOutage>(resultsDir, ENGINE_OUTAGES_FILE);
}

const at = (ms: number): string => new Date(ms).toISOString();

/**
 * How long before its event stream ends a stopping engine is already killing the run's containers:
 * dockerd stops every container first (each up to its stop timeout, the whole up to its
 * --shutdown-timeout, 15 s by default) and closes its API last.
 */
export const SHUTDOWN_WINDOW_MS = 30_000;

/**
 * A failed test of a platform whose engine went away is the machine's fault when it ended at or
 * after that moment: the restart killed every container of the run (the host under test among
 * them), so whatever the test saw next (a refused connection, a host that is gone, an assertion on a
 * missing answer) says nothing about the host. So is one that ended in the shutdown window before
 * the engine's API went away: the engine stops the containers first, and what a test sees then is
 * any failure at all, not only a lost connection (seen: the host under test answering
 * `download_failed` because the fixture server it downloads from had already been stopped, 11 s
 * before the API went away). Such a test cannot be told apart from a host defect, and the run that
 * holds it is void anyway (exit 3, "run again"), so its first error becomes an `engine_restarted`
 * infrastructure error that says so, and the test's own errors follow it unchanged. Failures that
 * ended before the window keep their category.
 */
export function attributeOutages(record: TestRecord, outages: readonly EngineOutage[]): TestRecord {
  if (record.state !== "failed" || record.endedAt === undefined || !record.cell) return record;
  const platform = record.cell.platform;
  const endedAt = record.endedAt;
  const outage = outages.find((o) => o.platforms.includes(platform) && endedAt >= o.wentAwayAt - SHUTDOWN_WINDOW_MS);
  if (!outage || record.errors[0]?.category === "infrastructure") return record;
  const before = outage.wentAwayAt - endedAt;
  const error: TestRecordError = { name: "InfrastructureError", code: ENGINE_RESTARTED, category: "infrastructure", message: outageMessage(outage, before > 0 ? before : undefined) };
  return { ...record, errors: [error, ...record.errors] };
}

export const ENGINE_RESTARTED = "engine_restarted";

/** What happened and what to do, for a test it broke and for the run's list of machine problems. */
export function outageMessage(outage: EngineOutage, endedBeforeMs?: number): string {
  return (
    (endedBeforeMs !== undefined ? `This test failed ${(endedBeforeMs / 1000).toFixed(1)} s before the engine's API went away, while the stopping engine was already stopping the run's containers: its failure cannot be told apart from the restart's effects (its own error follows). ` : "") +
    `The Docker engine at ${outage.endpoint} went away at ${at(outage.wentAwayAt)}` +
    (outage.backAt ? ` and answered again at ${at(outage.backAt)}` : " and did not answer again before the run ended") +
    `: it stopped every container of the run on ${outage.platforms.join(", ")}, so what failed or did not run from then on is the machine's fault, not the host's. ` +
    "Find out why the engine stopped (its log, e.g. /var/log/distcheck-dockerd.log or `journalctl -u docker`) and run again."
  );
}
