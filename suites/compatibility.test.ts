import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import type { ArchiveIndexEntry } from "../src/fixtures/build/fixture-index.ts";
import { loadFixtureDeclarations } from "../src/fixtures/declarations/declaration-loader.ts";
import type { ArchiveDeclaration, WheelDeclaration } from "../src/fixtures/declarations/fixture-declaration.ts";
import type { BootedHost, WitnessLine } from "../src/hosts/booted-host.ts";
import { COMPATIBILITY_CORE_VERSIONS } from "../src/hosts/core-version-plan.ts";
import type { HostSettings } from "../src/hosts/host-adapter.ts";
import type { AgentAnswer, EffectiveConfig, ExtensionStatus, HostVersions, InstallAnswer } from "../src/hosts/host-wire.ts";
import { observeWheels, predictWheelsFor } from "../src/hosts/wheel-observation.ts";
import type { Cell } from "../src/matrix/matrix.ts";
import { judgeWheels, pickPlatformPackage, predictHostRange, predictWheels, type WheelJudgement, type WheelObservation } from "../src/oracle/index.ts";
import { PROJECT_ROOT, runCells } from "./support/cells.ts";
import { archive, archiveVariants } from "./support/fixture-files.ts";
import { adapterOf, attachOnFailure, bootHost, implementsFamilies, sampleWheel, timingFactorOf } from "./support/host.ts";
import { inContainer, installArchive } from "./support/agent.ts";
import { poll } from "./support/timeline.ts";

// Compatibility (WHL-08..10, ARC-11, ARC-12). One container per cell holds every compatibility and
// chain sample; the host is restarted once per plan with another core version (PEP 440 boundaries of
// each fixture range, pre-releases on both sides), another agent version (npm range boundaries) and
// its own data directory. A host that reads its core version from its own metadata boots a fresh
// container of its image built at that version instead. What each boot must show comes from the
// oracle (src/oracle), fed with the declarations and the versions the suite set, never with the
// host's answers. The ARC plans run only where the host has an archive agent.
const cells = runCells();
const loaded = await loadFixtureDeclarations(path.join(PROJECT_ROOT, "fixtures"));
const wheelDecl = new Map(loaded.wheels.map((d) => [d.name, d]));
const archiveDecl = new Map(loaded.archives.map((d) => [d.name, d]));
const decl = (name: string): WheelDeclaration => wheelDecl.get(name) ?? failNoFixture(name);
const arcDecl = (name: string): ArchiveDeclaration => archiveDecl.get(name) ?? failNoFixture(name);
function failNoFixture(name: string): never {
  throw new Error(`no fixture declaration named ${name} under fixtures/`);
}

const COMPAT = ["compat-range", "compat-prerelease", "compat-wildcard"];
const INVALID = ["compat-invalid-specifier", "compat-invalid-version", "chain-invalid-requirement"];
const CHAINS = ["chain-a", "chain-b", "chain-c", "chain-versioned", "chain-mismatch", "chain-after-mismatch", "chain-missing"];
const INSTALLED = [...COMPAT, ...INVALID, ...CHAINS, "ok-basic"];

interface Plan {
  /** PEP 440 core version the host runs with (config `core_version`). */
  core: string;
  /** SemVer agent version (config `agent_version`); ARC-11 installs run when set. */
  agent?: string;
  disabled?: string[];
  /** Archives installed in this boot to check the host range (ARC-11). */
  hostRange?: string[];
  /** Run the platform picks (ARC-12) in this boot. */
  platforms?: boolean;
}

// Boundaries: compat-range ">=0.7,<0.8", compat-prerelease ">=0.8.0rc1", compat-wildcard "==1.0.*";
// arc-basic has no range (agent default ">=25.0.20", ARC-10), arc-incompatible-host ">=99.0.0".
const PLANS: Plan[] = [
  { core: "0.7.0rc1", agent: "25.0.19", disabled: ["dev.distcheck.chain-a"], hostRange: ["arc-basic"] },
  { core: "0.7.0", agent: "25.0.20", hostRange: ["arc-basic", "arc-incompatible-host"], platforms: true },
  { core: "0.8.0rc0", agent: "99.0.0", hostRange: ["arc-incompatible-host"] },
  { core: "0.8.0rc1", agent: "25.0.20-rc.1", hostRange: ["arc-basic"] },
  { core: "0.8.0", agent: "98.99.99", hostRange: ["arc-incompatible-host"] },
  { core: "1.0.0rc1" },
  { core: "1.1.0" },
];

