import { randomBytes } from "node:crypto";
import path from "node:path";
import semver from "semver";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { loadFixtureDeclarations, type ArchiveDeclaration } from "../src/fixtures/index.ts";
import type { BootedHost, WitnessLine } from "../src/hosts/booted-host.ts";
import type { HostSettings } from "../src/hosts/host-adapter.ts";
import type { AgentAnswer, ExtensionStatus } from "../src/hosts/host-wire.ts";
import { PROJECT_ROOT, suiteCells } from "./support/cells.ts";
import { archive, wheel } from "./support/fixture-files.ts";
import { adapterOf, attachOnFailure, bootHost, timingFactorOf } from "./support/host.ts";
import { hostEvents, once, Timeline, waitFor } from "./support/timeline.ts";
import { fixtureArchive, installArchive, packedArchive, type InstallableArchive } from "./support/agent.ts";
import { schemaDefaults } from "../src/oracle/config-schema-defaults.ts";

// Defaults, read from inside the container: the effective manifest of archives that omit fields
// (ARC-10), the environment an extension process really gets (ARC-13), config.json from schema
// defaults and a saved configuration across restart and upgrade (ARC-14), and the host's own
// configuration defaults with file and environment overrides (HST-01). Every expected value comes
// from the tables below (CONTRACT.md, INTERFACE.md) or the fixture declarations, never from the host.

/** ARC-10: manifest defaults when a field is omitted (CONTRACT.md). */
const ARC10 = {
  pythonVersion: "3.11",
  workdir: ".",
  hostRange: { agent: ">=25.0.20", app: ">=26.0.3" } as Record<string, string>,
  graceSeconds: 10,
  graceRange: [1, 300] as const,
  configSchema: "config.schema.json",
  targets: [] as string[],
  env: {} as Record<string, string>,
  keywords: [] as string[],
  categories: [] as string[],
};

/** ARC-13: what the reference host names the config-path and data-dir variables (INTERFACE.md). */
const EXTENSION_ENV = { base: ["HOME", "PATH", "TMPDIR"], configPath: "DISTCHECK_CONFIG_PATH", dataDir: "DISTCHECK_DATA_DIR" };

// Planted in the host's own environment: none of it may reach an extension (ARC-13).
const SECRET = `distcheck-${randomBytes(6).toString("hex")}`;
const PLANTED_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin", ".", "relative/bin", "", "/nonexistent/distcheck-bin"];
const PLANTED_ENV = { DISTCHECK_LEAK: "1", SECRET_TOKEN: SECRET, PATH: PLANTED_PATH.join(":") };

// HST-01 overrides: one setting only in the file, settings in both (environment wins), a setting only
// in the environment. The host's adapter says how its file and its environment spell each setting.
const OVERRIDE_FILE = { gracefulTimeoutS: 3, maxDownloadBytes: 100, downloadTimeoutS: 30, agentVersion: "26.0.3" } satisfies HostSettings;
const OK_BASIC = wheel("ok-basic");
const DISABLED_IDS = [OK_BASIC.extensionId!, "distcheck.not-installed"];
const OVERRIDE_ENV = { gracefulTimeoutS: 4, maxDownloadBytes: 10485760, disabled: DISABLED_IDS } satisfies HostSettings;

const declarations = await loadFixtureDeclarations(path.join(PROJECT_ROOT, "fixtures"));
const declarationOf = (name: string): ArchiveDeclaration => {
  const d = declarations.archives.find((a) => a.name === name);
  if (!d) throw new Error(`No archive declaration ${name} in fixtures/archives`);
  return d;
};

const builtArchive = (name: string): InstallableArchive => fixtureArchive(declarationOf(name));

/** An archive this suite renders with the fixture factory's writers, for defaults no built fixture isolates. */
function renderedArchive(name: string, manifest: Record<string, unknown>, extra: Partial<ArchiveDeclaration> = {}): InstallableArchive {
  const decl: ArchiveDeclaration = {
    kind: "archive",
    name,
    description: `Rendered by the config-defaults suite: ${name}.`,
    installId: `distcheck.${name}`,
    version: "1.0.0",
    formats: ["tar.gz"],
    platforms: [""],
    manifest: { name: `Distcheck ${name}`, version: "1.0.0", ...manifest },
    configSchema: null,
    files: {},
    behaviour: { start: "run", exitCode: 0, sigterm: "exit", sigtermDelaySeconds: 0, exitAfterSeconds: 0 },
    clauses: ["ARC-10"],
    predicted: "oracle",
    ...extra,
  };
  return packedArchive(decl);
}

