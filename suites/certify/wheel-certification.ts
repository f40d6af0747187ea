import { inject } from "vitest";
import { CERTIFY_PATHS, DIAGNOSTIC_CLAUSES, DYNAMIC_CHECKS as C, type CertifyJob, type PlannedArtifact } from "../../src/certify/dynamic-plan.ts";
import type { BootedHost } from "../../src/hosts/booted-host.ts";
import type { HostDiagnostic, HostRegistry, ListedExtension } from "../../src/hosts/host-wire.ts";
import type { Cell } from "../../src/matrix/matrix.ts";
import { normaliseDistribution } from "../../src/oracle/index.ts";
import { isPep440Specifier, pep440Contains } from "../../src/oracle/pep440.ts";
import { adapterOf, bootHost, cpuFactorOf } from "../support/host.ts";
import { fail, notApplicable, outcome, pass, type CellRecorder } from "./cell-recorder.ts";
import { certifyFiles } from "./certify-files.ts";

/** Seconds of graceful timeout the host is booted with; WHL-14 judges the exit against it. */
const GRACEFUL_TIMEOUT_S = 5;

interface Identity {
  id: string;
  name: string;
  version: string;
  distribution: string | null;
  spec: string | null;
}

function identityOf(artifact: PlannedArtifact): Identity | null {
  const m = artifact.manifest;
  if (!m || typeof m.id !== "string" || typeof m.name !== "string" || typeof m.version !== "string") return null;
  const spec = typeof m.requires_core_version === "string" && m.requires_core_version.trim() !== "" ? m.requires_core_version : null;
  return { id: m.id, name: m.name, version: m.version, distribution: artifact.name, spec };
}

/** Diagnostics about this extension: by id, by distribution, or naming its id. */
function diagnosticsAbout(diagnostics: HostDiagnostic[], who: Identity): HostDiagnostic[] {
  return diagnostics.filter(
    (d) => d.extension_id === who.id || (who.distribution !== null && d.distribution != null && normaliseDistribution(d.distribution) === normaliseDistribution(who.distribution)) || d.message.includes(who.id),
  );
}

/** What it registered, where the host names owners (a kind the host cannot list is left out). */
function registrationsOf(registry: Partial<HostRegistry>, id: string): string[] {
  return [
    ...(registry.routes ?? []).filter((r) => r.owner === id).map((r) => `route ${r.method} ${r.path}`),
    ...(registry.services ?? []).filter((s) => s.owner === id).map((s) => `service ${s.name}`),
    ...(registry.operators ?? []).filter((o) => o.owner === id).map((o) => `operator ${o.id}`),
  ];
}

async function observe(host: BootedHost, who: Identity): Promise<{ listed: ListedExtension | undefined; about: HostDiagnostic[]; registrations: string[] }> {
  const [extensions, diagnostics, registry] = await Promise.all([host.extensions(), host.diagnostics(), host.registry()]);
  return { listed: extensions.find((e) => e.id === who.id), about: diagnosticsAbout(diagnostics, who), registrations: registrationsOf(registry, who.id) };
}

/** pip install of the artifact from the container, with --deps as the only other source. */
async function install(host: BootedHost, artifact: PlannedArtifact): Promise<{ exitCode: number; output: string }> {
  return host.pipInstall(["--find-links", CERTIFY_PATHS.deps, `${CERTIFY_PATHS.artifacts}/${artifact.file}`]);
}

/**
 * WHL dynamic checks of one wheel in one cell, in the order a user meets them: install offline,
 * discovery on the host's own version, every edge of its core range, disabled, graceful shutdown,
 * uninstall. Expectations come from the manifest the static checks read and the oracle's PEP 440.
 */
