import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import path from "node:path";
import { execa, type ResultPromise } from "execa";
import { CONTRACT } from "../contract/contract.ts";
import { DockerEngine, resolveEndpoint } from "../engine/docker-engine.ts";
import { DistcheckError } from "../errors/distcheck-error.ts";
import { hostAdapter } from "../hosts/host-adapters.ts";
import { enginesFor, select, type Selection } from "../matrix/selection.ts";
import { isPep440Specifier, specifierBoundaries } from "../oracle/pep440.ts";
import { generateAllureReport } from "../report/allure-generator.ts";
import { currentRun } from "../run/run-identity.ts";
import { startSuites } from "../run/suite-process.ts";
import { sweep } from "../run/run-sweeper.ts";
import { removeScratchDir, scratchDir } from "../run/scratch.ts";
import { TaskRunner } from "../run/task-runner.ts";
import { classifyArtifact, type ArtifactKind } from "./artifact-kind.ts";
import { writeBundle, type CellResult } from "./bundle-writer.ts";
import { certifyExitCode, deriveVerdict, sortFindings, STATIC_CELL, type CertificationDocument, type Finding } from "./certification-document.ts";
import { renderMarkdown } from "./certification-markdown.ts";
import { ArtifactError, SigningKeyError } from "./certify-errors.ts";
import { loadPrivateKey } from "./dsse-signer.ts";
import { CERTIFY_PLAN_VARIABLE, type CellResultsOfJob, type CertifyJob, type CertifyPlan, type PlannedArtifact, type PlannedFile } from "./dynamic-plan.ts";
import { harnessIdentity } from "./harness-identity.ts";
import { certifyCommand } from "./reproduce-guide.ts";
import { checkOne, type StaticResult } from "./static-certifier.ts";

/** One certification: the artifacts of one extension, optionally its previous release and a folder of dependency wheels. */
export interface CertifyRequest {
  artifacts: string[];
  previous?: string;
  deps?: string;
}

export interface CertifyRunOptions {
  requests: CertifyRequest[];
  /** Host id of the matrix. @default "reference" */
  host?: string;
  platform?: string[];
  python?: string[];
  matrix?: string;
  /** Bundle signing key (PEM, ed25519 private); read and checked before anything runs. */
  signKey?: string;
  /** Where each certification's outputs go; several requests get one subfolder each. */
  out: string;
  strict?: boolean;
  /** The certification suite's own output to stderr instead of stdout (a caller whose stdout is JSON). */
  suiteOutputToStderr?: boolean;
  progress: (line: string) => void;
  interrupts?: (stop: (reason: string) => void) => () => void;
}

/** What one certification produced. */
export interface CertifyOutcome {
  document: CertificationDocument;
  dir: string;
  files: string[];
  bundle?: { path: string; sha256: string; keyId: string };
  exitCode: number;
}

const kindFamily = { wheel: "WHL", archive: "ARC" } as const;

async function sha256File(file: string): Promise<string> {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

function readKey(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new SigningKeyError("key_unreadable", `cannot read the signing key ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). Give an ed25519 private key in PEM (openssl genpkey -algorithm ed25519 -out key.pem).`, { cause: error });
  }
}

/** `*.whl` of the --deps folder, refused clearly when it is not a folder. */
async function depsOf(dir: string | undefined): Promise<PlannedFile[]> {
  if (dir === undefined) return [];
  if (!existsSync(dir)) throw new DistcheckError("deps_missing", `--deps ${dir} does not exist. Give a folder of wheels the artifact's dependencies resolve from.`, { category: "input" });
  const files = readdirSync(dir).filter((f) => f.endsWith(".whl")).sort();
  return Promise.all(files.map(async (file) => ({ file, path: path.resolve(dir, file), sha256: await sha256File(path.join(dir, file)) })));
}

function planned(result: StaticResult): PlannedArtifact {
  const a: PlannedArtifact = {
    path: path.resolve(result.artifact.path),
    file: result.subject.file,
    sha256: result.subject.sha256,
    kind: result.artifact.kind,
    size: result.subject.size,
    name: result.subject.name,
    version: result.subject.version,
    manifest: result.facts.manifest ?? null,
  };
  if (result.facts.configSchema !== undefined) a.configSchema = result.facts.configSchema;
  if (result.facts.platform !== undefined) a.platform = result.facts.platform;
  return a;
}

