import { readFileSync } from "node:fs";
import { DistcheckError } from "../errors/distcheck-error.ts";
import type { Finding } from "./certification-document.ts";
import type { CheckSpec } from "./finding-builder.ts";

/**
 * What `distcheck certify` hands the certification suite (`suites/certify/`): the artifacts of each
 * certification job, the facts the static checks read from them, and what the oracle predicts that
 * does not depend on the cell. The suite writes one results file per job and cell; the certifier
 * turns them into findings of the verdict document. Carried as a JSON file named by
 * `DISTCHECK_CERTIFY_PLAN`.
 */
export interface CertifyPlan {
  jobs: CertifyJob[];
  /** Where the suite writes `<job>/<cell>.json` (`CellResultsOfJob`). */
  resultsDir: string;
}

/** One certification: the artifacts of one extension, its previous release and its dependencies. */
export interface CertifyJob {
  /** Folder-safe id, unique in the plan. */
  id: string;
  /** Host id of the matrix the job runs on. */
  host: string;
  artifacts: PlannedArtifact[];
  /** An older release to upgrade from (ARC-14, ARC-16). */
  previous?: PlannedArtifact;
  /** Wheels its dependencies resolve from (`--deps`), put in pip's --find-links folder. */
  deps: PlannedFile[];
  /** WHL-08: the host versions at the edges of the wheel's `requires_core_version`, with whether it admits each. */
  coreProbes: Array<{ version: string; loads: boolean; clause: string }>;
  /** The command line that reproduces this certification. */
  reproduce: string;
}

/** A file copied into the cell container. */
export interface PlannedFile {
  /** Absolute path on the harness machine (read, never extracted). */
  path: string;
  /** File name (the subject of findings). */
  file: string;
  sha256: string;
}

export interface PlannedArtifact extends PlannedFile {
  kind: "wheel" | "archive";
  size: number;
  /** Distribution (wheel METADATA) or manifest name. */
  name: string | null;
  version: string | null;
  /** `extension.json` (wheel) or `extension.toml` (archive), when the static checks could read it. */
  manifest: Record<string, unknown> | null;
  /** An archive's config schema, when it has one that parses. */
  configSchema?: unknown;
  /** An archive's ARC-12 platform from its file name. */
  platform?: string;
}

/** `<resultsDir>/<job>/<cell>.json`: what the suite found for one job in one cell. */
export interface CellResultsOfJob {
  job: string;
  cell: string;
  /** False when the checks stopped before the end (the cell then counts as not executed). */
  completed: boolean;
  findings: Finding[];
  /** Name → text: the host's log and what else explains the findings. */
  logs: Record<string, string>;
  /** Image the cell's host ran on. */
  image?: string;
}

/** Where artifacts, their previous release and dependencies sit in a cell container. */
export const CERTIFY_PATHS = { artifacts: "/certify/artifacts", previous: "/certify/previous", deps: "/certify/deps" } as const;

export const CERTIFY_PLAN_VARIABLE = "DISTCHECK_CERTIFY_PLAN";

/** The plan a certify run wrote; throws `certify_plan_missing` when the suite runs without one. */
export function readCertifyPlan(env: NodeJS.ProcessEnv = process.env): CertifyPlan {
  const file = env[CERTIFY_PLAN_VARIABLE];
  if (!file) throw new DistcheckError("certify_plan_missing", `${CERTIFY_PLAN_VARIABLE} is not set: the certification suite runs under \`distcheck certify ARTIFACT...\`, which writes the plan.`, { category: "input" });
  try {
    return JSON.parse(readFileSync(file, "utf8")) as CertifyPlan;
  } catch (error) {
    throw new DistcheckError("certify_plan_missing", `cannot read the certification plan ${file}: ${(error as Error).message}`, { category: "harness", cause: error });
  }
}

const c = (checkId: string, clause: string, severity: CheckSpec["severity"], title: string): CheckSpec => ({ checkId, clause, severity, title });

/** The checks the certification suite runs in each cell. */
export const DYNAMIC_CHECKS = {
  wheelInstall: c("wheel.install.offline", "WHL-01", "error", "Installs offline with pip from the artifact and --deps only"),
  wheelRangeAdmitsHost: c("wheel.core-range.admits-host", "WHL-08", "error", "requires_core_version admits the host's own version"),
  wheelListed: c("wheel.discovery.listed", "WHL-02", "error", "Discovered and listed with the manifest's id, name and version"),
  wheelNoDiagnostic: c("wheel.discovery.no-diagnostic", "WHL-03", "error", "The host reports no diagnostic about it"),
  wheelRemoteEntry: c("wheel.frontend.remote-entry-served", "WHL-13", "error", "A declared frontend remote entry is published and served from static/"),
  wheelBoundary: (version: string): CheckSpec => c(`wheel.core-range.boundary.${version}`, "WHL-08", "error", `A host at core ${version} loads or skips it as requires_core_version says, before setup()`),
  wheelDisabled: c("wheel.disabled.not-set-up", "WHL-07", "error", "Disabled in the host's configuration, it is not set up and is reported"),
  wheelShutdown: c("wheel.shutdown.within-timeout", "WHL-14", "error", "With it loaded, the host exits on SIGTERM within its graceful timeout"),
  wheelUninstall: c("wheel.uninstall.no-stale-entry", "WHL-15", "error", "Uninstalled, it leaves no listed entry and no diagnostic"),
  archivePlatform: c("archive.platform.package", "ARC-12", "warning", "A package for this platform (exact, else universal)"),
  archiveInstall: c("archive.install.accepted", "ARC-02", "error", "The agent installs it by its sha256"),
  archiveStarts: c("archive.start.stays-up", "ARC-15", "error", "Starts and stays up"),
  archiveConfig: c("archive.config.schema-defaults", "ARC-14", "error", "config.json is written from the schema's defaults"),
  archiveEnvironment: c("archive.environment.minimal", "ARC-13", "error", "Its process gets the minimal environment"),
  archiveSigterm: c("archive.stop.sigterm-before-grace", "ARC-15", "warning", "It exits on SIGTERM before its grace (no SIGKILL needed)"),
  archiveNoOrphan: c("archive.stop.no-orphan-process", "ARC-15", "error", "No process of it outlives a stop"),
  archiveUpgrade: c("archive.upgrade.keeps-config", "ARC-14", "error", "An upgrade from --previous keeps the saved configuration"),
} as const;

/** A WHL diagnostic code's clause, so a diagnostic finding names the clause the host acted on. */
export const DIAGNOSTIC_CLAUSES: Record<string, string> = {
  entry_point_load_failed: "WHL-03",
  plugin_initialize_failed: "WHL-04",
  manifest_method_missing: "WHL-05",
  manifest_read_failed: "WHL-05",
  duplicate_extension_id: "WHL-06",
  extension_disabled: "WHL-07",
  incompatible_extension: "WHL-08",
  missing_dependency: "WHL-09",
  dependency_version_mismatch: "WHL-09",
  dependency_skipped: "WHL-09",
  invalid_specifier: "WHL-10",
  invalid_version: "WHL-10",
  setup_failed: "WHL-11",
  frontend_remote_entry_missing: "WHL-13",
};