// Hosts that cannot take their version at boot have an image per core version of the plans.
for (const plan of PLANS) if (!(COMPATIBILITY_CORE_VERSIONS as readonly string[]).includes(plan.core)) throw new Error(`core ${plan.core} is missing from COMPATIBILITY_CORE_VERSIONS (src/hosts/core-version-plan.ts)`);

// The plans must reach both sides of every range, or a host ignoring the range would pass.
for (const name of COMPAT) {
  const verdicts = new Set(PLANS.map((p) => predictWheels([decl(name)], { coreVersion: p.core }).get(name)!.listed));
  if (!verdicts.has(true) || !verdicts.has(false)) throw new Error(`PLANS never puts ${name} on both sides of its requires_core_version; add a core version`);
}
for (const name of ["arc-basic", "arc-incompatible-host"]) {
  const verdicts = new Set(PLANS.filter((p) => p.hostRange?.includes(name)).map((p) => predictHostRange(arcDecl(name).manifest, p.agent!).installs));
  if (verdicts.size !== 2) throw new Error(`PLANS never installs ${name} on both sides of its host version range; add an agent version`);
}

type Answer = AgentAnswer<InstallAnswer>;

interface InstallCase {
  name: string;
  request: { id: string; candidates: ArchiveIndexEntry[] };
  answer: Answer;
}

interface Boot {
  plan: Plan;
  dataDir: string;
  version: HostVersions;
  /** The effective configuration, where the host reports one (the ARC-12 platform it detected). */
  config: EffectiveConfig | undefined;
  seen: WheelObservation;
  judgement: WheelJudgement;
  hostRange: Array<{ archive: string; answer: Answer; agentList: ExtensionStatus[]; leftover: boolean }>;
  platformCases: InstallCase[];
  witness: WitnessLine[];
}

function planSettings(plan: Plan, dataDir: string, agent: boolean): HostSettings {
  return { coreVersion: plan.core, dataDir, disabled: plan.disabled ?? [], ...(agent && plan.agent ? { agentVersion: plan.agent } : {}) };
}

function otherPlatform(platform: string): string {
  return platform === "linux-x86_64" ? "linux-aarch64" : "linux-x86_64";
}

/** The platform cases of ARC-12 on a host of `platform`: candidate lists in an order that never favours the answer. */
function platformCases(platform: string): Array<{ name: string; id: string; candidates: ArchiveIndexEntry[] }> {
  const variant = (name: string, suffix: string, format: ArchiveIndexEntry["format"] = "tar.gz"): ArchiveIndexEntry => archive(name, format, suffix);
  const caseVariants = archiveVariants("arc-platform-case");
  return [
    { name: "exact among universal and another platform", id: "distcheck.platform-exact", candidates: [variant("arc-platform", "universal"), variant("arc-platform", otherPlatform(platform)), variant("arc-platform", platform)] },
    { name: "exact among zip packages", id: "distcheck.platform-zip", candidates: [variant("arc-platform", "universal", "zip"), variant("arc-platform", platform, "zip")] },
    { name: "universal when no exact package exists", id: "distcheck.platform-universal", candidates: [variant("arc-platform", otherPlatform(platform)), variant("arc-platform", "universal")] },
    { name: "only another platform's package", id: "distcheck.platform-none", candidates: [variant("arc-platform", otherPlatform(platform))] },
    { name: "an aarch64-only extension", id: "distcheck.platform-aarch64-only", candidates: archiveVariants("arc-platform-aarch64-only") },
    { name: "upper- and mixed-case platform names", id: "distcheck.platform-case", candidates: [...caseVariants].sort((a, b) => (a.platform.toLowerCase() === platform ? 1 : 0) - (b.platform.toLowerCase() === platform ? 1 : 0)) },
  ];
}

