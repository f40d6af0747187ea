import { isDeepStrictEqual } from "node:util";
import { inject } from "vitest";
import { CERTIFY_PATHS, DYNAMIC_CHECKS as C, type CertifyJob, type PlannedArtifact } from "../../src/certify/dynamic-plan.ts";
import type { BootedHost } from "../../src/hosts/booted-host.ts";
import type { ExtensionStatus } from "../../src/hosts/host-wire.ts";
import type { Cell } from "../../src/matrix/matrix.ts";
import { pickPlatformPackage } from "../../src/oracle/archive-oracle.ts";
import { schemaDefaults } from "../../src/oracle/config-schema-defaults.ts";
import { adapterOf, bootHost, scaledTimeout } from "../support/host.ts";
import { waitFor } from "../support/timeline.ts";
import { fail, notApplicable, outcome, pass, type CellRecorder } from "./cell-recorder.ts";
import { certifyFiles } from "./certify-files.ts";
import { lastLines } from "./wheel-certification.ts";

type Json = Record<string, unknown>;

/** Seconds an extension must stay up after it started, natively (scaled by the platform factor, capped). */
const STAY_UP_S = 3;
const STAY_UP_CAP_MS = 45_000;

/** A saved configuration that differs from the defaults in one leaf, so a carried-over one can be told from a fresh one. */
function changedConfig(config: unknown): Json {
  const copy = (typeof config === "object" && config !== null ? structuredClone(config) : {}) as Json;
  for (const [k, v] of Object.entries(copy)) {
    if (typeof v === "string") return { ...copy, [k]: `${v}-distcheck` };
    if (typeof v === "number") return { ...copy, [k]: v + 1 };
    if (typeof v === "boolean") return { ...copy, [k]: !v };
  }
  return { ...copy, distcheck_marker: "kept" };
}

/** The manifest `env` keys (ARC-13 lets them through), from `[host.agent] env`, `[runtime] env` or top-level `env`. */
function manifestEnvKeys(manifest: Json | null): string[] {
  if (!manifest) return [];
  const host = manifest.host as Json | undefined;
  const agent = host && typeof host.agent === "object" ? (host.agent as Json) : undefined;
  const runtime = manifest.runtime as Json | undefined;
  const env = (agent?.env ?? runtime?.env ?? manifest.env) as Json | undefined;
  return env && typeof env === "object" ? Object.keys(env) : [];
}

/** The last 8000 bytes of the log the agent keeps beside the installed code (`<version>/extension.log`), through the Engine API. */
async function extensionLog(host: BootedHost, status: ExtensionStatus | undefined): Promise<string> {
  if (!status?.path) return "";
  const dir = status.path.replace(/\/code\/?$/, "");
  const log = await host.container.readFileIfExists(`${dir}/extension.log`, { followSymlinks: true });
  return log ? log.subarray(-8000).toString("utf8") : "";
}

/**
 * Processes whose command line names the installed code, as `<pid> <command line>`: through the
 * Engine API's top endpoint (ps on the engine's machine; the pid is that machine's).
 */
async function processesUnder(host: BootedHost, codePath: string): Promise<string[]> {
  return (await host.container.processes()).filter((p) => p.command.includes(codePath)).map((p) => `${p.pid} ${p.command}`);
}

/**
 * ARC dynamic checks of one extension's archives in one cell: the package for the platform, install
 * by sha256, start and stay up, config.json from the schema defaults, the minimal environment, stop
 * on SIGTERM before the grace and no process left, and an upgrade from --previous that keeps the
 * saved configuration.
 */
