import { ReferencePluginDirectory, type PluginDirectoryApi } from "./plugin-directory-wire.ts";
import { ReferenceBundles, type BundleApi } from "./bundle-wire.ts";
import { ReferenceKernel, type KernelApi } from "./kernel-wire.ts";
import { existsSync } from "node:fs";
import path from "node:path";
import { stringify as stringifyToml } from "smol-toml";
import { DistcheckError } from "../errors/distcheck-error.ts";
import type { ImageRecipe } from "../images/image-recipe.ts";
import { buildHostImage, readHostPyprojectVersion } from "../images/host-image-builder.ts";
import { hostSourceHash } from "../images/host-source.ts";
import { loadMutantEdits, loadMutants } from "../mutants/mutant-catalog.ts";
import type { ArchiveAgent, DocumentedDefault, HostAdapter, HostConfiguration, HostHttp, HostImageBuild, HostLaunch, HostReadiness, HostSettings } from "./host-adapter.ts";
import type { AgentAnswer, EffectiveConfig, ExtensionStatus, HostDiagnostic, HostEvent, HostRegistry, HostVersions, InstallAnswer, InstallRequest, ListedExtension } from "./host-wire.ts";

/** Where the reference host reads its configuration file (hosts/reference/INTERFACE.md). */
export const REFERENCE_CONFIG_FILE = "/etc/distcheck-host/config.toml";

/** The reference host's documented defaults (hosts/reference/INTERFACE.md, "Configuration"). */
export const REFERENCE_DEFAULTS = {
  bind: "0.0.0.0",
  port: 8765,
  data_dir: "/var/lib/distcheck-host",
  entry_point_group: "distcheck.extensions",
  disabled: [] as string[],
  graceful_timeout: 10,
  max_download_bytes: 524_288_000,
  download_timeout: 60,
  max_extracted_bytes: 2_147_483_648,
  max_files: 10_000,
  poll_interval: 0.05,
  kill_confirm: 1,
  start_check: 1,
  agent_version: "25.1.0",
} as const;

type TomlValue = string | number | boolean | string[];

/** The reference host's own keys (TOML file, `DISTCHECK_HOST_<KEY>`) of the contract settings. */
const REFERENCE_KEYS: Record<keyof HostSettings, string> = {
  disabled: "disabled",
  gracefulTimeoutS: "graceful_timeout",
  dataDir: "data_dir",
  coreVersion: "core_version",
  agentVersion: "agent_version",
  maxDownloadBytes: "max_download_bytes",
  downloadTimeoutS: "download_timeout",
  maxExtractedBytes: "max_extracted_bytes",
  maxFiles: "max_files",
  startCheckS: "start_check",
  pluginsRoot: "plugins_root",
  kernelRoot: "kernel_root",
};

/** The reference host's TOML keys for the contract settings. */
export function referenceConfig(settings: HostSettings): Record<string, TomlValue> {
  const out: Record<string, TomlValue> = {};
  for (const [setting, key] of Object.entries(REFERENCE_KEYS) as Array<[keyof HostSettings, string]>) if (settings[setting] !== undefined) out[key] = settings[setting] as TomlValue;
  return out;
}

/** One TOML value as smol-toml writes it (TOML's escapes, not JSON's; nan, inf, floats for unsafe integers). */
const tomlValue = (v: string | number | boolean): string => stringifyToml({ v }).slice("v = ".length, -1);

/**
 * The reference host's TOML files (config.toml, build.toml): top-level `key = value` lines under an
 * optional `# comment`, arrays inline as `["a", "b"]`. Keys are the host's own, all bare.
 */
export function toToml(config: Record<string, TomlValue>, options: { comment?: string } = {}): string {
  const lines = Object.entries(config).map(([k, v]) => `${k} = ${Array.isArray(v) ? `[${v.map(tomlValue).join(", ")}]` : tomlValue(v)}`);
  return `${[...(options.comment === undefined ? [] : [`# ${options.comment}`]), ...lines].join("\n")}\n`;
}

const json = (body: string): unknown => (body === "" ? null : JSON.parse(body));

async function call<T>(http: HostHttp, method: string, route: string, payload?: unknown): Promise<AgentAnswer<T>> {
  const r = await http.raw(method, route, payload);
  return { status: r.statusCode, body: json(r.body) as T };
}

/** The reference host's archive agent over its HTTP API (INTERFACE.md, agent routes). */
class ReferenceArchiveAgent implements ArchiveAgent {
  constructor(private readonly http: HostHttp) {}
  install(request: InstallRequest): Promise<AgentAnswer<InstallAnswer>> {
    return call(this.http, "POST", "/api/agent/install", request);
  }
  list(): Promise<ExtensionStatus[]> {
    return this.http.get("/api/agent/extensions");
  }
  status(id: string): Promise<ExtensionStatus> {
    return this.http.get(`/api/agent/extensions/${id}`);
  }
  start(id: string): Promise<AgentAnswer<ExtensionStatus>> {
    return call(this.http, "POST", `/api/agent/extensions/${id}/start`, {});
  }
  stop(id: string): Promise<AgentAnswer<ExtensionStatus>> {
    return call(this.http, "POST", `/api/agent/extensions/${id}/stop`, {});
  }
  config<T = unknown>(id: string): Promise<T> {
    return this.http.get(`/api/agent/extensions/${id}/config`);
  }
  saveConfig(id: string, value: unknown): Promise<AgentAnswer<unknown>> {
    return call(this.http, "PUT", `/api/agent/extensions/${id}/config`, value);
  }
}

