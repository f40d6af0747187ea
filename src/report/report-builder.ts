import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { createHash } from "node:crypto";
import { CONTRACT, citation, contractStamp, type ContractStamp } from "../contract/contract.ts";

const CONTRACT_CLAUSE_IDS = CONTRACT.clauses.map((c) => c.id);
import { DistcheckError } from "../errors/distcheck-error.ts";
import { ALLURE_CATEGORIES, categorise, type FailureCategory } from "./failure-category.ts";
import { readRunEnvironment, type RunEnvironment } from "./run-environment.ts";
import { familyOf } from "./test-identity.ts";
import { RECORDS_DIR, RUN_ERRORS_FILE, type RunErrors, type TestRecord } from "./test-record.ts";

/** The errors outside tests of every vitest process of the run (shards included). */
export function readRunErrors(dirs: readonly string[]): RunErrors {
  const out: RunErrors = { modules: [], unhandled: [] };
  for (const dir of dirs) {
    const recDir = path.join(dir, RECORDS_DIR);
    if (!existsSync(recDir)) continue;
    for (const f of readdirSync(recDir).filter((x) => x.startsWith(RUN_ERRORS_FILE))) {
      const e = JSON.parse(readFileSync(path.join(recDir, f), "utf8")) as RunErrors;
      out.modules.push(...e.modules);
      out.unhandled.push(...e.unhandled);
    }
  }
  return out;
}
import { hostGateReasons, hostVerdicts, isWaivedFailure, profilesOf, type HostProfile, type HostVerdicts, type NotApplicable, type Verdict } from "./host-verdicts.ts";

export type { HostProfile, Verdict } from "./host-verdicts.ts";

export interface ReportSummary {
  runId: string;
  generatedAt: string;
  /** `failed` counts failures no waiver covers; `waived` the failures waivers cover. */
  totals: { tests: number; passed: number; failed: number; skipped: number; waived: number };
  /** Failures by who is at fault. */
  categories: Record<FailureCategory, number>;
  cells: string[];
  platforms: string[];
  /** clause id → cell id → verdict (failed if any test of the clause failed there), every host's cells. */
  clauses: Record<string, Record<string, Verdict>>;
  /** Per host: its adapter, families, clause x cell verdicts, what is not applicable and why, the waivers applied. */
  hosts: Record<string, HostVerdicts>;
  /** Every not-applicable verdict's reason, all hosts. */
  notApplicable: NotApplicable[];
  gate: { passed: boolean; reasons: string[] };
  /** The contract the verdicts are against: version, SHA-256 of CONTRACT.md, clauses no suite covers yet. */
  contract: ContractStamp;
  environment?: RunEnvironment;
}

export interface BuildReportOptions {
  runId: string;
  /** Results directories: one per run, or one per shard to merge. */
  resultsDirs: string[];
  /** reports/ */
  reportsRoot: string;
  /** Clauses that must have run, and passed, on every platform for the gate. */
  requiredClauses: readonly string[];
  /** Platforms the run was meant to cover (from the matrix and filters). */
  platforms: readonly string[];
  /** Extra environment rows (e.g. a mutation score). */
  extraVariables?: Record<string, string>;
  /** The run's hosts: families, cells, cells that cannot run, waivers. Without them every clause counts for every cell. */
  hosts?: HostProfile[];
  progress?: (line: string) => void;
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, "utf8")) as T;
}

function readRecords(dirs: string[]): Map<string, TestRecord> {
  const records = new Map<string, TestRecord>();
  for (const dir of dirs) {
    const recDir = path.join(dir, RECORDS_DIR);
    if (!existsSync(recDir)) continue;
    for (const f of readdirSync(recDir)) {
      if (!f.endsWith(".json") || f === "environment.json" || f.startsWith(RUN_ERRORS_FILE)) continue;
      const r = readJson<TestRecord>(path.join(recDir, f));
      records.set(r.key, r);
    }
  }
  return records;
}

interface AllureResult {
  uuid: string;
  name: string;
  fullName?: string;
  status?: string;
  statusDetails?: { message?: string; trace?: string };
  /** Markdown; Allure renders it (raw HTML escaped) as the test's description. */
  description?: string;
  labels: Array<{ name: string; value: string }>;
  parameters: Array<{ name: string; value: string }>;
  attachments: Array<{ name: string; source: string; type: string }>;
}