export async function certifyArchive(cell: Cell, job: CertifyJob, rec: CellRecorder): Promise<void> {
  const names = job.artifacts.map((a) => a.file);
  const pick = pickPlatformPackage(names, cell.platform.id);
  const subjectAll = names.join(", ");
  const rest = [C.archiveInstall, C.archiveStarts, C.archiveConfig, C.archiveEnvironment, C.archiveSigterm, C.archiveNoOrphan, C.archiveUpgrade];
  if (!pick.installs) {
    rec.record(C.archivePlatform, subjectAll, { status: "fail", detail: `no package for ${cell.platform.id} and no universal one among ${subjectAll}: the agent refuses it here (no_platform_package)`, evidence: { platform: cell.platform.id } });
    rec.blocked(rest, subjectAll, `no package for ${cell.platform.id}`);
    return;
  }
  const artifact: PlannedArtifact = job.artifacts[pick.index]!;
  const subject = artifact.file;
  rec.record(C.archivePlatform, subject, pass(`${subject} is the ${pick.exact ? "exact" : "universal"} package for ${cell.platform.id}`, { platform: cell.platform.id, picked: subject, exact: pick.exact }));
  const adapter = adapterOf(cell);
  const env = adapter.extensionEnvironment;
  if (!env) throw new Error(`host ${cell.host.id} has no archive agent environment (adapter.extensionEnvironment)`);
  rec.image = inject("cellImages")[cell.id]?.host;
  const T = (ms: number): number => scaledTimeout(cell, ms);
  await using host = await bootHost(cell, { extraFiles: certifyFiles(job) });
  try {
    let savedBeforeUpgrade: Json | undefined;
    let id: string | undefined;
    if (job.previous) {
      const prev = await host.agent.install({ source: `${CERTIFY_PATHS.previous}/${job.previous.file}`, sha256: job.previous.sha256 });
      if (prev.status !== 201 || !prev.body.id) throw new Error(`--previous ${job.previous.file} did not install (${prev.status} ${JSON.stringify(prev.body)}); certify it on its own first`);
      id = prev.body.id;
      await waitFor(`${id} ${job.previous.version} to run`, async () => ((await host.agent.status(id!)).state === "running" ? true : undefined), T(30_000));
      savedBeforeUpgrade = changedConfig(await host.agent.config(id));
      const saved = await host.agent.saveConfig(id, savedBeforeUpgrade);
      if (saved.status >= 300) throw new Error(`saving a configuration for ${id} ${job.previous.version} answered ${saved.status} ${JSON.stringify(saved.body)}`);
    }

    const answer = await host.agent.install({ source: `${CERTIFY_PATHS.artifacts}/${subject}`, sha256: artifact.sha256, ...(id ? { id } : {}) });
    const installed = rec.record(
      C.archiveInstall,
      subject,
      answer.status === 201 && answer.body.id ? pass(`installed as ${answer.body.id} ${answer.body.version}`, { answer: answer.body }) : fail(`the agent refused it: ${answer.status} ${answer.body.error?.code ?? ""} ${answer.body.error?.message ?? JSON.stringify(answer.body)}`, { status: answer.status, answer: answer.body }),
    );
    if (installed.status !== "pass") {
      rec.blocked(rest.slice(1), subject, "it did not install");
      return;
    }
    id = answer.body.id!;
    const version = answer.body.version ?? artifact.version ?? "";

    // Running, then still running (the same pid) after the stay-up time; a crash shows its exit and log.
    const stayUpMs = Math.min(scaledTimeout(cell, STAY_UP_S * 1000), STAY_UP_CAP_MS);
    let status: ExtensionStatus | undefined;
    const started = await rec.check(C.archiveStarts, subject, async () => {
      const first = await waitFor(`${id} ${version} to leave starting`, async () => {
        const s = await host.agent.status(id!);
        return s.state === "starting" ? undefined : s;
      }, T(30_000));
      let now = first;
      if (first.state === "running") {
        await new Promise((r) => setTimeout(r, stayUpMs));
        now = await host.agent.status(id!);
      }
      status = now;
      const log = await extensionLog(host, now);
      rec.logs[`extension-${subject}.log`] = log;
      const evidence = { state: now.state, pid: now.pid, exit: now.exit, stayUpMs, log: lastLines(log, 30) };
      if (now.state === "running" && now.version !== version) return fail(`${now.version} runs instead of ${version}: the new version did not start and the agent restored the old one`, evidence);
      if (now.state === "running" && now.pid === first.pid) return pass(`running (pid ${now.pid}) and still up ${stayUpMs} ms later`, evidence);
      return fail(`it did not stay up: ${now.state}${now.exit ? ` with ${JSON.stringify(now.exit)}` : ""}${log ? `; its log ends: ${lastLines(log, 3)}` : ""}`, evidence);
    });
    const running = started?.status === "pass";

    await rec.check(C.archiveConfig, subject, async () => {
      if (job.previous) return notApplicable("an upgrade carries the saved configuration over (judged by archive.upgrade.keeps-config)");
      const expected = schemaDefaults(artifact.configSchema);
      if (artifact.configSchema === undefined) return notApplicable("the archive has no config schema");
      const config = await host.agent.config(id!);
      const want = expected ?? {};
      return isDeepStrictEqual(config, want) ? pass("config.json holds the schema's defaults", { config }) : fail(`config.json is ${JSON.stringify(config)}; the schema's defaults are ${JSON.stringify(want)}`, { config, expected: want });
    });

    await rec.check(C.archiveEnvironment, subject, async () => {
      if (!running || !status?.pid) return notApplicable("its process is not running");
      const r = await host.exec(["sh", "-c", `tr '\\0' '\\n' < /proc/${status.pid}/environ`]);
      if (r.exitCode !== 0) throw new Error(`cannot read /proc/${status.pid}/environ: ${r.stderr.trim()}`);
      const keys = r.stdout.split("\n").filter(Boolean).map((l) => l.split("=")[0]!);
      const allowed = new Set([...env.base, env.configPath, env.dataDir, ...manifestEnvKeys(artifact.manifest)]);
      const extra = keys.filter((k) => !allowed.has(k));
      return outcome(extra.length ? [`variables beyond the minimal set: ${extra.sort().join(", ")}`] : [], `only ${keys.sort().join(", ")}`, { keys, allowed: [...allowed].sort() });
    });

    if (running) {
      const before = (await host.events()).length;
      const answerStop = await host.agent.stop(id);
      const events = (await host.events()).slice(before).filter((e) => e.id === id);
      await rec.check(C.archiveSigterm, subject, async () => {
        if (answerStop.status >= 300) throw new Error(`stop answered ${answerStop.status} ${JSON.stringify(answerStop.body)}`);
        const sigkill = events.find((e) => e.event === "sigkill");
        const evidence = { events };
        return sigkill ? fail("it ignored SIGTERM until its grace ran out: the agent had to SIGKILL it", evidence) : pass("it exited on SIGTERM before its grace", evidence);
      });
      await rec.check(C.archiveNoOrphan, subject, async () => {
        const left = await processesUnder(host, status!.path.replace(/\/code\/?$/, ""));
        return outcome(left.length ? [`still running after the stop: ${left.join("; ")}`] : [], "no process of it is left", { left });
      });
    } else {
      rec.blocked([C.archiveSigterm, C.archiveNoOrphan], subject, "its process is not running");
    }

    await rec.check(C.archiveUpgrade, subject, async () => {
      if (!job.previous || !savedBeforeUpgrade) return notApplicable("no --previous release given");
      const config = await host.agent.config(id!);
      return isDeepStrictEqual(config, savedBeforeUpgrade)
        ? pass(`the configuration saved under ${job.previous.version} is the one ${version} has`, { config })
        : fail(`saved under ${job.previous.version}: ${JSON.stringify(savedBeforeUpgrade)}; after the upgrade to ${version}: ${JSON.stringify(config)}`, { saved: savedBeforeUpgrade, config });
    });
  } finally {
    rec.logs[`host-${subject}.log`] = host.log.slice(-64_000);
  }
}