const agent = (fields: Record<string, unknown> = {}): Record<string, unknown> => ({ type: "agent", agent: { entry: "main.py", ...fields } });

const MINIMAL = builtArchive("arc-minimal");
const LEGACY = builtArchive("arc-legacy-runtime");
const BASIC = builtArchive("arc-basic");
const BASIC_NEXT = builtArchive("arc-basic-next");
const GRACE_301 = builtArchive("arc-grace-out-of-range");
const RESERVED_ENV = builtArchive("arc-reserved-env");
const CONFIG_DEFAULT_SCHEMA = renderedArchive("cfg-config-default-schema", { host: agent(), config: {} }, {
  configSchema: {
    type: "object",
    properties: {
      mode: { type: "string", default: "auto" },
      label: { type: "string" },
      limits: { type: "object", properties: { max: { type: "integer", default: 7 }, unit: { type: "string", default: "s" }, none: { type: "integer" } } },
    },
  },
});
const APP_DEFAULT = renderedArchive("cfg-app-default", { host: { type: "app", app: { entry: "index.html" } } }, { files: { "index.html": "<!doctype html><title>distcheck</title>\n" } });
const GRACE_0 = renderedArchive("cfg-grace-0", { host: agent({ stop: { grace_seconds: 0 } }) });
const GRACE_1 = renderedArchive("cfg-grace-1", { host: agent({ stop: { grace_seconds: 1 } }) });
const GRACE_300 = renderedArchive("cfg-grace-300", { host: agent({ stop: { grace_seconds: 300 } }) });
const GENERATED = [CONFIG_DEFAULT_SCHEMA, APP_DEFAULT, GRACE_0, GRACE_1, GRACE_300].map((a) => a.file!);

type Json = Record<string, unknown>;

/** The ARC-10 fields of a manifest as the contract predicts them: declared, else the default. */
function expectedDefaults(d: ArchiveDeclaration): Json {
  const m = d.manifest as Record<string, Json | undefined>;
  const host = m.host as { type?: string; agent?: Json } | undefined;
  const type = host?.type ?? "agent"; // the legacy [runtime] form is always an agent
  const section: Json = (type === "agent" ? (host?.agent ?? m.runtime) : undefined) ?? {};
  const pick = (key: string): unknown => section[key] ?? (m as Json)[key];
  const config = m.config as Json | undefined;
  return {
    python_version: type === "agent" ? (section.python_version ?? ARC10.pythonVersion) : null,
    workdir: pick("workdir") ?? ARC10.workdir,
    host_range: (m.core as Json | undefined)?.version ?? ARC10.hostRange[type],
    grace_seconds: (pick("stop") as Json | undefined)?.grace_seconds ?? ARC10.graceSeconds,
    config_schema: config === undefined ? null : (config.schema ?? ARC10.configSchema),
    targets: pick("targets") ?? ARC10.targets,
    env: pick("env") ?? ARC10.env,
    keywords: (m as Json).keywords ?? ARC10.keywords,
    categories: (m as Json).categories ?? ARC10.categories,
  };
}

/** Which ARC-10 fields the declaration leaves out, so that the contract's default is expected. */
function omittedFields(d: ArchiveDeclaration): string[] {
  const m = d.manifest as Json;
  const host = m.host as { type?: string; agent?: Json } | undefined;
  const section = host?.agent ?? (m.runtime as Json | undefined) ?? {};
  const declared: Record<string, boolean> = {
    python_version: "python_version" in section || host?.type === "app",
    workdir: "workdir" in section || "workdir" in m,
    host_range: "core" in m,
    grace_seconds: "stop" in section || "stop" in m,
    config_schema: !("config" in m) || "schema" in (m.config as Json),
    targets: "targets" in section || "targets" in m,
    env: "env" in section || "env" in m,
    keywords: "keywords" in m,
    categories: "categories" in m,
  };
  return Object.keys(declared).filter((k) => !declared[k]);
}

