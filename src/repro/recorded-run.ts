import { existsSync, readdirSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import { readRecords } from "../report/records-reader.ts";
import { readRunEnvironment, type RunEnvironment } from "../report/run-environment.ts";
import { testId, type CellIdentity } from "../report/test-identity.ts";
import type { TestRecord, TestRecordError } from "../report/test-record.ts";
import { ReproInputError } from "./repro-errors.ts";

/** A published run as `distcheck repro --from` reads it: its test records and what it ran on. */
export interface RecordedRun {
  runId: string;
  /** reports/<run-id>, resolved (reports/latest names the run it points at). */
  dir: string;
  resultsDir: string;
  /** Test id (`testId(key)`) → record. */
  records: Map<string, TestRecord>;
  environment?: RunEnvironment;
}

/** One recorded test to replay, with everything the replay must match. */
export interface ReproTarget {
  /** The test's stable id (its record's file name). */
  id: string;
  key: string;
  file: string;
  suite: string;
  suitePath: string[];
  name: string;
  /** The name vitest matches `-t` against: describe names and the test's name, joined by spaces. */
  fullName: string;
  cell: CellIdentity;
  /** What the run recorded for it. */
  recorded: { runId: string; state: TestRecord["state"]; errors: TestRecordError[] };
  /** The mutant the run's reference host was built with. */
  mutant?: string;
  /** The host version the run tested. */
  hostVersion?: string;
  /** The images the run recorded for the cell (tags and the ids they had then). */
  images?: RunEnvironment["images"][string];
  /** The timing factor the run measured for the cell's platform. */
  timingFactor?: number;
  /** The sha256 of every fixture file the run had (absent in runs older than this record). */
  fixtures?: Record<string, string>;
}

const MAX_LISTED = 15;

function runsUnder(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((d) => d !== "latest" && existsSync(path.join(root, d, "results")))
    .sort((a, b) => statSync(path.join(root, b)).mtimeMs - statSync(path.join(root, a)).mtimeMs);
}

/**
 * Opens the run at `from`: a report folder (`reports/<run-id>`, `reports/latest`) or a bare run id
 * under `reportsRoot`. A folder without test records is `run_not_found`, with the newest runs there.
 */
export function openRun(from: string, reportsRoot: string): RecordedRun {
  const candidates = [path.resolve(from), path.join(reportsRoot, from)];
  const found = candidates.find((c) => existsSync(path.join(c, "results", "distcheck")));
  if (!found) {
    const known = runsUnder(reportsRoot).slice(0, 5);
    throw new ReproInputError(
      "run_not_found",
      `No published run at ${from}: neither ${candidates.map((c) => path.join(c, "results", "distcheck")).join(" nor ")} holds test records. ` +
        (known.length > 0 ? `Runs under ${reportsRoot}, newest first: ${known.join(", ")}.` : `There is no run under ${reportsRoot}; run \`distcheck run\` first.`) +
        " Pass --from reports/<run-id>.",
    );
  }
  const dir = realpathSync(found);
  const resultsDir = path.join(dir, "results");
  const records = new Map<string, TestRecord>();
  for (const r of readRecords([resultsDir]).values()) records.set(testId(r.key), r);
  return { runId: path.basename(dir), dir, resultsDir, records, environment: readRunEnvironment([resultsDir]) };
}

/** The newest run under `reportsRoot` (for `--last-failed`): the one `latest` points at, else the newest folder with test records. */
export function newestRun(reportsRoot: string): RecordedRun {
  if (existsSync(path.join(reportsRoot, "latest", "results", "distcheck"))) return openRun(path.join(reportsRoot, "latest"), reportsRoot);
  const newest = runsUnder(reportsRoot)[0];
  if (!newest) throw new ReproInputError("run_not_found", `There is no run with test records under ${reportsRoot}. Run \`distcheck run\` first, or pass --reports DIR.`);
  return openRun(path.join(reportsRoot, newest), reportsRoot);
}

/** What a person sees of a test in lists: `<id>  <cell>: <name>`. */
export function describeTest(id: string, r: TestRecord): string {
  return `${id}  ${r.cell?.id ?? "(no cell)"}: ${r.name}`;
}

function targetOf(run: RecordedRun, id: string, r: TestRecord): ReproTarget {
  if (!r.cell) throw new ReproInputError("test_not_found", `Test ${describeTest(id, r)} of run ${run.runId} ran on no cell (its describe names no platform.base.host), so there is nothing to replay it on.`);
  const env = run.environment;
  return {
    id,
    key: r.key,
    file: r.file,
    suite: r.suite,
    suitePath: r.suitePath,
    name: r.name,
    fullName: [...r.suitePath, r.name].join(" "),
    cell: r.cell,
    recorded: { runId: run.runId, state: r.state, errors: r.errors },
    mutant: env?.mutant,
    hostVersion: env?.hostVersions?.[r.cell.host] ?? (r.cell.host === "reference" ? env?.hostVersion : undefined),
    images: env?.images[r.cell.id],
    timingFactor: env?.timingFactors[r.cell.platform],
    fixtures: env?.fixtures,
  };
}

/**
 * The test `query` names in `run`, as the report and the run's records show it: its id (or a
 * prefix of at least 6 hex digits), its key (`file#describe name`), `<cell>: <name>` (as the
 * mutation report lists failures), its exact name, or a part of its full name. `cell` narrows a
 * name that several cells ran. None is `test_not_found` (listing the run's failing tests), several
 * `test_ambiguous` (listing them, with their ids).
 */
export function findTest(run: RecordedRun, query: string, cell?: string): ReproTarget {
  const all = [...run.records.entries()].filter(([, r]) => !cell || r.cell?.id === cell);
  const q = query.trim();
  const matchers: Array<(id: string, r: TestRecord) => boolean> = [
    (id) => id === q.toLowerCase(),
    (id) => /^[0-9a-f]{6,23}$/i.test(q) && id.startsWith(q.toLowerCase()),
    (_, r) => r.key === q,
    (_, r) => `${r.cell?.id}: ${r.name}` === q,
    (_, r) => r.name === q,
    (_, r) => [...r.suitePath, r.name].join(" ").includes(q),
  ];
  for (const match of matchers) {
    const hits = all.filter(([id, r]) => match(id, r));
    if (hits.length === 1) return targetOf(run, hits[0]![0], hits[0]![1]);
    if (hits.length > 1) {
      throw new ReproInputError(
        "test_ambiguous",
        `"${q}" names ${hits.length} tests of run ${run.runId}:\n${hits.slice(0, MAX_LISTED).map(([id, r]) => `  ${describeTest(id, r)}`).join("\n")}${hits.length > MAX_LISTED ? `\n  ... ${hits.length - MAX_LISTED} more` : ""}\nName one by its id (the first column), or add --cell ID.`,
      );
    }
  }
  const failing = all.filter(([, r]) => r.state === "failed");
  throw new ReproInputError(
    "test_not_found",
    `No test of run ${run.runId}${cell ? ` on cell ${cell}` : ""} matches "${q}" (${all.length} test(s) recorded). ` +
      (failing.length > 0
        ? `Its failing tests:\n${failing.slice(0, MAX_LISTED).map(([id, r]) => `  ${describeTest(id, r)}`).join("\n")}${failing.length > MAX_LISTED ? `\n  ... ${failing.length - MAX_LISTED} more` : ""}\nName one by its id (the first column), its name, or \`<cell>: <name>\`.`
        : "None of its tests failed; name a test by its id (the record's file name under results/distcheck/) or its name."),
  );
}

/** Every failing test of `run` (for `--last-failed`), in a stable order. */
export function failingTests(run: RecordedRun): ReproTarget[] {
  return [...run.records.entries()]
    .filter(([, r]) => r.state === "failed" && r.cell)
    .sort(([, a], [, b]) => a.key.localeCompare(b.key))
    .map(([id, r]) => targetOf(run, id, r));
}