/** WHL-08 probes: the edges of the first valid `requires_core_version` among the wheels. */
function coreProbes(artifacts: PlannedArtifact[]): CertifyJob["coreProbes"] {
  const spec = artifacts.map((a) => a.manifest?.requires_core_version).find((s): s is string => typeof s === "string" && s.trim() !== "" && isPep440Specifier(s));
  return spec === undefined ? [] : specifierBoundaries(spec).map((b) => ({ version: b.version, loads: b.contained, clause: b.clause }));
}

interface PreparedJob {
  job: CertifyJob;
  statics: StaticResult[];
  previous?: StaticResult;
  /** False when the static checks found the artifact invalid: nothing to install. */
  dynamic: boolean;
}

/**
 * Certifies artifacts: the static checks of their bytes, then (unless they are not valid artifacts)
 * the certification suite on every selected cell of the host, and per request a verdict document
 * (`certification.json`, `.md`), JUnit, the Allure report and, with a key, a signed bundle. Every
 * input is checked before any work: the key, the artifacts, the host's families; nothing is written
 * to `out` when one is bad.
 */
export async function runCertification(opts: CertifyRunOptions): Promise<CertifyOutcome[]> {
  const { progress } = opts;
  const hostId = opts.host ?? "reference";
  const signKey = opts.signKey === undefined ? undefined : readKey(opts.signKey);
  if (signKey !== undefined) loadPrivateKey(signKey);
  const selection = select({ matrix: opts.matrix, platform: opts.platform, python: opts.python, host: [hostId] });
  const matrixHost = selection.matrix.hosts.find((h) => h.id === hostId)!;
  const adapter = hostAdapter(matrixHost.adapter);
  const cells = selection.cells.filter((c) => c.host.id === hostId);
  const certifyHost = { id: hostId, entryPointGroup: adapter.entryPointGroup };

  const prepared: PreparedJob[] = [];
  for (const [index, request] of opts.requests.entries()) {
    if (request.artifacts.length === 0) throw new ArtifactError("artifact_missing", "No artifact given. Give the paths of wheels (.whl) or archives (.tar.gz, .tgz, .zip).");
    const kinds: ArtifactKind[] = [];
    for (const file of request.artifacts) kinds.push(await classifyArtifact(file));
    const kind = kinds[0]!.kind;
    if (kinds.some((k) => k.kind !== kind)) throw new ArtifactError("artifact_unrecognised", `${kinds.map((k) => `${k.fileName} (${k.kind})`).join(", ")}: certify wheels and archives separately; one certification is one extension of one kind.`);
    if (!adapter.families.includes(kindFamily[kind])) {
      throw new DistcheckError("host_cannot_run_artifact", `host ${hostId} does not implement ${kindFamily[kind]} (${kind} extensions); it implements ${adapter.families.join(", ")}. Pick a host that runs ${kind}s with --host (\`distcheck cells\` lists them).`, { category: "input" });
    }
    const names = kinds.map((k) => k.fileName);
    const repeated = names.find((n, i) => names.indexOf(n) !== i);
    if (repeated !== undefined) throw new ArtifactError("artifact_duplicate", `Two artifacts are named ${repeated}; findings name artifacts by file name, so certify them separately.`);
    const statics: StaticResult[] = [];
    for (const k of kinds) statics.push(await checkOne(k, certifyHost));
    const previous = request.previous === undefined ? undefined : await checkOne(await classifyArtifact(request.previous), certifyHost);
    const invalid = statics.some((s) => s.findings.some((f) => f.status === "fail" && f.invalidatesArtifact));
    const artifacts = statics.map(planned);
    const job: CertifyJob = {
      id: `job-${index + 1}`,
      host: hostId,
      artifacts,
      deps: await depsOf(request.deps),
      coreProbes: kind === "wheel" ? coreProbes(artifacts) : [],
      reproduce: certifyCommand(names, hostId),
    };
    if (previous) job.previous = planned(previous);
    prepared.push({ job, statics, ...(previous ? { previous } : {}), dynamic: !invalid });
  }

  // The host's source last: an artifact a host cannot run is refused first, whether or not its source is here.
  adapter.checkSource(matrixHost.source);
  const run = currentRun();
  const reportsDir = path.resolve(opts.out, "allure");
  const dynamicJobs = prepared.filter((p) => p.dynamic).map((p) => p.job);
  const results = new Map<string, CellResultsOfJob>();
  const images: Record<string, { id?: string; digest?: string }> = {};
  if (dynamicJobs.length > 0 && cells.length > 0) {
    const work = scratchDir();
    const plan: CertifyPlan = { jobs: dynamicJobs, resultsDir: path.join(work, "certify-results") };
    const planFile = path.join(work, "certify-plan.json");
    writeFileSync(planFile, JSON.stringify(plan, null, 2));
    const allureResults = path.join(work, "allure-results");
    await runSuite(selection, hostId, opts, planFile, allureResults, run, progress);
    for (const job of dynamicJobs) {
      for (const cell of cells) {
        const file = path.join(plan.resultsDir, job.id, `${cell.id}.json`);
        if (existsSync(file)) results.set(`${job.id}/${cell.id}`, JSON.parse(readFileSync(file, "utf8")) as CellResultsOfJob);
      }
    }
    for (const cell of cells) {
      const tag = [...results.values()].find((r) => r.cell === cell.id)?.image;
      if (!tag) continue;
      const engine = new DockerEngine(resolveEndpoint(cell.platform.engine));
      const image = await engine.inspectImage(tag).catch(() => undefined);
      images[cell.id] = image ? { id: image.id } : {};
    }
    mkdirSync(reportsDir, { recursive: true });
    rmSync(path.join(reportsDir, "allure-results"), { recursive: true, force: true });
    if (existsSync(allureResults)) {
      await execa("cp", ["-r", allureResults, path.join(reportsDir, "allure-results")]);
    }
    removeScratchDir();
  }

  const outcomes: CertifyOutcome[] = [];
  for (const p of prepared) {
    const dir = prepared.length === 1 ? path.resolve(opts.out) : path.resolve(opts.out, p.job.id);
    const findings: Finding[] = p.statics.flatMap((s) => s.findings);
    const cellResults: CellResult[] = [];
    const executed: string[] = [];
    for (const cell of cells) {
      const r = results.get(`${p.job.id}/${cell.id}`);
      if (!r) continue;
      findings.push(...r.findings);
      if (r.completed) executed.push(cell.id);
      cellResults.push({ cell: cell.id, findings: sortFindings(r.findings), logs: r.logs });
    }
    const declared = p.dynamic ? cells.map((c) => c.id) : [];
    const sorted = sortFindings(findings);
    const document: CertificationDocument = {
      schemaVersion: 1,
      tool: harnessIdentity(),
      contract: { version: CONTRACT.version, sha256: CONTRACT.sha256 },
      host: { id: hostId, entryPointGroup: adapter.entryPointGroup, version: adapter.defaultVersion(matrixHost.source) },
      generatedAt: new Date().toISOString(),
      subjects: p.statics.map((s) => s.subject),
      matrix: { declared, executed },
      findings: sorted,
      verdict: deriveVerdict(sorted, declared, executed),
    };
    const staticCell: CellResult = { cell: STATIC_CELL, findings: sortFindings(p.statics.flatMap((s) => s.findings)) };
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "certification.json"), `${JSON.stringify(document, null, 2)}\n`);
    writeFileSync(path.join(dir, "certification.md"), renderMarkdown(document));
    writeFileSync(path.join(dir, "junit.xml"), certificationJunit(document));
    const files = ["certification.json", "certification.md", "junit.xml"];
    let bundle: CertifyOutcome["bundle"];
    if (signKey !== undefined) {
      const written = await writeBundle(document, [staticCell, ...cellResults], { host: document.host, images }, signKey, path.join(dir, "certification.tar.gz"));
      bundle = { path: written.path, sha256: written.sha256, keyId: written.keyId };
      files.push("certification.tar.gz");
    }
    outcomes.push({ document, dir, files, ...(bundle ? { bundle } : {}), exitCode: certifyExitCode(document.verdict, { strict: opts.strict }) });
  }
  if (existsSync(path.join(reportsDir, "allure-results"))) {
    await generateAllureReport({ dir: reportsDir, results: path.join(reportsDir, "allure-results"), runId: run.runId, reportsRoot: reportsDir, variables: { host: hostId, contract: CONTRACT.version } }).catch((error: unknown) => progress(`allure report not generated: ${(error as Error).message}`));
  }
  return outcomes;
}