/**
 * The environment as the host gave it, from the one the extension's Python reported: PEP 538 has a
 * Python interpreter that starts in the C locale (no LC_ALL, LC_CTYPE or LANG) set LC_CTYPE to a
 * UTF-8 locale in its own environment before any code runs, so that key is the interpreter's, not
 * the host's. Anything else beyond the contract's list came from the host.
 */
function withoutInterpreterAdditions(env: Record<string, string>): Record<string, string> {
  const coerced = ["C.UTF-8", "C.utf8", "UTF-8"];
  if (env.LC_CTYPE !== undefined && coerced.includes(env.LC_CTYPE) && env.LC_ALL === undefined && env.LANG === undefined) {
    const { LC_CTYPE: _coerced, ...rest } = env;
    return rest;
  }
  return env;
}

/** The same fields read from the host's effective manifest (INTERFACE.md shape). */
function observedDefaults(manifest: Json): Json {
  const host = manifest.host as { type: string; agent?: Json };
  return {
    python_version: host.type === "agent" ? host.agent?.python_version : null,
    workdir: manifest.workdir,
    host_range: (manifest.core as Json | undefined)?.version,
    grace_seconds: (manifest.stop as Json | undefined)?.grace_seconds,
    config_schema: (manifest.config as Json | null | undefined)?.schema ?? null,
    targets: manifest.targets,
    env: manifest.env,
    keywords: manifest.keywords,
    categories: manifest.categories,
  };
}

// ARC-10, 13 and 14 need an archive agent; the HST-01 precedence tests here need a host that reports
// its effective configuration and the source of each value (the reference host does).
const cells = suiteCells("config-defaults");