describe.concurrent.each(cells)("compatibility on $id", (cell: Cell) => {
  const factor = timingFactorOf(cell);
  const adapter = adapterOf(cell);
  const arc = implementsFamilies(cell, "ARC");
  const installed = INSTALLED.map(decl);
  const boots: Boot[] = [];
  let host: BootedHost | undefined;

  async function install(id: string, candidates: ArchiveIndexEntry[]): Promise<Answer> {
    return candidates.length === 1
      ? installArchive(host!, inContainer(candidates[0]!), id)
      : host!.agent.install({ candidates: candidates.map(inContainer), id });
  }

  const archiveFiles = (): ArchiveIndexEntry[] => arc ? [
    ...["arc-basic", "arc-incompatible-host"].map((n) => archive(n, "tar.gz")),
    ...archiveVariants("arc-platform"),
    ...archiveVariants("arc-platform-aarch64-only"),
    ...archiveVariants("arc-platform-case"),
  ] : [];

  /** Boots the plan's host: a restart with new settings, or a new container of the image at that core version. */
  async function bootPlan(plan: Plan, index: number): Promise<string> {
    const dataDir = `${adapter.dataDir}/plan-${index}`;
    const settings = planSettings(plan, dataDir, arc);
    if (host && adapter.coreVersionAtBoot) {
      await host.stop();
      await host.clearWitness();
      await host.boot(settings);
    } else {
      await host?.[Symbol.asyncDispose]();
      host = undefined;
      host = await bootHost(cell, { wheels: INSTALLED.map((n) => sampleWheel(cell, n)), files: archiveFiles(), settings });
    }
    return dataDir;
  }

  async function runPlan(plan: Plan, index: number): Promise<Boot> {
    const dataDir = await bootPlan(plan, index);
    const [version, config, seen] = await Promise.all([host!.versions(), arc ? host!.effectiveConfig() : undefined, observeWheels(host!)]);
    const witness = seen.witness;
    // The prediction uses the version the suite set, not the one the host reports (checked separately).
    const judgement = judgeWheels(installed, predictWheelsFor(adapter, installed, { coreVersion: plan.core, disabled: plan.disabled ?? [] }), seen);
    const hostRange: Boot["hostRange"] = [];
    for (const name of arc ? (plan.hostRange ?? []) : []) {
      const entry = archive(name, "tar.gz");
      const answer = await install(entry.installId, [entry]);
      const agentList = await host!.agent.list();
      // Anything at all under the install directory of a refused archive is a leftover (ARC-07).
      const leftover = await host!.container.exists(`${dataDir}/extensions/${entry.installId}`);
      hostRange.push({ archive: name, answer, agentList, leftover });
    }
    const platformResults: InstallCase[] = [];
    if (arc && plan.platforms) {
      for (const c of platformCases(cell.platform.id)) platformResults.push({ name: c.name, request: { id: c.id, candidates: c.candidates }, answer: await install(c.id, c.candidates) });
    }
    // Archive processes report the package they run from (process_start carries the file-name platform).
    const lateWitness = arc && plan.platforms ? await waitForProcesses(platformResults.filter((r) => r.answer.status === 201).map((r) => r.request.id)) : witness;
    return { plan, dataDir, version, config, seen, judgement, hostRange, platformCases: platformResults, witness: lateWitness };
  }

  /** The witness once every id's process started, or as it stands after 20 s (scaled): the tests say what is missing. */
  async function waitForProcesses(ids: string[]): Promise<WitnessLine[]> {
    let lines: WitnessLine[] = [];
    const all = await poll(async () => {
      lines = await host!.witness();
      const started = ids.filter((id) => lines.some((l) => l.event === "process_start" && String(l.file).includes(`/extensions/${id}/`)));
      return started.length === ids.length ? lines : undefined;
    }, 20_000 * factor);
    return all ?? lines;
  }

  beforeAll(async () => {
    for (const [i, plan] of PLANS.entries()) boots.push(await runPlan(plan, i));
  }, (120_000 + PLANS.length * 60_000) * factor);

  afterAll(async () => {
    await host?.[Symbol.asyncDispose]();
  });

  const bootOf = (plan: Plan): Boot => {
    const boot = boots.find((b) => b.plan === plan);
    if (!boot) throw new Error(`no boot recorded for core ${plan.core} (the beforeAll failed before it)`);
    return boot;
  };
  const problems = (boot: Boot, names: string[]): string[] => boot.judgement.problems.filter((p) => p.fixtures.some((f) => names.includes(f))).map((p) => p.message);
  const diagnose = (ctx: TestContext, boot: () => Boot | undefined): void =>
    attachOnFailure(ctx, () => host, async () => {
      const b = boot();
      return { plan: b?.plan, version: b?.version, problems: b?.judgement.problems, extensions: b?.seen.extensions, diagnostics: b?.seen.diagnostics, hostRange: b?.hostRange, platform: b?.platformCases };
    });

  it.for(PLANS)("WHL-08: at core $core the host runs that version, and each requires_core_version verdict follows PEP 440 with pre-releases included", (plan, ctx) => {
    diagnose(ctx, () => boots.find((b) => b.plan === plan));
    const boot = bootOf(plan);
    expect(boot.version.core_version).toBe(plan.core);
    // Judged: listed or not, incompatible_extension naming both versions, no route, service or operator
    // of a skipped one, its setup() never ran (witness); a compatible one saw this core version in setup().
    expect(problems(boot, [...COMPAT, "ok-basic"])).toEqual([]);
    for (const line of boot.seen.witness.filter((w) => w.event === "setup")) expect(line.core_version, `${line.fixture} setup()`).toBe(plan.core);
  });

  it.for(PLANS)("WHL-09: at core $core requires_extensions chains load, skip on a missing or mismatching dependency, and skipping propagates to a fixed point", (plan, ctx) => {
    diagnose(ctx, () => boots.find((b) => b.plan === plan));
    expect(problems(bootOf(plan), CHAINS)).toEqual([]);
  });

  it("WHL-09: a disabled root skips every extension that depends on it, transitively, before setup()", (ctx) => {
    const plan = PLANS.find((p) => p.disabled?.includes("dev.distcheck.chain-a"))!;
    diagnose(ctx, () => boots.find((b) => b.plan === plan));
    const boot = bootOf(plan);
    expect(problems(boot, CHAINS)).toEqual([]);
    const skipped = boot.seen.diagnostics.filter((d) => d.code === adapter.hostCode("dependency_skipped")).map((d) => d.extension_id);
    expect(skipped).toEqual(expect.arrayContaining(["dev.distcheck.chain-b", "dev.distcheck.chain-c"]));
    expect(boot.seen.witness.filter((w) => w.event === "setup" && String(w.fixture).startsWith("chain-"))).toEqual([]);
  });

  it("WHL-10: an invalid specifier or version skips that extension with a diagnostic at every boot, and the host still serves", (ctx) => {
    diagnose(ctx, () => boots.at(-1));
    expect(boots.length).toBe(PLANS.length);
    for (const boot of boots) {
      expect(problems(boot, INVALID), `core ${boot.plan.core}`).toEqual([]);
      expect(boot.seen.extensions.some((e) => e.id === decl("ok-basic").manifest!.id), `ok-basic listed at core ${boot.plan.core}`).toBe(true);
    }
  });

  if (!arc) return;

  const hostRangeCases = PLANS.flatMap((plan) => (plan.hostRange ?? []).map((name) => ({ plan, name, agent: plan.agent ?? "" })));
  it.for(hostRangeCases)("ARC-11: $name on agent $agent: installs inside the host version range, refuses outside with an error naming both versions", ({ plan, name }, ctx) => {
    diagnose(ctx, () => boots.find((b) => b.plan === plan));
    const boot = bootOf(plan);
    expect(boot.version.agent_version).toBe(plan.agent);
    const verdict = predictHostRange(arcDecl(name).manifest, plan.agent!);
    const got = boot.hostRange.find((h) => h.archive === name)!;
    const id = arcDecl(name).installId;
    if (verdict.installs) {
      expect(got.answer.status, JSON.stringify(got.answer.body)).toBe(201);
      expect(got.agentList).toContainEqual(expect.objectContaining({ id, version: arcDecl(name).version }));
    } else {
      expect(got.answer.status).toBeGreaterThanOrEqual(400);
      expect(got.answer.status).toBeLessThan(500);
      expect(got.answer.body.error?.code).toBe(verdict.error);
      for (const s of verdict.mustName) expect(got.answer.body.error?.message, `the refusal names ${s}`).toContain(s);
      expect(got.agentList.filter((e) => e.id === id)).toEqual([]);
      expect(got.leftover, "no install directory left").toBe(false);
    }
  });

  const platformPlan = PLANS.find((p) => p.platforms)!;
  it.for(platformCases(cell.platform.id).map((c) => ({ ...c, platform: cell.platform.id })))("ARC-12: on $platform, $name: exact platform package, else universal, else no_platform_package", (c, ctx) => {
    diagnose(ctx, () => boots.find((b) => b.plan === platformPlan));
    const boot = bootOf(platformPlan);
    expect(boot.config?.values.platform, "the host detects the cell's platform").toBe(cell.platform.id);
    const names = c.candidates.map((e) => path.basename(e.file));
    const verdict = pickPlatformPackage(names, cell.platform.id);
    const got = boot.platformCases.find((r) => r.request.id === c.id)!;
    if (verdict.installs) {
      expect(got.answer.status, JSON.stringify(got.answer.body)).toBe(201);
      expect(got.answer.body.platform).toBe(verdict.platform);
      // The running code is the picked package's own: it reports the platform suffix of its file name.
      const start = boot.witness.find((l) => l.event === "process_start" && String(l.file).includes(`/extensions/${c.id}/`));
      expect(start?.platform, `process_start of ${c.id}`).toBe(c.candidates[verdict.index]!.platform);
    } else {
      expect(got.answer.status).toBeGreaterThanOrEqual(400);
      expect(got.answer.status).toBeLessThan(500);
      expect(got.answer.body.error?.code).toBe(verdict.error);
    }
  });
});
