import os from "node:os";
import { parseArgs } from "node:util";
import { DistcheckError } from "../src/errors/distcheck-error.ts";

/** The parts of a benchmark round, and the growth measurement after the rounds. */
export const PARTS = ["a", "b", "c", "scale"] as const;
export type Part = (typeof PARTS)[number];

/** Which suites a round runs: `small` (discovery and hostile-archives) or every suite of the default matrix. */
export type Workload = "small" | "default";

/** What `npm run bench` measures. Command line only; every field has its default here. */
export interface BenchOptions {
  /** @default "small" */
  workload: Workload;
  /** Rounds of (a), (b), (c) in turn. @default 1 */
  rounds: number;
  /** Sample-wheel counts of the discovery growth measurement. @default [10, 50, 200] */
  scale: number[];
  /** Cases the naive loop runs per round; the rest is extrapolated. @default 8 */
  naiveSample: number;
  /** How many hosts the floor handles at once. @default the machine's cores */
  floorConcurrency: number;
  /** Which parts run. @default every part */
  parts: Part[];
  /** Where `bench/<id>.json` and the runs' logs go. @default "reports" */
  reports: string;
  /** Print the result as JSON on stdout instead of the table. @default false */
  json: boolean;
}

/** A bad option value: exit 2 with the valid choices. */
export class BenchUsageError extends DistcheckError {
  constructor(message: string) {
    super("bench_usage", message, { category: "input" });
    this.name = "BenchUsageError";
  }
}

export const BENCH_USAGE = `Usage: npm run bench -- [options]

Interleaves, on the same workload, (a) distcheck, (b) a naive shell loop (one container per case,
sequential) and (c) the floor (the same container starts, installs, boots and HTTP calls as (a), no
assertions, as parallel as the cores allow), then measures how (a)'s discovery grows with the number
of sample wheels. Progress on stderr, the table on stdout, the result in <reports>/bench/<id>.json.

Options:
  --workload small|default   small: discovery + hostile-archives on every default cell (default: small)
  --rounds N                 rounds of a, b, c in turn (default: 1)
  --scale N,N,...            sample-wheel counts of the discovery growth measurement (default: 10,50,200)
  --naive-sample N           cases the naive loop runs per round, extrapolated to all (default: 8)
  --floor-concurrency N      hosts the floor handles at once (default: the machine's cores)
  --parts a,b,c,scale        only these parts (default: all)
  --reports DIR              where bench/<id>.json goes (default: reports)
  --json                     print the result as JSON instead of the table
  -h, --help                 this text`;

function positiveInteger(flag: string, value: string, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new BenchUsageError(`${flag} must be an integer >= ${min} (got ${JSON.stringify(value)})`);
  return n;
}

/** Parses the bench's command line; `undefined` when help was asked for. */
export function parseBenchOptions(argv: string[], cores = os.availableParallelism()): BenchOptions | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        workload: { type: "string" },
        rounds: { type: "string" },
        scale: { type: "string" },
        "naive-sample": { type: "string" },
        "floor-concurrency": { type: "string" },
        parts: { type: "string" },
        reports: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new BenchUsageError(`${(error as Error).message}\n\n${BENCH_USAGE}`);
  }
  const v = parsed.values;
  if (v.help) return undefined;
  const workload = v.workload ?? "small";
  if (workload !== "small" && workload !== "default") throw new BenchUsageError(`--workload must be one of small, default (got ${JSON.stringify(workload)})`);
  const scale = v.scale === undefined ? [10, 50, 200] : v.scale.split(",").filter((s) => s.trim() !== "").map((s) => positiveInteger("--scale", s.trim()));
  if (new Set(scale).size !== scale.length) throw new BenchUsageError(`--scale lists a count twice (got ${v.scale})`);
  const parts = v.parts === undefined ? [...PARTS] : v.parts.split(",").map((p) => p.trim());
  for (const p of parts) if (!(PARTS as readonly string[]).includes(p)) throw new BenchUsageError(`--parts takes ${PARTS.join(", ")} (got ${JSON.stringify(p)})`);
  if (parts.length === 0) throw new BenchUsageError(`--parts names no part; choose from ${PARTS.join(", ")}`);
  // (b) and (c) run the cases (a) ran in the same round: without (a) they have no workload.
  if ((parts.includes("b") || parts.includes("c")) && !parts.includes("a")) throw new BenchUsageError("--parts b and c need a: they run the cases (a) ran in the same round");
  return {
    workload,
    rounds: v.rounds === undefined ? 1 : positiveInteger("--rounds", v.rounds),
    scale: [...scale].sort((x, y) => x - y),
    naiveSample: v["naive-sample"] === undefined ? 8 : positiveInteger("--naive-sample", v["naive-sample"]),
    floorConcurrency: v["floor-concurrency"] === undefined ? cores : positiveInteger("--floor-concurrency", v["floor-concurrency"]),
    parts: PARTS.filter((p) => parts.includes(p)),
    reports: v.reports ?? "reports",
    json: v.json ?? false,
  };
}