/**
 * Joins Allure results (one dir or several shards) with distcheck's per-test records into one
 * enriched results dir: labels epic = clause family, feature = suite, story = clause id;
 * parameters platform / Debian suite / Python / host / host version; a failure category; and the
 * attachments the test's annotations carried.
 */
export function enrichResults(resultsDirs: string[], out: string, environment: RunEnvironment | undefined, pythonOf: (base: string) => string | undefined, hosts: readonly HostProfile[] = []): Map<string, TestRecord> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const records = readRecords(resultsDirs);
  const byKey = [...records.values()];
  const profiles = profilesOf(hosts, byKey);
  for (const dir of resultsDirs) {
    if (!existsSync(dir)) throw new DistcheckError("results_missing", `No results directory at ${dir}. Run the suites with DISTCHECK_RESULTS_DIR set (distcheck run does), or pass the shard folders to --merge.`);
    for (const f of readdirSync(dir)) {
      const src = path.join(dir, f);
      if (f.endsWith("-result.json")) {
        const result = readJson<AllureResult>(src);
        const record = byKey.find((r) => result.fullName?.endsWith(r.key));
        if (record) decorate(result, record, environment, pythonOf, out, profiles);
        writeFileSync(path.join(out, f), JSON.stringify(result));
      } else if (!lstatSync(src).isDirectory()) {
        copyFileSync(src, path.join(out, f));
      }
    }
  }
  return records;
}

function decorate(result: AllureResult, record: TestRecord, environment: RunEnvironment | undefined, pythonOf: (base: string) => string | undefined, out: string, profiles: ReadonlyMap<string, HostProfile>): void {
  const labels = result.labels.filter((l) => !["epic", "feature", "story"].includes(l.name));
  for (const family of new Set(record.clauses.map(familyOf))) labels.push({ name: "epic", value: family });
  labels.push({ name: "feature", value: record.suite });
  for (const clause of record.clauses) labels.push({ name: "story", value: clause });
  const category = categorise(record);
  if (category) labels.push({ name: "distcheck.category", value: category });
  if (record.cell) labels.push({ name: "tag", value: record.cell.platform });
  result.labels = labels;
  // A reader of a result sees what was promised, in the words of the contract version it was judged against.
  if (record.clauses.length > 0) result.description = [...record.clauses.map((c) => citation(c)), result.description].filter(Boolean).join("\n\n");
  if (record.state === "failed" && result.status !== "failed" && result.status !== "broken") {
    // Skipped by vitest because its suite's setup failed; the record carries the setup's error.
    result.status = "failed";
    result.statusDetails = { message: record.errors[0]?.message, trace: record.errors[0]?.stack };
  }
  const waived = isWaivedFailure(record, profiles);
  if (waived) {
    // Shown as waived, with the host's own line that causes it; the failure itself stays readable.
    result.status = "skipped";
    result.statusDetails = { message: `waived: ${waived.map(waiverText).join("; ")}\n\n${result.statusDetails?.message ?? ""}`, trace: result.statusDetails?.trace };
    labels.push({ name: "tag", value: "waived" });
  }
  if (record.cell) {
    const params: Array<[string, string | undefined]> = [
      ["platform", record.cell.platform],
      ["Debian suite", record.cell.base],
      ["Python", pythonOf(record.cell.base)],
      ["host", record.cell.host],
      ["host version", environment?.hostVersions?.[record.cell.host] ?? environment?.hostVersion],
    ];
    result.parameters = [...result.parameters.filter((p) => !params.some(([n]) => n === p.name)), ...params.filter((p): p is [string, string] => p[1] !== undefined).map(([name, value]) => ({ name, value }))];
  }
  record.attachments.forEach((a, i) => {
    const ext = a.contentType === "application/json" ? "json" : "txt";
    const source = `${result.uuid}-distcheck-${i}-attachment.${ext}`;
    // A reporter or suite may hand over an attachment without a body: never let it sink the report.
    writeFileSync(path.join(out, source), a.body ?? "");
    result.attachments.push({ name: a.name, source, type: a.contentType });
  });
}

