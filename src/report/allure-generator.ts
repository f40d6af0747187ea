import { existsSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import type { ContractStamp } from "../contract/contract.ts";
import { DistcheckError } from "../errors/distcheck-error.ts";
import { ALLURE_CATEGORIES } from "./failure-category.ts";
import type { RunEnvironment } from "./run-environment.ts";

/** The environment rows the report shows: run, harness and host versions, engines, timing factors, images, mutant, contract. */
export function environmentVariables(runId: string, environment: RunEnvironment | undefined, contract: ContractStamp): Record<string, string> {
  return {
    "run id": runId,
    "harness version": environment?.harnessVersion ?? "?",
    ...(environment?.hostVersions && Object.keys(environment.hostVersions).length > 0
      ? Object.fromEntries(Object.entries(environment.hostVersions).map(([h, v]) => [`host ${h} version`, v]))
      : { "host version": environment?.hostVersion ?? "?" }),
    ...Object.fromEntries(Object.entries(environment?.engines ?? {}).map(([k, v]) => [`engine ${k}`, v])),
    ...Object.fromEntries(Object.entries(environment?.timingFactors ?? {}).map(([k, v]) => [`timing factor ${k}`, String(v)])),
    ...Object.fromEntries(Object.entries(environment?.images ?? {}).map(([k, v]) => [`image ${k}`, `${v.host} (${(v.hostId ?? "?").slice(7, 19)})`])),
    ...(environment?.mutant ? { mutant: environment.mutant } : {}),
    contract: `${contract.version} (CONTRACT.md sha256 ${contract.sha256})`,
    "clauses not yet covered": contract.notYetCovered.join(", ") || "none",
  };
}

export interface AllureReportOptions {
  /** reports/<run-id>/: index.html and Allure's own files land here. */
  dir: string;
  /** The enriched results (`enrichResults`). */
  results: string;
  runId: string;
  /** reports/: `history.jsonl` accumulates here across runs. */
  reportsRoot: string;
  /** The environment rows. */
  variables: Record<string, string>;
  progress?: (line: string) => void;
}

/**
 * Runs `allure generate` into `dir`: the awesome report as one self-contained index.html, with
 * history across runs, distcheck's failure categories and the environment rows; its analytics tag
 * removed.
 */
export async function generateAllureReport(options: AllureReportOptions): Promise<void> {
  const { dir } = options;
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
        variables: options.variables,
        plugins: { awesome: { options: { singleFile: true, reportLanguage: "en", groupBy: ["epic", "story", "parentSuite"] } } },
      },
      null,
      2,
    )};\n`,
  );
  options.progress?.("generating the Allure report");
  const allure = path.resolve(import.meta.dirname, "../../node_modules/.bin/allure");
  const gen = await execa(allure, ["generate", options.results, "--config", rc], { reject: false, all: true });
  if (gen.exitCode !== 0) throw new DistcheckError("report_generation_failed", `allure generate exited with ${gen.exitCode}:\n${String(gen.all).slice(-3000)}`);
  for (const f of readdirSync(staging)) renameSync(path.join(staging, f), path.join(dir, f));
  rmSync(staging, { recursive: true, force: true });
  const index = path.join(dir, "index.html");
  if (existsSync(index)) writeFileSync(index, stripAnalytics(readFileSync(index, "utf8")));
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
