import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { READY_BOUND_MS } from "../src/hosts/booted-host.ts";
import type { Cell } from "../src/matrix/matrix.ts";
import { qemuEnv } from "../src/platform/platforms.ts";
import { casePlan, type PlanContext, type Step } from "./case-plans.ts";
import { extrapolate, pickSample, type Extrapolation } from "./extrapolation.ts";
import { isPhase, PHASES, zeroPhases, type Phase } from "./phases.ts";
import type { BenchCase } from "./workload.ts";

/** What the naive loop printed about one case. */
export interface NaiveCaseOutput {
  phases: Record<Phase, number>;
  wallMs?: number;
  result?: "pass" | "fail" | "error";
  detail?: string;
}

/** Reads naive-loop.sh's output (see its header): phases summed per case, the wall time and the result. */
export function parseNaiveOutput(text: string): Map<string, NaiveCaseOutput> {
  const out = new Map<string, NaiveCaseOutput>();
  for (const line of text.split("\n")) {
    const [tag, name, kind, what, value] = line.split("\t");
    if (tag !== "case" || !name || !kind) continue;
    let c = out.get(name);
    if (!c) out.set(name, (c = { phases: zeroPhases() }));
    if (kind === "phase" && what && isPhase(what)) c.phases[what] += Number(value);
    else if (kind === "wall") c.wallMs = Number(value);
    else if (kind === "result" && (what === "pass" || what === "fail" || what === "error")) {
      c.result = what;
      c.detail = value ?? "";
    }
  }
  return out;
}

/** One step as a line of the case's `steps` file; a request body goes to its own file. */
export function stepLine(step: Step, writeBody: (body: unknown) => string): string {
  switch (step.op) {
    case "pip":
      return ["pip", step.args.join(" ")].join("\t");
    case "boot":
    case "restart":
      return step.op;
    case "serve":
      return ["serve", step.dir, String(step.port)].join("\t");
    case "call":
      return ["call", step.method, step.path, step.body === undefined ? "-" : writeBody(step.body), step.status, step.query ?? "-", step.expect ?? "-"].join("\t");
    case "wait":
      return ["wait", step.path, step.query, step.expect, String(step.timeoutS)].join("\t");
  }
}

const shellValue = (v: string): string => `'${v.replace(/'/g, "'\\''")}'`;

/** Writes a case folder for naive-loop.sh. */
function writeCase(dir: string, name: string, ctx: PlanContext, c: BenchCase, cell: Cell): void {
  const plan = casePlan(ctx, c, cell);
  mkdirSync(path.join(dir, "files"), { recursive: true });
  for (const f of plan.files) {
    const target = path.join(dir, "files", f.target);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, f.content);
  }
  let bodies = 0;
  const writeBody = (body: unknown): string => {
    const file = `body-${++bodies}.json`;
    writeFileSync(path.join(dir, file), JSON.stringify(body));
    return file;
  };
  writeFileSync(path.join(dir, "steps"), `${plan.steps.map((s) => stepLine(s, writeBody)).join("\n")}\n`);
  const launch = ctx.adapter.launch({});
  const env: Record<string, string> = {
    NAME: name,
    CELL: cell.id,
    IMAGE: plan.image,
    PLATFORM: cell.platform.info.docker,
    QEMU_CPU: qemuEnv(cell.platform.info).QEMU_CPU ?? "",
    PORT: String(launch.port ?? ctx.adapter.port),
    PIDFILE: ctx.adapter.pidFile,
    HOST_CMD: launch.command.map(shellValue).join(" "),
    BOOT_TIMEOUT: String(Math.ceil((READY_BOUND_MS / 1000) * ctx.factor(cell))),
  };
  writeFileSync(path.join(dir, "case.env"), `${Object.entries(env).map(([k, v]) => `${k}=${shellValue(v)}`).join("\n")}\n`);
}

/** One sampled case as the naive loop ran it. */
export interface NaiveCaseResult {
  caseId: string;
  /** Its folder, and the label of its container. */
  folder: string;
  cell: string;
  kind: string;
  name: string;
  result: "pass" | "fail" | "error";
  detail: string;
  wallMs: number;
  phases: Record<Phase, number>;
}

export interface NaiveResult {
  runId: string;
  /** The sampled cases, measured. */
  cases: NaiveCaseResult[];
  /** Wall time of the sample (the loop is sequential). */
  measuredWallMs: number;
  /** The loop's wall time over every case of the workload, estimated. */
  wall: Extrapolation;
  /** Each phase's total over every case, estimated the same way. */
  phases: Record<Phase, number>;
}