/** A waiver as reports print it: reason and the host line that causes it. */
export function waiverText(w: { clause: string; reason: string; source: { file: string; line: number; quote: string } }): string {
  return `${w.clause}: ${w.reason} (${w.source.file}:${w.source.line}: ${w.source.quote.trim()})`;
}

/**
 * Allure results for what is not applicable, one per clause and cell, so the report shows the
 * clause with its reason where a host cannot be judged on it (never as passed).
 */
export function notApplicableResults(notApplicable: readonly NotApplicable[], out: string): void {
  const now = Date.now();
  for (const na of notApplicable) {
    const ids = na.clauses[0] === "*" ? CONTRACT_CLAUSE_IDS : na.clauses;
    for (const cell of na.cells) {
      for (const clause of ids) {
        const uuid = createHash("sha256").update(`${na.host}\0${cell}\0${clause}`).digest("hex").slice(0, 32);
        const [platform, base, host] = cell.split(".");
        writeFileSync(path.join(out, `${uuid}-result.json`), JSON.stringify({
          uuid,
          historyId: uuid,
          name: `${clause}: not applicable on ${cell}`,
          fullName: `not-applicable#${cell} ${clause}`,
          status: "skipped",
          statusDetails: { message: `not applicable: ${na.reason}` },
          stage: "finished",
          start: now,
          stop: now,
          description: citation(clause),
          labels: [
            { name: "epic", value: familyOf(clause) },
            { name: "story", value: clause },
            { name: "feature", value: "not applicable" },
            { name: "parentSuite", value: `not applicable on ${cell}` },
            { name: "tag", value: "not-applicable" },
          ],
          parameters: [
            { name: "platform", value: platform ?? "" },
            { name: "Debian suite", value: base ?? "" },
            { name: "host", value: host ?? na.host },
          ],
          attachments: [],
          steps: [],
        }));
      }
    }
  }
}

/** Clause x cell verdicts, totals and the quality gate. */
export function summarise(records: Iterable<TestRecord>, options: Pick<BuildReportOptions, "runId" | "requiredClauses" | "platforms" | "hosts">, environment?: RunEnvironment, runErrors: RunErrors = { modules: [], unhandled: [] }): ReportSummary {
  const all = [...records];
  const raw: Record<string, Record<string, "passed" | "failed" | "skipped">> = {};
  const categories: Record<FailureCategory, number> = { product: 0, harness: 0, infrastructure: 0 };
  const totals = { tests: all.length, passed: 0, failed: 0, skipped: 0, waived: 0 };
  const cells = new Set<string>();
  const profiles = profilesOf(options.hosts ?? [], all);
  for (const r of all) {
    const verdict = r.state === "passed" ? "passed" : r.state === "failed" ? "failed" : "skipped";
    if (isWaivedFailure(r, profiles)) totals.waived += 1;
    else {
      totals[verdict] += 1;
      const c = categorise(r);
      if (c) categories[c] += 1;
    }
    if (!r.cell) continue;
    cells.add(r.cell.id);
    for (const clause of r.clauses) {
      const row = (raw[clause] ??= {});
      const prev = row[r.cell.id];
      row[r.cell.id] = prev === "failed" || verdict === "failed" ? "failed" : prev === "passed" || verdict === "passed" ? "passed" : "skipped";
    }
  }
  const reasons: string[] = [];
  if (totals.failed > 0) reasons.push(`${totals.failed} test(s) failed (${categories.product} product, ${categories.harness} harness, ${categories.infrastructure} infrastructure)`);
  const hosts: ReportSummary["hosts"] = {};
  let clauses: ReportSummary["clauses"] = {};
  if (profiles.size > 0) {
    // Each host is judged on the clauses of the families it implements, on the platforms it has cells on.
    for (const profile of profiles.values()) {
      const v = hostVerdicts(profile, raw);
      hosts[profile.id] = v;
      for (const [clause, row] of Object.entries(v.clauses)) Object.assign((clauses[clause] ??= {}), row);
      reasons.push(...hostGateReasons(profile, v, options.requiredClauses));
    }
    clauses = Object.fromEntries(Object.entries(clauses).sort(([a], [b]) => a.localeCompare(b)));
  } else {
    clauses = Object.fromEntries(Object.entries(raw).sort(([a], [b]) => a.localeCompare(b)));
    // Every required clause, and every clause any test claimed, must have passed on every platform.
    for (const clause of new Set([...options.requiredClauses, ...Object.keys(clauses)])) {
      for (const platform of options.platforms) {
        const verdicts = Object.entries(clauses[clause] ?? {}).filter(([cell]) => cell.startsWith(`${platform}.`));
        if (!verdicts.some(([, v]) => v === "passed")) reasons.push(`${clause} did not run (and pass) on ${platform}`);
      }
    }
  }
  if (totals.tests === 0) reasons.push("no test ran");
  for (const m of runErrors.modules) reasons.push(`${m.file} did not run: ${m.messages.join("; ").slice(0, 300)}`);
  if (runErrors.unhandled.length > 0) reasons.push(`${runErrors.unhandled.length} error(s) outside any test: ${runErrors.unhandled.join("; ").slice(0, 300)}`);
  return {
    runId: options.runId,
    generatedAt: new Date().toISOString(),
    totals,
    categories,
    cells: [...cells].sort(),
    platforms: [...options.platforms],
    clauses,
    hosts,
    notApplicable: Object.values(hosts).flatMap((h) => h.notApplicable),
    gate: { passed: reasons.length === 0, reasons },
    contract: contractStamp(),
    environment,
  };
}

