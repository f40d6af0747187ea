import type { ReadOptions } from "../containers/cell-container.ts";
import type { FileToPut } from "../containers/cell-container.ts";
import type { ContainerEngine } from "../engine/container-engine.ts";
import type { ProgressSink } from "../images/image-builder.ts";
import type { ImageRecipe } from "../images/image-recipe.ts";
import type { PlatformInfo } from "../platform/platforms.ts";
import type { PluginDirectoryApi } from "./plugin-directory-wire.ts";
import type { BundleApi } from "./bundle-wire.ts";
import type { KernelApi } from "./kernel-wire.ts";
import type { AgentAnswer, EffectiveConfig, ExtensionStatus, HostDiagnostic, HostEvent, HostRegistry, HostVersions, InstallAnswer, InstallRequest, ListedExtension } from "./host-wire.ts";

/** The clause families of the contract (CONTRACT.md). */
export const CLAUSE_FAMILIES = ["WHL", "ARC", "DIR", "BND", "KRN", "HST"] as const;
export type ClauseFamily = (typeof CLAUSE_FAMILIES)[number];

/**
 * Settings a suite asks of a host, in contract terms. Each adapter maps them onto its host's own
 * configuration (a TOML file, a config.json, environment variables); a setting the host has no way
 * to take is refused by the adapter with `host_setting_unsupported`.
 */
export interface HostSettings {
  /** Extension ids the host must not set up (WHL-07). */
  disabled?: string[];
  /** Seconds the host waits on SIGTERM before it gives up on shutdown work (WHL-14, HST-03). */
  gracefulTimeoutS?: number;
  /** The host's data directory. @default the adapter's `dataDir` */
  dataDir?: string;
  /** PEP 440 version the host checks `requires_core_version` against (WHL-08). Hosts that read it from their own metadata take it from the image instead. */
  coreVersion?: string;
  /** SemVer version the archive agent checks host ranges against (ARC-11). */
  agentVersion?: string;
  /** ARC-03: download cap and timeout. */
  maxDownloadBytes?: number;
  downloadTimeoutS?: number;
  /** ARC-05: extraction limits. */
  maxExtractedBytes?: number;
  maxFiles?: number;
  /** ARC-16: an upgraded version that exits this soon after start failed to start. */
  startCheckS?: number;
  /** DIR-01: the folder whose `plugins/<slug>/` the host discovers. */
  pluginsRoot?: string;
  /** KRN-01: the folder whose `domains/<domain>/plugins/*.py` the kernel loads. */
  kernelRoot?: string;
}

/** How a host process is started in its cell container. */
export interface HostLaunch {
  /** argv; started as `sh -c 'echo $$ > <pidFile>; exec <argv>'` so a stop can signal exactly it. */
  command: string[];
  env: Record<string, string>;
  /** Files the settings map to (configuration files), written before each boot. */
  files: FileToPut[];
  /** The port this launch makes the host listen on. @default the adapter's `port` */
  port?: number;
}

/**
 * HST-01 observed from outside, for hosts that do not report their effective configuration: a
 * launch that leaves every documented default in force, the defaults as the harness can see them,
 * and the host's own environment variables that override them.
 */
export interface DefaultsProbe {
  /** Sets nothing that has a documented default; only what the harness needs to reach the host. */
  bare: HostLaunch;
  /** The documented default port (the harness reaches the host there) and data directory, as they resolve in the container. */
  port: number;
  dataDir: string;
  /** A path that exists once the host uses `dataDir` as its data directory. */
  dataMarker(dataDir: string): string;
  /** The bare launch with port and data directory overridden through the host's environment variables. */
  withEnv(overrides: { port: number; dataDir: string }): HostLaunch;
}

/** What `/readyz`-like probing found once the host logged that it is ready. */
export interface HostReadiness {
  ready: boolean;
  /** Start-to-ready as the host measured it, when it reports one. */
  readyMs?: number;
}