/**
 * The reference host (`hosts/reference/`): distcheck's own executable form of the contract. It
 * implements WHL, ARC and HST, takes every setting per boot (TOML file), and has a mutant catalog.
 */
export class ReferenceHostAdapter implements HostAdapter {
  readonly id = "reference";
  readonly families = ["WHL", "ARC", "DIR", "BND", "KRN", "HST"] as const;
  readonly templateId = "reference";
  readonly entryPointGroup = REFERENCE_DEFAULTS.entry_point_group;
  readonly port = REFERENCE_DEFAULTS.port;
  readonly dataDir = REFERENCE_DEFAULTS.data_dir;
  readonly pidFile = "/run/distcheck-host.pid";
  readonly readyLog = /\bready in [\d.]+ ms/;
  readonly coreVersionAtBoot = true;
  /** INTERFACE.md, "Extension processes". */
  readonly extensionEnvironment = { base: ["HOME", "PATH", "TMPDIR"], configPath: "DISTCHECK_CONFIG_PATH", dataDir: "DISTCHECK_DATA_DIR" } as const;
  readonly extraPackages: readonly string[] = [];
  /** INTERFACE.md, Configuration: the TOML file, `DISTCHECK_HOST_<KEY>` variables, lists comma-separated. */
  readonly configuration: HostConfiguration = {
    file: REFERENCE_CONFIG_FILE,
    key: (setting) => REFERENCE_KEYS[setting],
    envName: (setting) => `DISTCHECK_HOST_${REFERENCE_KEYS[setting].toUpperCase()}`,
    envValue: (value) => (Array.isArray(value) ? value.join(",") : String(value)),
  };

  /** Python >= 3.11 and `packaging`, which every base recipe has. */
  unsupportedBase(_recipe: ImageRecipe): string | undefined {
    return undefined;
  }

  checkSource(source: string): void {
    if (!existsSync(path.join(source, "pyproject.toml"))) {
      throw new DistcheckError("host_source_missing", `The reference host's source ${source} has no pyproject.toml. Point matrix.hosts[].source at hosts/reference.`, { category: "input" });
    }
  }

  sourceHash(source: string): string {
    return hostSourceHash(source);
  }

  defaultVersion(source: string): string {
    return readHostPyprojectVersion(source) ?? "0.0.0";
  }

  mutants(source: string): string[] {
    return loadMutants(source).map((m) => m.name);
  }

  async buildHostImage(options: HostImageBuild): Promise<void> {
    await buildHostImage({
      engine: options.engine,
      hostId: this.id,
      hostDir: options.source,
      baseTag: options.baseTag,
      platform: options.platform,
      settings: { coreVersion: options.version, mutant: options.mutant },
      // A mutant is the clean source with its edits (hosts/reference/mutants/<name>.json) applied.
      edits: options.mutant ? loadMutantEdits(options.source, options.mutant) : undefined,
      tag: options.tag,
      labels: options.labels,
      runLabels: options.runLabels,
      progress: options.progress,
    });
  }

  launch(settings: HostSettings): HostLaunch {
    const config = referenceConfig(settings);
    return { command: ["distcheck-host", "serve"], env: {}, files: Object.keys(config).length > 0 ? [{ target: REFERENCE_CONFIG_FILE, content: toToml(config) }] : [] };
  }

  async readiness(http: HostHttp): Promise<HostReadiness> {
    const r = await http.raw("GET", "/readyz");
    const body = json(r.body) as { ready?: boolean; ready_ms?: number } | null;
    return { ready: r.statusCode === 200 && body?.ready === true, readyMs: body?.ready_ms };
  }

  documentedDefaults(): DocumentedDefault[] {
    const source = "hosts/reference/INTERFACE.md, Configuration (HST-01)";
    return Object.entries(REFERENCE_DEFAULTS).map(([setting, value]) => ({ setting, value, source }));
  }

  extensions(http: HostHttp): Promise<ListedExtension[]> {
    return http.get("/api/extensions");
  }

  diagnostics(http: HostHttp): Promise<HostDiagnostic[]> {
    return http.get("/api/diagnostics");
  }

  registry(http: HostHttp): Promise<HostRegistry> {
    return http.get("/api/registry");
  }

  versions(http: HostHttp): Promise<HostVersions> {
    return http.get("/api/version");
  }

  effectiveConfig(http: HostHttp): Promise<EffectiveConfig> {
    return http.get("/api/config");
  }

  agent(http: HostHttp): ArchiveAgent {
    return new ReferenceArchiveAgent(http);
  }

  pluginDirectory(http: HostHttp): PluginDirectoryApi {
    return new ReferencePluginDirectory(http);
  }

  bundles(http: HostHttp): BundleApi {
    return new ReferenceBundles(http);
  }

  kernel(http: HostHttp): KernelApi {
    return new ReferenceKernel(http);
  }

  events(http: HostHttp, sinceMs?: number): Promise<HostEvent[]> {
    return http.get(`/api/events${sinceMs === undefined ? "" : `?since=${sinceMs}`}`);
  }

  staticPath(extensionId: string, rawPath: string): string {
    return `/extensions/${extensionId}/${rawPath}`;
  }

  hostCode(code: string): string {
    return code;
  }
}