function xml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "");
}

/** JUnit XML of the (merged) records: one testsuite per suite file, each naming the contract it was judged against. */
export function junitXml(records: Iterable<TestRecord>, contract: ContractStamp = contractStamp(), hosts: { profiles?: ReadonlyMap<string, HostProfile>; notApplicable?: readonly NotApplicable[] } = {}): string {
  const profiles = hosts.profiles ?? new Map<string, HostProfile>();
  // <properties> sits on each testsuite: the JUnit schema CI tools validate against has none on <testsuites>.
  const properties = `    <properties>\n      <property name="contract.version" value="${xml(contract.version)}"/>\n      <property name="contract.sha256" value="${xml(contract.sha256)}"/>\n    </properties>`;
  const bySuite = new Map<string, TestRecord[]>();
  for (const r of records) bySuite.set(r.suite, [...(bySuite.get(r.suite) ?? []), r]);
  const suites = [...bySuite].sort(([a], [b]) => a.localeCompare(b)).map(([suite, rs]) => {
    const cases = rs
      .sort((a, b) => a.key.localeCompare(b.key))
      .map((r) => {
        const name = xml(`${r.cell ? `[${r.cell.id}] ` : ""}${r.name}`);
        const time = (r.durationMs / 1000).toFixed(3);
        const waived = isWaivedFailure(r, profiles);
        const body = waived
          ? `<skipped message="${xml(`waived: ${waived.map(waiverText).join("; ")}`)}"/><system-out>${xml(r.errors.map((e) => e.stack ?? e.message).join("\n\n"))}</system-out>`
          : r.state === "failed"
            ? `<failure message="${xml(r.errors[0]?.message.split("\n")[0] ?? "failed")}">${xml(r.errors.map((e) => e.stack ?? e.message).join("\n\n"))}</failure>`
            : r.state === "passed"
              ? ""
              : "<skipped/>";
        return `    <testcase classname="${xml(suite)}" name="${name}" time="${time}">${body}</testcase>`;
      });
    const failures = rs.filter((r) => r.state === "failed" && !isWaivedFailure(r, profiles)).length;
    const skipped = rs.filter((r) => r.state !== "passed" && (r.state !== "failed" || isWaivedFailure(r, profiles))).length;
    return `  <testsuite name="${xml(suite)}" tests="${rs.length}" failures="${failures}" skipped="${skipped}">\n${properties}\n${cases.join("\n")}\n  </testsuite>`;
  });
  const na = (hosts.notApplicable ?? []).flatMap((n) => n.cells.map((cell) => `    <testcase classname="not-applicable" name="${xml(`[${cell}] ${n.clauses[0] === "*" ? "every clause" : n.clauses.join(" ")}: not applicable`)}" time="0"><skipped message="${xml(`not applicable: ${n.reason}`)}"/></testcase>`));
  if (na.length > 0) suites.push(`  <testsuite name="not-applicable" tests="${na.length}" failures="0" skipped="${na.length}">\n${properties}\n${na.join("\n")}\n  </testsuite>`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n${suites.join("\n")}\n</testsuites>\n`;
}

/** How a platform column reads, from the verdicts of its cells. */
function mark(vs: Verdict[]): string {
  if (vs.length === 0) return "-";
  if (vs.includes("failed")) return "FAIL";
  if (vs.includes("unexpected-pass")) return "UNEXPECTED PASS";
  if (vs.includes("waived")) return "waived";
  if (vs.includes("passed")) return `ok (${vs.filter((v) => v === "passed").length})`;
  if (vs.every((v) => v === "not-applicable")) return "n/a";
  return "skip";
}

/**
 * A one-screen clause x platform table per host: ok, FAIL, waived, UNEXPECTED PASS, n/a (not
 * applicable: a family the host does not implement, or a base it cannot run on), skip, or a dash
 * for not run.
 */
export function clauseTable(summary: ReportSummary): string {
  const platforms = summary.platforms;
  const width = Math.max(...platforms.map((p) => p.length), 15);
  const header = `${"clause".padEnd(8)} ${platforms.map((p) => p.padEnd(width)).join(" ")}  (contract ${summary.contract.version})`;
  const rows = (clauses: Record<string, Record<string, Verdict>>): string[] =>
    Object.entries(clauses).map(([clause, cells]) => `${clause.padEnd(8)} ${platforms.map((p) => mark(Object.entries(cells).filter(([c]) => c.startsWith(`${p}.`)).map(([, v]) => v)).padEnd(width)).join(" ")}`.trimEnd());
  const hosts = Object.entries(summary.hosts ?? {});
  if (hosts.length === 0) return [header, ...rows(summary.clauses)].join("\n");
  const lines: string[] = [];
  for (const [id, h] of hosts) {
    lines.push(`host ${id} (adapter ${h.adapter}; implements ${h.families.join(", ")})`, header, ...rows(h.clauses));
    for (const na of h.notApplicable) lines.push(`  n/a ${na.clauses[0] === "*" ? "every clause" : `the ${[...new Set(na.clauses.map(familyOf))].join(", ")} clauses`} on ${na.cells.join(", ")}: ${na.reason}`);
    for (const w of h.waivers) lines.push(`  waiver ${w.clause} (${w.cells}): ${w.reason} [${w.source.file}:${w.source.line}]`);
    lines.push("");
  }
  return lines.join("\n").trimEnd();
}

/**
 * Builds reports/<run-id>/: the Allure HTML report (single file, with history across runs and
 * categories), summary.json with clause x cell verdicts and the gate, junit.xml; then points
 * reports/latest at it.
 */
export async function buildReport(options: BuildReportOptions & { pythonOf: (base: string) => string | undefined }): Promise<{ dir: string; summary: ReportSummary }> {
  const dir = path.join(options.reportsRoot, options.runId);
  mkdirSync(dir, { recursive: true });
  const environment = readRunEnvironment(options.resultsDirs);
  const enriched = path.join(dir, "allure-results");
  const records = enrichResults(options.resultsDirs, enriched, environment, options.pythonOf, options.hosts);
  // The platforms the run itself recorded win over the caller's guess (a report of a filtered run).
  const platforms = environment?.platforms?.length ? environment.platforms : options.platforms;
  const summary = summarise(records.values(), { ...options, platforms }, environment, readRunErrors(options.resultsDirs));
  notApplicableResults(summary.notApplicable, enriched);

  const variables: Record<string, string> = {
    "run id": options.runId,
    "harness version": environment?.harnessVersion ?? "?",
    ...(environment?.hostVersions && Object.keys(environment.hostVersions).length > 0
      ? Object.fromEntries(Object.entries(environment.hostVersions).map(([h, v]) => [`host ${h} version`, v]))
      : { "host version": environment?.hostVersion ?? "?" }),
    ...Object.fromEntries(Object.entries(environment?.engines ?? {}).map(([k, v]) => [`engine ${k}`, v])),
    ...Object.fromEntries(Object.entries(environment?.timingFactors ?? {}).map(([k, v]) => [`timing factor ${k}`, String(v)])),
    ...Object.fromEntries(Object.entries(environment?.images ?? {}).map(([k, v]) => [`image ${k}`, `${v.host} (${(v.hostId ?? "?").slice(7, 19)})`])),
    ...(environment?.mutant ? { mutant: environment.mutant } : {}),
    contract: `${summary.contract.version} (CONTRACT.md sha256 ${summary.contract.sha256})`,
    "clauses not yet covered": summary.contract.notYetCovered.join(", ") || "none",
    ...mutationScore(options.reportsRoot),
    ...options.extraVariables,
  };
  const rc = path.join(dir, ".allurerc.mjs");
  const staging = path.join(dir, ".allure-html");
  rmSync(staging, { recursive: true, force: true });
  writeFileSync(
    rc,
    `export default ${JSON.stringify(
      {
        name: `distcheck ${options.runId}`,
        // Allure writes per-plugin subfolders into a non-empty output folder: stage in an empty one.
        output: staging,
        historyPath: path.join(options.reportsRoot, "history.jsonl"),
        categories: ALLURE_CATEGORIES,
        variables,
        plugins: { awesome: { options: { singleFile: true, reportLanguage: "en", groupBy: ["epic", "story", "parentSuite"] } } },
      },
      null,
      2,
    )};\n`,
  );
  options.progress?.("generating the Allure report");
  const allure = path.resolve(import.meta.dirname, "../../node_modules/.bin/allure");
  const gen = await execa(allure, ["generate", enriched, "--config", rc], { reject: false, all: true });
  if (gen.exitCode !== 0) throw new DistcheckError("report_generation_failed", `allure generate exited with ${gen.exitCode}:\n${String(gen.all).slice(-3000)}`);
  for (const f of readdirSync(staging)) renameSync(path.join(staging, f), path.join(dir, f));
  rmSync(staging, { recursive: true, force: true });
  const index = path.join(dir, "index.html");
  if (existsSync(index)) writeFileSync(index, stripAnalytics(readFileSync(index, "utf8")));
  // Allure's own summary.json is replaced by distcheck's (clause x cell verdicts and the gate).
  writeFileSync(path.join(dir, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync(path.join(dir, "junit.xml"), junitXml(records.values(), summary.contract, { profiles: profilesOf(options.hosts ?? [], [...records.values()]), notApplicable: summary.notApplicable }));
  const latest = path.join(options.reportsRoot, "latest");
  rmSync(latest, { recursive: true, force: true });
  symlinkSync(options.runId, latest);
  return { dir, summary };
}

/**
 * Allure's awesome report (3.x) always embeds Google Analytics: a script fetched from
 * googletagmanager.com and a beacon with the report's id. A published conformance report must open
 * offline and must not tell a third party that a run happened, so both scripts are removed.
 */
export function stripAnalytics(html: string): string {
  return html.replace(/[ \t]*<script async src="https:\/\/www\.googletagmanager\.com\/[^"]*"><\/script>\s*<script>\s*window\.dataLayer[\s\S]*?<\/script>\n?/, "");
}

/** Every external address the page's markup loads (script, link, img, iframe sources): none is allowed. */
export function externalResources(html: string): string[] {
  return [...html.matchAll(/<(?:script|link|img|iframe)\b[^>]*?\b(?:src|href)="(https?:\/\/[^"]+)"/g)].map((m) => m[1]!);
}

/** The latest mutation run's score, for the report's environment. */
function mutationScore(reportsRoot: string): Record<string, string> {
  const file = path.join(reportsRoot, "mutants", "latest.json");
  if (!existsSync(file)) return {};
  const run = readJson<{ runId: string; score: { killed: number; total: number } }>(file);
  return { "mutation score": `${run.score.killed}/${run.score.total} mutants killed (run ${run.runId})` };
}