/** The contract's view of a running host, fetched by its adapter (one HTTP exchange each). */
export interface HostHttp {
  get<T>(path: string): Promise<T>;
  raw(method: string, path: string, payload?: unknown): Promise<{ statusCode: number; body: string; headers: Record<string, string | string[] | undefined> }>;
  /** Runs a command in the host's container: only to act in it, or where nothing else can look (each is an emulated process under qemu). */
  exec(command: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** A file's bytes in the host's container, undefined when there is none (Engine API, no process). */
  readFileIfExists(path: string, options?: ReadOptions): Promise<Buffer | undefined>;
  /** Whether anything exists at a path in the host's container (Engine API, no process). */
  exists(path: string): Promise<boolean>;
}

/** One documented default of a host's own configuration (HST-01). */
export interface DocumentedDefault {
  /** Contract name: port, data directory, extension group, disabled list, graceful timeout, limits. */
  setting: string;
  value: unknown;
  /** Where the host documents it (file and line, or a doc section). */
  source: string;
}

/**
 * An archive agent (ARC): installs archive extensions and supervises their processes. Only hosts
 * that implement the ARC family have one.
 */
export interface ArchiveAgent {
  install(request: InstallRequest): Promise<AgentAnswer<InstallAnswer>>;
  list(): Promise<ExtensionStatus[]>;
  status(id: string): Promise<ExtensionStatus>;
  start(id: string): Promise<AgentAnswer<ExtensionStatus>>;
  stop(id: string): Promise<AgentAnswer<ExtensionStatus>>;
  /** The saved configuration of the active version (ARC-14); null before the first start. */
  config<T = unknown>(id: string): Promise<T>;
  saveConfig(id: string, value: unknown): Promise<AgentAnswer<unknown>>;
}

/**
 * How a host's own configuration is set through its file and its environment (HST-01 precedence),
 * for hosts that also report their effective configuration.
 */
export interface HostConfiguration {
  /** The configuration file the host reads when nothing names another. */
  file: string;
  /** The host's own key for a contract setting. */
  key(setting: keyof HostSettings): string;
  /** The environment variable that sets a contract setting. */
  envName(setting: keyof HostSettings): string;
  /** A setting's value as that environment variable carries it. */
  envValue(value: NonNullable<HostSettings[keyof HostSettings]>): string;
}

/** Options of a host layer build on a base image. */
export interface HostImageBuild {
  engine: ContainerEngine;
  source: string;
  baseTag: string;
  platform: PlatformInfo;
  /** Version under test baked into the image (its metadata). */
  version: string;
  /** A mutant of the host to switch on; only hosts with a mutant catalog take one. */
  mutant?: string;
  tag: string;
  labels: Record<string, string>;
  runLabels: Record<string, string>;
  progress: ProgressSink;
}

/**
 * Everything host-specific behind one seam: how a host is installed on a base image, started,
 * configured and observed, in contract terms. Suites speak to hosts only through this (by way of
 * `BootedHost`); one implementation per host in `src/hosts/<id>-host-adapter.ts`, with its profile,
 * waivers and README in `hosts/<id>/`.
 */
export interface HostAdapter {
  /** Adapter id, as `matrix.hosts[].adapter` names it. */
  readonly id: string;
  /** Clause families the host implements; the others are reported not applicable for it. */
  readonly families: readonly ClauseFamily[];
  /** The fixture template its sample wheels are rendered with (`src/fixtures/templates/`). */
  readonly templateId: string;
  /** Entry point group the host discovers (WHL-02). */
  readonly entryPointGroup: string;
  /** Port the host listens on inside its container. */
  readonly port: number;
  /** Data directory when the suite sets none. */
  readonly dataDir: string;
  /** Where a running host's pid is written by the launcher (a stop signals exactly it). */
  readonly pidFile: string;
  /** A log line that says the host finished starting (extensions loaded and set up). */
  readonly readyLog: RegExp;
  /** Whether the core version can be set per boot (else each version is its own image). */
  readonly coreVersionAtBoot: boolean;
  /** Debian packages the host needs on top of a base recipe (built into a derived base image). */
  readonly extraPackages: readonly string[];

  /** Why a base image cannot carry this host, or undefined when it can. */
  unsupportedBase(recipe: ImageRecipe): string | undefined;
  /** Checks a host source (a tree or a wheel); throws a coded error naming the path when unusable. */
  checkSource(source: string): void;
  /** Content hash of the source, for image tags. */
  sourceHash(source: string): string;
  /** The host's own version when the suite sets none. */
  defaultVersion(source: string): string;
  /** Mutant names the host's catalog has (none for real hosts). */
  mutants(source: string): string[];
  buildHostImage(options: HostImageBuild): Promise<void>;

  launch(settings: HostSettings): HostLaunch;
  readiness(http: HostHttp): Promise<HostReadiness>;
  /** HST-01: the host's documented defaults, each with where it is documented. */
  documentedDefaults(): DocumentedDefault[];

  extensions(http: HostHttp): Promise<ListedExtension[]>;
  /** Diagnostics in the wire model (extension id, entry point, distribution where the host tells them). */
  diagnostics(http: HostHttp): Promise<HostDiagnostic[]>;
  /** Routes, services and operators by owner, as far as the host can tell (fields it cannot tell are undefined). */
  registry(http: HostHttp): Promise<Partial<HostRegistry>>;
  /** The versions the host reports of itself (`core_version`, and the agent's where it has one). */
  versions(http: HostHttp): Promise<HostVersions>;
  /** The host's effective configuration with the source of each value, where the host can tell. */
  effectiveConfig?(http: HostHttp): Promise<EffectiveConfig>;
  /** How its configuration file and environment set each setting, where it reports its effective configuration. */
  readonly configuration?: HostConfiguration;
  /** HST-01 from outside, for hosts that do not report their effective configuration. */
  readonly defaultsProbe?: DefaultsProbe;
  /** The archive agent of hosts that implement ARC. */
  agent?(http: HostHttp): ArchiveAgent;
  /** DIR: plugin directories and wheel plugins (hosts that implement DIR). */
  pluginDirectory?(http: HostHttp): PluginDirectoryApi;
  /** BND: bundles imported over HTTP (hosts that implement BND). */
  bundles?(http: HostHttp): BundleApi;
  /** KRN: the plugin kernel (hosts that implement KRN). */
  kernel?(http: HostHttp): KernelApi;
  /**
   * ARC-13: the variables an archive extension's process may get besides its manifest's `env`: the
   * base set and the host's names for the config path and the data directory. Hosts with an agent.
   */
  readonly extensionEnvironment?: { base: readonly string[]; configPath: string; dataDir: string };
  /** The host's event log (supervisor and lifecycle transitions), only what came after `sinceMs`; hosts without one have none. */
  events?(http: HostHttp, sinceMs?: number): Promise<HostEvent[]>;
  /** The URL path of a static file of an extension (WHL-12), `rawPath` appended byte for byte. */
  staticPath(extensionId: string, rawPath: string): string;
  /**
   * The code this host reports for the fact the oracle names `code`. The oracle predicts the
   * reference host's codes, which are finer than the contract's where the contract names none
   * (WHL-09, WHL-10); a host that reports the contract's coarser code for them maps here.
   */
  hostCode(code: string): string;
}