export async function certifyWheel(cell: Cell, job: CertifyJob, artifact: PlannedArtifact, rec: CellRecorder): Promise<void> {
  const subject = artifact.file;
  const who = identityOf(artifact);
  const all = [C.wheelInstall, C.wheelRangeAdmitsHost, C.wheelListed, C.wheelNoDiagnostic, C.wheelRemoteEntry, ...job.coreProbes.map((p) => C.wheelBoundary(p.version)), C.wheelDisabled, C.wheelShutdown, C.wheelUninstall];
  if (who === null) {
    rec.blocked(all, subject, "the wheel has no valid extension.json (see the static findings), so nothing says what the host should list");
    return;
  }
  const files = certifyFiles(job);
  const settings = { gracefulTimeoutS: GRACEFUL_TIMEOUT_S };
  const cpu = cpuFactorOf(cell);
  rec.image = inject("cellImages")[cell.id]?.host;
  await using host = await bootHost(cell, { extraFiles: files, settings });
  try {
    const pip = await install(host, artifact);
    rec.logs[`pip-install-${subject}.txt`] = pip.output;
    const installed = rec.record(C.wheelInstall, subject, pip.exitCode === 0 ? pass(`pip installed it with --no-index from the artifact and ${job.deps.length} wheel(s) of --deps`, { deps: job.deps.map((d) => d.file) }) : fail(`pip install --no-index failed (exit ${pip.exitCode}): ${lastLines(pip.output, 6)}`, { exitCode: pip.exitCode, output: lastLines(pip.output, 40) }));
    if (installed.status !== "pass") {
      rec.blocked(all.slice(1), subject, "it did not install");
      return;
    }
    await host.restart(settings);
    const hostVersion = await host.coreVersion();
    const admits = who.spec === null || !isPep440Specifier(who.spec) ? true : pep440Contains(who.spec, hostVersion);
    rec.record(C.wheelRangeAdmitsHost, subject, who.spec === null ? notApplicable("no requires_core_version (a warning of the static checks)") : admits ? pass(`requires_core_version ${who.spec} admits core ${hostVersion}`, { spec: who.spec, hostVersion }) : fail(`requires_core_version ${who.spec} excludes this host's core ${hostVersion}: the host skips it`, { spec: who.spec, hostVersion }));

    const seen = await observe(host, who);
    await rec.check(C.wheelListed, subject, async () => {
      if (!admits) return notApplicable(`the host's core ${hostVersion} is outside its range, so it is not listed (judged by ${C.wheelRangeAdmitsHost.checkId})`);
      const l = seen.listed;
      if (!l) return fail(`not listed by the host (${seen.about.map((d) => `${d.code}: ${d.message}`).join("; ") || "no diagnostic either"})`, { diagnostics: seen.about });
      return outcome(
        [l.name !== who.name ? `name ${JSON.stringify(l.name)}, the manifest says ${JSON.stringify(who.name)}` : "", l.version !== who.version ? `version ${JSON.stringify(l.version)}, the manifest says ${JSON.stringify(who.version)}` : ""].filter(Boolean),
        `listed as ${l.id} ${l.name} ${l.version}`,
        { listed: l },
      );
    });
    await rec.check(C.wheelNoDiagnostic, subject, async () => {
      // Outside its range the host must say so (WHL-08); any other diagnostic is a defect either way.
      const expected = admits ? [] : [adapterOf(cell).hostCode("incompatible_extension")];
      const unexpected = seen.about.filter((d) => !expected.includes(d.code));
      if (unexpected.length === 0) return pass(admits ? "no diagnostic names it" : `only the expected ${expected.join(", ")}`, { diagnostics: seen.about });
      return fail(unexpected.map((d) => `${d.code}: ${d.message}`).join("; "), { clause: DIAGNOSTIC_CLAUSES[unexpected[0]!.code] ?? C.wheelNoDiagnostic.clause, diagnostics: unexpected });
    });

    await rec.check(C.wheelRemoteEntry, subject, async () => {
      const frontend = artifact.manifest?.frontend as Record<string, unknown> | undefined;
      const entry = typeof frontend?.remote_entry === "string" ? frontend.remote_entry : undefined;
      if (entry === undefined) return notApplicable("the manifest declares no frontend remote entry");
      if (!seen.listed) return notApplicable("it is not listed");
      const served = await host.fetchStatic(who.id, entry);
      const evidence = { remoteEntry: entry, remoteEntryUrl: seen.listed.remote_entry_url ?? null, status: served.status, bytes: served.body.length };
      return outcome(
        [seen.listed.remote_entry_url ? "" : "the host lists no remote_entry_url", served.status === 200 ? "" : `GET of static/${entry} answered ${served.status}`].filter(Boolean),
        `remote_entry_url ${seen.listed.remote_entry_url}; static/${entry} served (${served.body.length} bytes)`,
        evidence,
      );
    });

    // Loaded on the host's own version, or skipped only for its range: the checks below need the host to get as far as its manifest.
    const blockedLoad = admits && seen.listed === undefined;
    if (blockedLoad) rec.blocked([...job.coreProbes.map((p) => C.wheelBoundary(p.version)), C.wheelDisabled], subject, "it did not load on the host's own version");
    for (const probe of blockedLoad ? [] : job.coreProbes) {
      await rec.check(C.wheelBoundary(probe.version), subject, async () => {
        const at = await observeAtVersion(cell, host, job, artifact, who, probe.version, settings);
        const evidence = { version: probe.version, clause: "WHL-08", edgeOf: probe.clause, predicted: probe.loads ? "loads" : "skipped", listed: at.listed ?? null, registrations: at.registrations, diagnostics: at.about };
        if (probe.loads) return at.listed ? pass(`core ${probe.version}: loaded, as ${who.spec} says`, evidence) : fail(`core ${probe.version} is inside ${who.spec}, but the host did not load it (${at.about.map((d) => d.code).join(", ") || "no diagnostic"})`, evidence);
        const problems = [at.listed ? `core ${probe.version} is outside ${who.spec}, but the host loaded it` : "", at.registrations.length > 0 ? `it registered ${at.registrations.join(", ")}: setup() ran although the version check should skip it first` : ""].filter(Boolean);
        return outcome(problems, `core ${probe.version}: skipped before setup(), as ${who.spec} says`, evidence);
      });
    }
    if (!host.running) await host.boot(settings);

    if (!blockedLoad) await rec.check(C.wheelDisabled, subject, async () => {
      await host.restart({ ...settings, disabled: [who.id] });
      const d = await observe(host, who);
      const code = adapterOf(cell).hostCode("extension_disabled");
      const problems = [
        d.listed ? "listed as loaded although disabled" : "",
        d.registrations.length > 0 ? `registered ${d.registrations.join(", ")}: setup() ran although disabled` : "",
        d.about.some((x) => x.code === code) ? "" : `not reported as disabled (no ${code} diagnostic)`,
      ].filter(Boolean);
      return outcome(problems, "disabled: not listed, nothing registered, reported as disabled", { listed: d.listed ?? null, registrations: d.registrations, diagnostics: d.about });
    });

    await rec.check(C.wheelShutdown, subject, async () => {
      await host.restart(settings);
      const loaded = (await observe(host, who)).listed !== undefined;
      const exit = await host.stop("SIGTERM", 60_000 + GRACEFUL_TIMEOUT_S * 1000 * cpu);
      // The host's own timer decides the graceful timeout (measured from when the signal was sent);
      // the interpreter's exit after it is running code, which the CPU factor slows.
      const boundMs = GRACEFUL_TIMEOUT_S * 1000 + 1500 * cpu;
      const evidence = { exitCode: exit.exitCode, ms: Math.round(exit.ms), boundMs: Math.round(boundMs), gracefulTimeoutS: GRACEFUL_TIMEOUT_S, loaded };
      return exit.ms <= boundMs ? pass(`exited ${Math.round(exit.ms)} ms after SIGTERM (bound ${Math.round(boundMs)} ms)`, evidence) : fail(`exited ${Math.round(exit.ms)} ms after SIGTERM, past its graceful timeout of ${GRACEFUL_TIMEOUT_S} s (bound ${Math.round(boundMs)} ms with the platform factor)`, evidence);
    });

    await rec.check(C.wheelUninstall, subject, async () => {
      if (!who.distribution) return notApplicable("the wheel's METADATA names no distribution to uninstall");
      if (host.running) await host.stop();
      const r = await host.exec(["python3", "-m", "pip", "uninstall", "-y", "--disable-pip-version-check", who.distribution]);
      if (r.exitCode !== 0) throw new Error(`pip uninstall ${who.distribution} failed: ${lastLines(r.stdout + r.stderr, 6)}`);
      await host.boot(settings);
      const u = await observe(host, who);
      const problems = [u.listed ? "still listed after pip uninstall and a restart" : "", u.about.length > 0 ? `still diagnosed: ${u.about.map((d) => d.code).join(", ")}` : ""].filter(Boolean);
      return outcome(problems, "after pip uninstall and a restart: not listed, no diagnostic", { listed: u.listed ?? null, diagnostics: u.about });
    });
  } finally {
    rec.logs[`host-${subject}.log`] = host.log.slice(-64_000);
  }
}

/**
 * The host at another core version: hosts that take it at boot restart with the setting; the
 * others boot their image built at that version, with the wheel installed the same way.
 */
async function observeAtVersion(cell: Cell, host: BootedHost, job: CertifyJob, artifact: PlannedArtifact, who: Identity, version: string, settings: { gracefulTimeoutS: number }): Promise<Awaited<ReturnType<typeof observe>>> {
  if (adapterOf(cell).coreVersionAtBoot) {
    await host.restart({ ...settings, coreVersion: version });
    const seen = await observe(host, who);
    await host.stop();
    return seen;
  }
  await using other = await bootHost(cell, { extraFiles: certifyFiles(job), settings: { ...settings, coreVersion: version } });
  const pip = await install(other, artifact);
  if (pip.exitCode !== 0) throw new Error(`pip install on the core ${version} image failed: ${lastLines(pip.output, 6)}`);
  await other.restart();
  return observe(other, who);
}

export function lastLines(text: string, n: number): string {
  return text.trimEnd().split("\n").slice(-n).join("\n");
}