/**
 * Runs naive-loop.sh on a sample of the cases (sequential, as the loop is) and extrapolates its wall
 * time and phases to every case.
 */
export async function runNaive(options: {
  cases: BenchCase[];
  sample: number;
  ctx: PlanContext;
  cellOf: (id: string) => Cell;
  runId: string;
  labels: Record<string, string>;
  workDir: string;
  script: string;
  progress: (line: string) => void;
  signal?: AbortSignal;
}): Promise<NaiveResult> {
  const { cases, ctx, cellOf, workDir, progress } = options;
  const sampled = pickSample(cases, options.sample);
  const names = new Map<string, BenchCase>();
  const dirs = sampled.map((c, i) => {
    const name = `case-${String(i + 1).padStart(3, "0")}`;
    const dir = path.join(workDir, name);
    writeCase(dir, name, ctx, c, cellOf(c.cell));
    names.set(name, c);
    return dir;
  });
  const started = performance.now();
  const child = spawn("bash", [options.script, ...dirs], {
    env: { ...process.env, NAIVE_LABELS: Object.entries(options.labels).map(([k, v]) => `${k}=${v}`).join("\n") },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const abort = (): void => {
    child.kill("SIGTERM");
  };
  options.signal?.addEventListener("abort", abort);
  let text = "";
  const lines = createInterface({ input: child.stdout });
  lines.on("line", (line) => {
    text += `${line}\n`;
    const [, name, kind, what, detail] = line.split("\t");
    const c = name ? names.get(name) : undefined;
    if (kind === "result" && c) progress(`naive ${name} (${c.cell}, ${c.kind}): ${what}${what === "pass" ? "" : `: ${detail}`}`);
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
  const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? 1)));
  options.signal?.removeEventListener("abort", abort);
  const measuredWallMs = performance.now() - started;
  writeFileSync(path.join(workDir, "naive-loop.out"), text + (stderr ? `\n# stderr\n${stderr}` : ""));
  if (code !== 0) throw new Error(`naive-loop.sh exited with ${code}${stderr ? `: ${stderr.slice(-500)}` : ""}`);

  const parsed = parseNaiveOutput(text);
  const results: NaiveCaseResult[] = [];
  for (const [name, c] of names) {
    const out = parsed.get(name);
    if (!out?.result || out.wallMs === undefined) throw new Error(`naive-loop.sh printed no result for ${name} (${c.id})`);
    results.push({ caseId: c.id, folder: name, cell: c.cell, kind: c.kind, name: c.name, result: out.result, detail: out.detail ?? "", wallMs: out.wallMs, phases: out.phases });
  }
  const wall = extrapolate(cases, new Map(results.map((r) => [r.caseId, r.wallMs])));
  const phases = zeroPhases();
  for (const p of PHASES) phases[p] = extrapolate(cases, new Map(results.map((r) => [r.caseId, r.phases[p]]))).totalMs;
  return { runId: options.runId, cases: results, measuredWallMs, wall, phases };
}

/** The naive loop's processes over every case, estimated from its sampled cases' (like its wall time). */
export interface NaiveProcessEstimate {
  containers: number;
  execs: number;
  /** On platforms other than the machine's (every process under qemu); null when no emulated case was sampled. */
  emulatedContainers: number | null;
  emulatedExecs: number | null;
  label: string;
}

export function estimateNaiveProcesses(cases: readonly BenchCase[], measured: ReadonlyMap<string, { containers: number; execs: number }>, nativePlatform: string): NaiveProcessEstimate {
  const total = (subset: readonly BenchCase[], pick: (n: { containers: number; execs: number }) => number): number | null => {
    if (!subset.some((c) => measured.has(c.id))) return null;
    return extrapolate(subset, new Map([...measured].map(([id, n]) => [id, pick(n)]))).totalMs;
  };
  const emulated = cases.filter((c) => c.platform !== nativePlatform);
  return {
    containers: total(cases, (n) => n.containers) ?? 0,
    execs: total(cases, (n) => n.execs) ?? 0,
    emulatedContainers: total(emulated, (n) => n.containers),
    emulatedExecs: total(emulated, (n) => n.execs),
    label: extrapolate(cases, new Map([...measured].map(([id, n]) => [id, n.execs]))).label,
  };
}