/** The certification suite in one vitest process per engine, with the run's sweep before and after. */
async function runSuite(selection: Selection, hostId: string, opts: CertifyRunOptions, planFile: string, allureResults: string, run: ReturnType<typeof currentRun>, progress: (line: string) => void): Promise<void> {
  const engines = enginesFor(selection.matrix);
  const abort = new AbortController();
  let child: ResultPromise | undefined;
  let interrupted = false;
  const unsubscribe = opts.interrupts?.((reason) => {
    progress(`${reason}: stopping, cleaning up`);
    interrupted = true;
    abort.abort();
    child?.kill("SIGTERM");
  });
  const runner = new TaskRunner(progress);
  const result = await runner.run(
    [
      { title: "check engines", setup: async () => { for (const { engine } of engines) await engine.version(); } },
      {
        title: "certification suite",
        setup: async (signal) => {
          for (const { platforms, engine } of engines) {
            if (signal.aborted) return;
            progress(`certifying on ${engine.endpoint} for ${platforms.join(", ")}`);
            child = startSuites(selection, "certify", [], { runId: run.runId, ownerPid: run.ownerPid, parentPid: process.pid, platforms, pythons: opts.python, hosts: [hostId], resultsDir: allureResults }, { [CERTIFY_PLAN_VARIABLE]: planFile }, { stdoutToStderr: opts.suiteOutputToStderr });
            await child;
            child = undefined;
          }
        },
        teardown: async () => {
          for (const { engine } of engines) await sweep(engine, run);
        },
      },
    ],
    abort.signal,
  );
  unsubscribe?.();
  if (interrupted || result.status === "interrupted") throw new DistcheckError("certify_interrupted", "the certification was interrupted; everything it created was removed and nothing was written to --out.", { category: "infrastructure" });
  if (result.error) throw result.error;
}