describe.concurrent.each(cells)("config defaults on $id", (cell) => {
  const factor = timingFactorOf(cell);
  const T = (ms: number): number => Math.round(ms * factor);
  const adapter = adapterOf(cell);
  const configuration = adapter.configuration!;
  /** HST-01: the host's documented defaults, by its own keys. */
  const HOST_DEFAULTS: Record<string, unknown> = Object.fromEntries(adapter.documentedDefaults().map((d) => [d.setting, d.value]));
  /** Contract settings as the host's own keys and values. */
  const ownKeys = (settings: HostSettings): Json => Object.fromEntries(Object.entries(settings).map(([k, v]) => [configuration.key(k as keyof HostSettings), v]));
  const overrideEnv = Object.fromEntries(Object.entries(OVERRIDE_ENV).map(([k, v]) => [configuration.envName(k as keyof HostSettings), configuration.envValue(v)]));
  /** Nothing set in the host's configuration file or environment; secrets and a dirty PATH planted in its environment. */
  let defaults: BootedHost;
  /** Overrides in the host's configuration file and environment (HST-01). */
  let overridden: BootedHost;
  /** Restarted and upgraded (ARC-14), so no other test shares it. */
  let persistence: BootedHost;
  const timelines = new Map<BootedHost, Timeline>();

  beforeAll(async () => {
    const archives = [MINIMAL, LEGACY, BASIC, GRACE_301, RESERVED_ENV].map((a) => archive(a.name));
    const boots = await Promise.allSettled([
      bootHost(cell, { wheels: [OK_BASIC], files: archives, extraFiles: GENERATED, env: PLANTED_ENV }),
      bootHost(cell, { wheels: [OK_BASIC], files: [archive(MINIMAL.name)], extraFiles: GENERATED, settings: OVERRIDE_FILE, env: overrideEnv }),
      bootHost(cell, { files: [archive(BASIC.name), archive(BASIC_NEXT.name)] }),
    ]);
    const failed = boots.find((b): b is PromiseRejectedResult => b.status === "rejected");
    if (failed) {
      await Promise.all(boots.map((b) => (b.status === "fulfilled" ? b.value[Symbol.asyncDispose]() : undefined)));
      throw failed.reason;
    }
    [defaults, overridden, persistence] = boots.map((b) => (b as PromiseFulfilledResult<BootedHost>).value) as [BootedHost, BootedHost, BootedHost];
  }, T(240_000));

  afterAll(async () => {
    await Promise.all([defaults, overridden, persistence].map((h) => h?.[Symbol.asyncDispose]().catch(() => undefined)));
  }, 60_000);

  /** Runs a test body; on failure the report gets the host log, the merged timeline and /api/config. */
  function check(ctx: TestContext, host: () => BootedHost, body: () => Promise<void>): Promise<void> {
    attachOnFailure(ctx, host, async () => {
      const h = host();
      const witness = await h.witness().catch(() => [] as WitnessLine[]);
      const events = await hostEvents(h).catch(() => []);
      return {
        timeline: (timelines.get(h) ?? new Timeline()).render(events, witness),
        config: await h.effectiveConfig().catch((e: unknown) => String(e)),
      };
    });
    return body();
  }

  /** Installs under the declaration's id unless told otherwise; the reference agent answers with the extension's status. */
  async function install(host: BootedHost, a: InstallableArchive, id = a.decl.installId): Promise<AgentAnswer<ExtensionStatus>> {
    return installArchive(host, a, id) as Promise<AgentAnswer<ExtensionStatus>>;
  }

  // Installs shared by several tests on the defaults host happen once.
  const installs = new Map<string, Promise<{ status: number; body: ExtensionStatus }>>();
  function installOnce(host: BootedHost, a: InstallableArchive): Promise<{ status: number; body: ExtensionStatus }> {
    const key = `${host.container.id}:${a.name}`;
    let p = installs.get(key);
    if (!p) installs.set(key, (p = install(host, a)));
    return p;
  }

  /** The `process_start` witness line of the extension's current process. */
  async function processStart(host: BootedHost, id: string, accept: (s: ExtensionStatus) => boolean = () => true): Promise<{ line: WitnessLine; status: ExtensionStatus }> {
    return waitFor(`${id} to run and report process_start`, async () => {
      const status = await host.agent.status(id);
      if (!status.pid || status.state !== "running" || !accept(status)) return undefined;
      const line = (await host.witness()).find((l) => l.event === "process_start" && l.pid === status.pid);
      return line ? { line, status } : undefined;
    }, T(30_000));
  }

  async function exists(host: BootedHost, p: string): Promise<boolean> {
    return host.container.exists(p);
  }

  // --- ARC-10: the effective manifest ------------------------------------------------------------

  for (const a of [MINIMAL, LEGACY, CONFIG_DEFAULT_SCHEMA, BASIC]) {
    const omitted = omittedFields(a.decl);
    it(`ARC-10: ${a.name}: the effective manifest has the contract's defaults for what it omits (${omitted.join(", ") || "nothing"})`, async (ctx) => check(ctx, () => defaults, async () => {
      const res = await installOnce(defaults, a);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const listed = (await defaults.agent.list()).find((e) => e.id === a.decl.installId);
      expect(listed, `${a.decl.installId} in GET /api/agent/extensions`).toBeDefined();
      expect(observedDefaults(listed!.manifest)).toEqual(expectedDefaults(a.decl));
    }), T(60_000));
  }

  it("ARC-10: the minimal archive really omits every defaulted field (the oracle's precondition)", () => {
    expect(omittedFields(MINIMAL.decl).sort()).toEqual(["categories", "env", "grace_seconds", "host_range", "keywords", "python_version", "targets", "workdir"]);
    expect(omittedFields(CONFIG_DEFAULT_SCHEMA.decl)).toContain("config_schema");
  });

  it(`ARC-10: stop.grace_seconds ${ARC10.graceRange[0]} and ${ARC10.graceRange[1]} are accepted, 0 and 301 refused at install`, async (ctx) => check(ctx, () => defaults, async () => {
    for (const a of [GRACE_1, GRACE_300]) {
      const res = await install(defaults, a);
      expect(res.status, `${a.name}: ${JSON.stringify(res.body)}`).toBe(201);
      expect(observedDefaults(res.body.manifest).grace_seconds).toBe(expectedDefaults(a.decl).grace_seconds);
    }
    for (const a of [GRACE_0, GRACE_301]) {
      const grace = expectedDefaults(a.decl).grace_seconds as number;
      expect(grace < ARC10.graceRange[0] || grace > ARC10.graceRange[1], `${a.name} declares an out-of-range grace`).toBe(true);
      const res = await install(defaults, a);
      expect(res.status, `${a.name}: ${JSON.stringify(res.body)}`).toBeGreaterThanOrEqual(400);
      expect(res.body.error?.code).toBe("manifest_invalid");
      expect(await exists(defaults, `${defaults.dataDir}/extensions/${a.decl.installId}`), `${a.name} left an install directory`).toBe(false);
    }
  }), T(60_000));

  it(`ARC-10: an app archive without [core] gets the app range ${ARC10.hostRange.app!}: refused or installed by the host's version`, async (ctx) => check(ctx, () => overridden, async () => {
    for (const [host, version] of [[defaults, HOST_DEFAULTS[configuration.key("agentVersion")]], [overridden, OVERRIDE_FILE.agentVersion]] as const) {
      const res = await install(host, APP_DEFAULT);
      const fits = semver.satisfies(version as string, ARC10.hostRange.app!);
      if (fits) {
        expect(res.status, `host ${version}: ${JSON.stringify(res.body)}`).toBe(201);
        expect(observedDefaults(res.body.manifest)).toEqual(expectedDefaults(APP_DEFAULT.decl));
      } else {
        expect(res.status, `host ${version}: ${JSON.stringify(res.body)}`).toBeGreaterThanOrEqual(400);
        expect(res.body.error?.code).toBe("incompatible_host_version");
        expect(res.body.error?.message).toContain(ARC10.hostRange.app);
        expect(res.body.error?.message).toContain(version);
      }
    }
    // The two host versions straddle the app default, so both outcomes were seen.
    expect(semver.satisfies(HOST_DEFAULTS[configuration.key("agentVersion")] as string, ARC10.hostRange.app!)).not.toBe(semver.satisfies(OVERRIDE_FILE.agentVersion, ARC10.hostRange.app!));
  }), T(60_000));

  // --- ARC-13: the extension's environment -------------------------------------------------------

  it("ARC-13: the planted variables are really in the host's own environment (precondition)", async (ctx) => check(ctx, () => defaults, async () => {
    const r = await defaults.container.exec(["/bin/sh", "-c", `tr '\\0' '\\n' < /proc/$(cat ${defaults.adapter.pidFile})/environ`]);
    expect(r.exitCode, r.stderr).toBe(0);
    const env = r.stdout.split("\n");
    expect(env).toContain("DISTCHECK_LEAK=1");
    expect(env).toContain(`SECRET_TOKEN=${SECRET}`);
    expect(env).toContain(`PATH=${PLANTED_ENV.PATH}`);
  }), T(30_000));

  for (const a of [MINIMAL, BASIC]) {
    const manifestEnv = expectedDefaults(a.decl).env as Record<string, string>;
    it(`ARC-13: ${a.name}: the process sees exactly HOME, PATH, TMPDIR, the config-path and data-dir variables${Object.keys(manifestEnv).length ? ` and its manifest env (${Object.keys(manifestEnv).join(", ")})` : ""}`, async (ctx) => check(ctx, () => defaults, async () => {
      const res = await installOnce(defaults, a);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const { line, status } = await processStart(defaults, a.decl.installId);
      const env = withoutInterpreterAdditions(line.env as Record<string, string>);
      const expectedKeys = [...EXTENSION_ENV.base, EXTENSION_ENV.configPath, EXTENSION_ENV.dataDir, ...Object.keys(manifestEnv)].sort();
      const extra = Object.keys(env).filter((k) => !expectedKeys.includes(k));
      expect(extra, `variables beyond the contract's: ${JSON.stringify(Object.fromEntries(extra.map((k) => [k, env[k]])))}`).toEqual([]);
      expect(Object.keys(env).sort()).toEqual(expectedKeys);
      for (const [k, v] of Object.entries(manifestEnv)) expect(env[k], k).toBe(v);
      expect(env[EXTENSION_ENV.configPath]).toBe(`${status.path}/config.json`);
      expect(env[EXTENSION_ENV.dataDir]).toBe(`${status.path}/data`);
      expect(env.HOME, "HOME").toMatch(/^\//);
      expect(env.TMPDIR, "TMPDIR").toMatch(/^\//);
    }), T(60_000));
  }

  it("ARC-13: the extension's PATH is the host's PATH without relative, empty or missing directories", async (ctx) => check(ctx, () => defaults, async () => {
    const res = await installOnce(defaults, MINIMAL);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const { line } = await processStart(defaults, MINIMAL.decl.installId);
    const seen = String((line.env as Json).PATH).split(":");
    // `[ -d ]` of each planted absolute directory, through the Engine API.
    const absolute = PLANTED_PATH.filter((p) => p.startsWith("/"));
    const present = await Promise.all(absolute.map((p) => defaults.container.isDirectory(p)));
    const existing = new Set(absolute.filter((_, i) => present[i]));
    expect(existing.size, "the planted PATH has existing absolute directories").toBeGreaterThan(0);
    expect(existing.has("/nonexistent/distcheck-bin"), "the planted missing directory exists?").toBe(false);
    for (const entry of seen) {
      expect(entry.startsWith("/"), `PATH entry ${JSON.stringify(entry)} is not absolute`).toBe(true);
      expect(existing.has(entry), `PATH entry ${entry} is missing or was not in the host's PATH`).toBe(true);
    }
    expect(seen, "python3's directory must stay on PATH").toContain("/usr/bin");
  }), T(60_000));

  it("ARC-13: a manifest env key in the host's reserved prefix is refused at install, leaving nothing", async (ctx) => check(ctx, () => defaults, async () => {
    const declared = Object.keys(expectedDefaults(RESERVED_ENV.decl).env as Json);
    expect(declared.some((k) => k.startsWith("DISTCHECK_")), "the fixture uses the reserved prefix").toBe(true);
    const res = await install(defaults, RESERVED_ENV);
    expect(res.status, JSON.stringify(res.body)).toBeGreaterThanOrEqual(400);
    expect(res.body.error?.code).toBe("reserved_env_key");
    const listed = (await defaults.agent.list()).map((e) => e.id);
    expect(listed).not.toContain(RESERVED_ENV.decl.installId);
    expect(await exists(defaults, `${defaults.dataDir}/extensions/${RESERVED_ENV.decl.installId}`)).toBe(false);
  }), T(60_000));

  // --- ARC-14: config.json -------------------------------------------------------------------------

  for (const a of [BASIC, CONFIG_DEFAULT_SCHEMA]) {
    it(`ARC-14: ${a.name}: config.json is written from the schema's defaults, nested objects included`, async (ctx) => check(ctx, () => defaults, async () => {
      const expected = schemaDefaults(a.decl.configSchema) ?? {};
      const predicted = a.decl.predicted !== "oracle" ? a.decl.predicted.config : undefined;
      if (predicted) expect(expected, "the harness's extraction agrees with the fixture's declared prediction").toEqual(predicted);
      expect(Object.values(expected as Json).some((v) => typeof v === "object" && v !== null), "the schema has a nested object default").toBe(true);
      const res = await installOnce(defaults, a);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const { line, status } = await processStart(defaults, a.decl.installId);
      expect(line.config, "config.json as the process read it").toEqual(expected);
      const onDisk = await defaults.container.readFileIfExists(`${status.path}/config.json`);
      expect(onDisk, `${status.path}/config.json exists`).toBeDefined();
      expect(JSON.parse(onDisk!.toString("utf8"))).toEqual(expected);
      expect(await defaults.agent.config(a.decl.installId)).toEqual(expected);
    }), T(60_000));
  }

  const saved = { apiKey: `key-${SECRET}`, interval: 5, enabled: false, connection: { host: "plc.example", port: 1502, retry: { attempts: 9, backoff_ms: 10 } }, note: "kept" };
  const restarted = once(async () => {
    const h = persistence;
    const tl = timelines.get(h) ?? new Timeline();
    timelines.set(h, tl);
    const res = await install(h, BASIC);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const first = await processStart(h, BASIC.decl.installId);
    expect(first.line.config, "the first start reads the schema defaults").toEqual(schemaDefaults(BASIC.decl.configSchema));
    tl.mark("PUT config");
    const put = await h.agent.saveConfig(BASIC.decl.installId, saved);
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    tl.mark("host restart");
    await h.restart();
    tl.mark("host ready again");
    const configAfter = await h.agent.config(BASIC.decl.installId);
    const again = await processStart(h, BASIC.decl.installId, (s) => s.pid !== first.line.pid);
    return { first, configAfter, again };
  });

  it("ARC-14: a saved configuration survives a host restart", async (ctx) => check(ctx, () => persistence, async () => {
    const r = await restarted();
    expect(r.configAfter).toEqual(saved);
    expect(r.again.line.config, "config.json as the restarted process read it").toEqual(saved);
  }), T(120_000));

  it(`ARC-14: a saved configuration survives an upgrade (${BASIC.name} ${BASIC.decl.version} → ${BASIC_NEXT.name} ${BASIC_NEXT.decl.version})`, async (ctx) => check(ctx, () => persistence, async () => {
    await restarted().catch(() => undefined); // the restart may fail on its own; the upgrade is judged apart
    const h = persistence;
    timelines.get(h)?.mark("upgrade");
    const res = await install(h, BASIC_NEXT, BASIC.decl.installId);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.version).toBe(BASIC_NEXT.decl.version);
    const next = await processStart(h, BASIC.decl.installId, (s) => s.version === BASIC_NEXT.decl.version);
    expect(next.line.version).toBe(BASIC_NEXT.decl.version);
    expect(next.line.config, "config.json as the upgraded process read it").toEqual(saved);
    expect(await h.agent.config(BASIC.decl.installId)).toEqual(saved);
  }), T(120_000));

  // --- ARC-08: where installed code lives, read-only and hashed ----------------------------------

  /** Installs arc-basic under its own id on the defaults host and waits until it runs. */
  const installedAs = (id: string): (() => Promise<ExtensionStatus>) =>
    once(async () => {
      const res = await install(defaults, BASIC, id);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return (await processStart(defaults, id)).status;
    });
  const layoutInstall = installedAs("distcheck.arc08-layout");
  const tamperInstall = installedAs("distcheck.arc08-tamper");
  const versionDirOf = (id: string): string => `${defaults.dataDir}/extensions/${id}/${BASIC.decl.version}`;

  it("ARC-08: installed code lives read-only in <data>/extensions/<id>/<version>/code/, with its integrity hash and the runtime files beside it", async (ctx) => check(ctx, () => defaults, async () => {
    const status = await layoutInstall();
    const dir = versionDirOf("distcheck.arc08-layout");
    expect(status.path, "the version directory").toBe(dir);
    // The version directory's tree through the Engine API: what `find code -perm /222`, `ls -A` and
    // `find code -name ...` would list (paths relative to the version directory; links have mode 777).
    const tree = (await defaults.container.readTree(dir)).map((e) => ({ ...e, rel: e.path.slice(dir.length + 1) })).filter((e) => e.rel !== "");
    const inCode = tree.filter((e) => e.rel === "code" || e.rel.startsWith("code/"));
    const writable = inCode.filter((e) => (parseInt(e.mode, 8) & 0o222) !== 0).map((e) => `${e.rel} ${e.mode}`);
    const beside = tree.filter((e) => !e.rel.includes("/")).map((e) => e.rel);
    const runtimeInCode = inCode.filter((e) => /^(config\.json|extension\.log|__pycache__|.*\.pyc)$/.test(e.rel.slice(e.rel.lastIndexOf("/") + 1))).map((e) => e.rel);
    expect(writable, "files and directories in code/ with a write permission bit").toEqual([]);
    expect(beside, `entries of ${dir}`).toEqual(expect.arrayContaining(["code", ".integrity", "config.json", "extension.log"]));
    expect(runtimeInCode, "runtime files inside code/").toEqual([]);
    const integrity = (await defaults.container.readFileIfExists(`${dir}/.integrity`))?.toString("utf8") ?? "";
    expect(integrity.trim(), "the recorded integrity hash").toMatch(/\S{16,}/);
  }), T(90_000));

  it("ARC-08: code modified after install is refused at start with integrity_mismatch", async (ctx) => check(ctx, () => defaults, async () => {
    const id = "distcheck.arc08-tamper";
    await tamperInstall();
    const stopped = await defaults.agent.stop(id);
    expect(stopped.status, JSON.stringify(stopped.body)).toBeLessThan(300);
    // As root inside the container (root ignores the read-only mode): one line appended to the manifest.
    const manifest = `${versionDirOf(id)}/code/extension.toml`;
    const tamper = await defaults.container.exec(["sh", "-c", `chmod u+w '${manifest}' && printf '\\n# modified after install by distcheck\\n' >> '${manifest}'`]);
    expect(tamper.exitCode, tamper.stderr).toBe(0);
    const started = await defaults.agent.start(id);
    expect(started.status, JSON.stringify(started.body)).toBeGreaterThanOrEqual(400);
    expect(started.status, JSON.stringify(started.body)).toBeLessThan(500);
    expect(started.body.error?.code, JSON.stringify(started.body)).toBe("integrity_mismatch");
    const after = await defaults.agent.status(id);
    expect(after, "the modified code is not running").toMatchObject({ pid: null });
    expect(after.state).not.toBe("running");
  }), T(90_000));

  // --- HST-01: the host's own configuration --------------------------------------------------------

  const hostVersion = adapter.defaultVersion(cell.host.source);

  it("HST-01: with nothing set in the host's configuration file or environment every key has its documented default", async (ctx) => check(ctx, () => defaults, async () => {
    const config = await defaults.effectiveConfig();
    const expected: Json = { ...HOST_DEFAULTS, platform: cell.platform.id, [configuration.key("coreVersion")]: hostVersion };
    for (const [key, value] of Object.entries(expected)) {
      expect(config.values[key], `${key}`).toEqual(value);
      expect(config.sources[key], `source of ${key}`).toBe("default");
    }
    expect(config.file).toBeNull();
  }), T(30_000));

  it("HST-01: the defaults apply: the default port answers, archives land under the default data directory, wheels in the default group load, nothing is disabled", async (ctx) => check(ctx, () => defaults, async () => {
    expect(new URL(defaults.url).port).toBe(String(HOST_DEFAULTS.port));
    expect(await defaults.readiness()).toMatchObject({ ready: true });
    const res = await installOnce(defaults, MINIMAL);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.path.startsWith(`${HOST_DEFAULTS[configuration.key("dataDir")] as string}/extensions/`), res.body.path).toBe(true);
    expect(OK_BASIC.entryPoint.group, "the sample wheel declares its entry point in the documented default group").toBe(HOST_DEFAULTS.entry_point_group);
    const listed = await defaults.extensions();
    expect(listed.map((e) => e.id)).toContain(OK_BASIC.extensionId);
  }), T(60_000));

  it("HST-01: the configuration file overrides a default, the environment overrides both, and the host names each source", async (ctx) => check(ctx, () => overridden, async () => {
    const config = await overridden.effectiveConfig();
    const [fromFile, fromEnv] = [ownKeys(OVERRIDE_FILE), ownKeys(OVERRIDE_ENV)];
    const expected: Json = { ...HOST_DEFAULTS, ...fromFile, ...fromEnv };
    for (const [key, value] of Object.entries(expected)) {
      const source = key in fromEnv ? "env" : key in fromFile ? "file" : "default";
      expect(config.values[key], `${key}`).toEqual(value);
      expect(config.sources[key], `source of ${key}`).toBe(source);
    }
    expect(config.file).toBe(configuration.file);
  }), T(30_000));

  it("HST-01: the overrides apply: the environment's disabled list and download limit win over the file", async (ctx) => check(ctx, () => overridden, async () => {
    // disabled (environment only): the sample wheel is not set up.
    const listed = await overridden.extensions();
    expect(listed.map((e) => e.id)).not.toContain(OK_BASIC.extensionId);
    const diagnostics = await overridden.diagnostics();
    expect(diagnostics).toContainEqual(expect.objectContaining({ code: "extension_disabled", extension_id: OK_BASIC.extensionId }));
    // max_download_bytes: the file's 100 bytes would refuse the archive; the environment's value admits it.
    expect(MINIMAL.size).toBeGreaterThan(OVERRIDE_FILE.maxDownloadBytes);
    expect(MINIMAL.size).toBeLessThanOrEqual(OVERRIDE_ENV.maxDownloadBytes);
    const res = await install(overridden, MINIMAL);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }), T(60_000));

  it("HST-01: a value only in config.toml applies (agent_version admits an archive the default refuses)", async (ctx) => check(ctx, () => overridden, async () => {
    const range = expectedDefaults(APP_DEFAULT.decl).host_range as string;
    expect(semver.satisfies(OVERRIDE_FILE.agentVersion, range)).toBe(true);
    expect(semver.satisfies(HOST_DEFAULTS[configuration.key("agentVersion")] as string, range)).toBe(false);
    const version = await overridden.versions();
    expect(version.agent_version).toBe(OVERRIDE_FILE.agentVersion);
    // Its own id: the ARC-10 test installs the same archive on this host.
    const res = await install(overridden, APP_DEFAULT, "distcheck.cfg-app-default-file");
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.version).toBe(APP_DEFAULT.decl.version);

  }), T(60_000));
});
