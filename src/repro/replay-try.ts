import { createWriteStream, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa, type ResultPromise } from "execa";
import { resolveEndpoint } from "../engine/docker-engine.ts";
import type { Selection } from "../matrix/selection.ts";
import { readRecords } from "../report/records-reader.ts";
import { readRunEnvironment } from "../report/run-environment.ts";
import { toEnv, type RunProtocol } from "../run/run-protocol.ts";
import { failureSignature, type TryOutcome } from "./classification.ts";
import type { ReproTarget } from "./recorded-run.ts";
import type { CellIdentity } from "../report/test-identity.ts";
import { fixtureDifferences } from "./fixture-check.ts";

/** A regular expression that matches exactly this text (vitest's `-t` is a pattern). */
export function exactPattern(text: string): string {
  return `^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`;
}

const shellWord = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);

/** How one try is started: the vitest arguments and the run protocol. */
export interface TryPlan {
  args: string[];
  protocol: RunProtocol;
}

/**
 * One try: vitest on the test's file, `-t` its exact full name, never retried, on the one cell
 * (platform, base, host filters), with the recorded run's mutant, in a run of its own.
 */
export function planTry(target: ReproTarget, selection: Selection, opts: { project: string; runId: string; resultsDir: string; mutant?: string }): TryPlan {
  return planCellTry(target.cell, [target.file, "-t", exactPattern(target.fullName)], selection, opts);
}

/** A try of whatever `files` (and vitest filters) select, on one cell: the tests of a bundle cell, or one test. */
export function planCellTry(cell: CellIdentity, files: string[], selection: Selection, opts: { project: string; runId: string; resultsDir: string; mutant?: string }): TryPlan {
  const target = { cell };
  const engine = selection.matrix.platforms.find((p) => p.id === target.cell.platform)?.engine ?? "env";
  return {
    args: ["vitest", "run", "--project", opts.project, ...files, "--retry=0"],
    protocol: {
      runId: opts.runId,
      ownerPid: process.pid,
      // The vitest process removes the try's containers when this process dies.
      parentPid: process.pid,
      matrixFile: selection.matrixFile,
      platforms: [target.cell.platform],
      pythons: [target.cell.base],
      hosts: [target.cell.host],
      // The image check settled which images exist; a replay never builds one.
      skipImageBuild: true,
      resultsDir: opts.resultsDir,
      mutant: opts.mutant,
      dockerHost: resolveEndpoint(engine),
    },
  };
}

/** The shell line that starts this try by hand (the variables of its run protocol, then npx vitest). */
export function tryCommandLine(plan: TryPlan): string {
  const env = Object.entries(toEnv(plan.protocol)).filter(([k, v]) => v !== "" && !["DISTCHECK_OWNER_PID", "DISTCHECK_PARENT_PID", "DISTCHECK_RUN_ID"].includes(k));
  return [...env.map(([k, v]) => `${k}=${shellWord(v)}`), "npx", ...plan.args.map(shellWord)].join(" ");
}

/**
 * The environment of the vitest child: this process's, without what a surrounding vitest (a test of
 * repro itself) or an earlier run set, then the try's protocol.
 */
function childEnv(plan: TryPlan, extra: Record<string, string>): Record<string, string> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !e[0].startsWith("VITEST") && !e[0].startsWith("DISTCHECK_") && e[0] !== "NODE_ENV" && e[0] !== "TEST"),
  );
  return { ...inherited, ...toEnv(plan.protocol), ...extra };
}

export interface TryRun {
  outcome?: TryOutcome;
  /** vitest's exit code. */
  exitCode: number;
  logFile: string;
}

/**
 * Runs one try and reads its test's record back. No record (vitest did not run the test: a file
 * that did not load, a setup that failed before the cell) leaves `outcome` undefined; the caller
 * decides. vitest's output goes to `vitest.log` in `dir`, and to `echo` as it comes.
 */
export async function runTry(
  n: number,
  target: ReproTarget,
  plan: TryPlan,
  opts: { root: string; dir: string; echo?: (text: string) => void; onChild?: (child: ResultPromise | undefined) => void; extraEnv?: Record<string, string> },
): Promise<TryRun> {
  const started = performance.now();
  const { exitCode, logFile } = await runVitest(plan, opts);
  const wallMs = performance.now() - started;
  const record = readRecords([plan.protocol.resultsDir!]).get(target.key);
  if (record) writeFileSync(path.join(opts.dir, "record.json"), JSON.stringify(record, null, 2));
  if (!record || record.state === "pending") return { exitCode, logFile };
  const environment = readRunEnvironment([plan.protocol.resultsDir!]);
  const timingFactor = environment?.timingFactors[target.cell.platform];
  const fixtures = fixtureDifferences(target.fixtures, environment?.fixtures);
  const recordedSignature = failureSignature(target.recorded.errors);
  const outcome: TryOutcome = {
    n,
    state: record.state,
    durationMs: record.durationMs,
    wallMs,
    timingFactor,
    errors: record.errors,
    ...(fixtures ? { fixtureDifferences: fixtures } : {}),
    ...(record.state === "failed" ? { sameFailure: target.recorded.state === "failed" && failureSignature(record.errors) === recordedSignature } : {}),
  };
  return { outcome, exitCode, logFile };
}

/** Runs one vitest process of a try; its output goes to `vitest.log` in `dir` and to `echo` as it comes. */
export async function runVitest(plan: TryPlan, opts: { root: string; dir: string; echo?: (text: string) => void; onChild?: (child: ResultPromise | undefined) => void; extraEnv?: Record<string, string> }): Promise<{ exitCode: number; logFile: string }> {
  mkdirSync(opts.dir, { recursive: true });
  const logFile = path.join(opts.dir, "vitest.log");
  const log = createWriteStream(logFile);
  // vitest itself, not through npx (as startSuites does): an interrupt's SIGTERM must reach vitest.
  const [bin, ...args] = plan.args;
  const child = execa(bin!, args, { cwd: opts.root, preferLocal: true, localDir: opts.root, env: childEnv(plan, opts.extraEnv ?? {}), extendEnv: false, reject: false, all: true, stdin: "ignore" });
  opts.onChild?.(child);
  child.all?.on("data", (chunk: Buffer) => {
    log.write(chunk);
    opts.echo?.(chunk.toString("utf8"));
  });
  const result = await child;
  opts.onChild?.(undefined);
  await new Promise<void>((resolve) => log.end(resolve));
  return { exitCode: result.exitCode ?? 1, logFile };
}