const xml = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** JUnit of a certification: one testsuite per cell, one testcase per finding (errors and harness errors fail, warnings are system-out). */
export function certificationJunit(doc: CertificationDocument): string {
  const cells = [...new Set(doc.findings.map((f) => f.cell))].sort();
  const suites = cells.map((cell) => {
    const fs = doc.findings.filter((f) => f.cell === cell);
    const failures = fs.filter((f) => f.status === "fail" && f.severity === "error").length;
    const errors = fs.filter((f) => f.status === "harness-error").length;
    const skipped = fs.filter((f) => f.status === "not-applicable").length;
    const cases = fs.map((f) => {
      const name = xml(`${f.clause} ${f.checkId} [${f.subject}]`);
      const body =
        f.status === "fail" && f.severity === "error"
          ? `<failure message="${xml(f.detail)}" type="${xml(f.checkId)}"/>`
          : f.status === "harness-error"
            ? `<error message="${xml(f.detail)}" type="harness-error"/>`
            : f.status === "not-applicable"
              ? `<skipped message="${xml(f.detail)}"/>`
              : f.status === "fail"
                ? `<system-out>${xml(`${f.severity}: ${f.detail}`)}</system-out>`
                : "";
      return `    <testcase classname="${xml(`certify.${cell}`)}" name="${name}">${body}</testcase>`;
    });
    return `  <testsuite name="${xml(cell)}" tests="${fs.length}" failures="${failures}" errors="${errors}" skipped="${skipped}">\n${cases.join("\n")}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="distcheck certify ${xml(doc.subjects.map((s) => s.file).join(", "))}: ${doc.verdict}">\n${suites.join("\n")}\n</testsuites>\n`;
}
