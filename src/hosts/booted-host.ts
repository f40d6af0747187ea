import type { PluginDirectoryApi } from "./plugin-directory-wire.ts";
import { HostTrace } from "./host-trace.ts";
import { KEEP_VARIABLE } from "../run/run-identity.ts";
import type { BundleApi } from "./bundle-wire.ts";
import type { KernelApi } from "./kernel-wire.ts";
import { request as httpRequest } from "node:http";
import type { CellContainerFactory, FileToPut, ReadOptions, StartedCellContainer } from "../containers/cell-container.ts";
import type { ContainerEngine, StreamingExec } from "../engine/container-engine.ts";
import { platformFailure } from "../engine/exec-format-failure.ts";
import { DistcheckError } from "../errors/distcheck-error.ts";
import type { Cell } from "../matrix/matrix.ts";
import type { ArchiveAgent, HostAdapter, HostHttp, HostLaunch, HostReadiness, HostSettings } from "./host-adapter.ts";
import { hostAdapter } from "./host-adapters.ts";
import type { EffectiveConfig, HostDiagnostic, HostEvent, HostRegistry, HostVersions, ListedExtension, WitnessLine } from "./host-wire.ts";

export type { WitnessLine } from "./host-wire.ts";

/** The file sample extensions append their witness lines to (the fixture templates write it). */
export const WITNESS_FILE = "/tmp/distcheck-witness.jsonl";

/** HST-02: how long a host may take from start to ready on an unloaded native machine (scaled per platform). */
export const READY_BOUND_MS = 20_000;

export interface HostBootOptions {
  cell: Cell;
  /** Host image tag of the cell. */
  image: string;
  /** The run's internal network; the harness reaches the host at its address there. */
  network: string;
  /** Contract settings; the cell's host adapter maps them onto the host's configuration. */
  settings?: HostSettings;
  /** A launch of the adapter's own (HST-01 probes) instead of the one the settings map to. */
  launch?: HostLaunch;
  env?: Record<string, string>;
  files?: FileToPut[];
  /** The container's CPU weight (CellContainerOptions.cpuShares). */
  cpuShares?: number;
  /** How long the host may take to become ready, before the platform's timing factor. @default 20000 */
  readyTimeoutMs?: number;
  timingFactor?: number;
  /** Runs in the started container before the host boots (e.g. pip installs). */
  beforeBoot?: (container: StartedCellContainer) => Promise<void>;
}

/** How a host process ended after a stop. */
export interface HostExit {
  exitCode: number;
  /** From the moment the signal was delivered to the moment the exit was observed, harness clock. */
  ms: number;
}

/** A failure of the host under test to do what booting needs (never became ready, died): a product failure. */
export class HostBootError extends DistcheckError {
  constructor(
    message: string,
    readonly log: string,
    /**
     * The host ran but never reported ready within its bound (HST-02), as opposed to exiting first or
     * a readiness probe that disagrees. Only this costs a whole bound per boot, so only this stops
     * the cell's later boots (suites/support/host.ts). @default false
     */
    readonly neverReady = false,
  ) {
    super("host_boot_failed", message, { category: "product" });
    this.name = "HostBootError";
  }
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;

/**
 * A host under test, booted in a clean cell container through its adapter. The host runs as a
 * followed exec: its output is the log, the adapter's ready line is the ready event, and the end of
 * the exec is the exit event a stop waits on. The container stays up after the host stops, so what
 * outlived the host can still be inspected. Suites observe the host only through the methods here,
 * in contract terms (extensions, diagnostics, registry, versions, static files, the archive agent).
 */
export class BootedHost implements AsyncDisposable, HostHttp {
  private process: StreamingExec | undefined;
  /** How long each step of start() took: container start and files, beforeBoot (pip), boot to ready. */
  startPhases: { containerMs: number; beforeBootMs: number; bootMs: number } | undefined;
  /** Harness-clock milliseconds from starting the host process to its ready line, last boot. */
  lastBootMs: number | undefined;
  private logText = "";
  readonly adapter: HostAdapter;
  private settingsNow: HostSettings;
  private port: number;
  /** Kept only when a repro try asks for it (DISTCHECK_TRACE_DIR). */
  private readonly trace: HostTrace | undefined;
  private constructor(
    readonly container: StartedCellContainer,
    private readonly engine: ContainerEngine,
    private readonly options: HostBootOptions,
  ) {
    this.adapter = hostAdapter(options.cell.host.adapter);
    this.settingsNow = options.settings ?? {};
    this.port = this.adapter.port;
    this.trace = HostTrace.open(options.cell.id, container.id);
  }

  /** Starts a container for the cell and boots the host in it. */
  static async start(factory: CellContainerFactory, engine: ContainerEngine, options: HostBootOptions): Promise<BootedHost> {
    const t0 = performance.now();
    const container = await factory.start(options.cell, { image: options.image, network: { name: options.network }, env: options.env, files: options.files ?? [], cpuShares: options.cpuShares });
    const host = new BootedHost(container, engine, options);
    try {
      const t1 = performance.now();
      await options.beforeBoot?.(container);
      const t2 = performance.now();
      await host.boot();
      host.startPhases = { containerMs: t1 - t0, beforeBootMs: t2 - t1, bootMs: performance.now() - t2 };
      if (process.env.DISTCHECK_PROFILE) {
        const p = host.startPhases;
        process.stderr.write(`[profile] ${options.cell.id}: container ${p.containerMs.toFixed(0)} ms, before boot ${p.beforeBootMs.toFixed(0)} ms, boot ${p.bootMs.toFixed(0)} ms\n`);
      }
    } catch (error) {
      await container.stop().catch(() => undefined);
      throw error;
    }
    return host;
  }

  get url(): string {
    return `http://${this.container.ipAddress}:${this.port}`;
  }

  /** Everything the host printed since the container started (all boots). */
  get log(): string {
    return this.logText;
  }

  /** The settings of the current (or next) boot. */
  get settings(): HostSettings {
    return this.settingsNow;
  }

  /** The host's data directory in this boot. */
  get dataDir(): string {
    return this.settingsNow.dataDir ?? this.adapter.dataDir;
  }

  /** Starts the host process and resolves when it reports ready (and its readiness probe agrees). */
  async boot(settings?: HostSettings): Promise<void> {
    if (this.process) throw new DistcheckError("host_already_running", "boot() called while the host runs; stop() it first");
    if (settings) this.settingsNow = settings;
    const launch = this.options.launch && !settings ? this.options.launch : this.adapter.launch(this.settingsNow);
    this.port = launch.port ?? this.adapter.port;
    if (launch.files.length > 0) await this.container.putFiles(launch.files);
    const marker = this.logText.length;
    const started = performance.now();
    const proc = await this.engine.execStream(this.container.id, ["/bin/sh", "-c", `echo $$ > ${this.adapter.pidFile}; exec ${launch.command.map(shellQuote).join(" ")}`], {
      env: Object.entries({ ...(this.options.env ?? {}), ...launch.env }).map(([k, v]) => `${k}=${v}`),
      platform: this.options.cell.platform.info,
      where: `Cell ${this.options.cell.id}`,
    });
    this.process = proc;
    const timeout = (this.options.readyTimeoutMs ?? READY_BOUND_MS) * (this.options.timingFactor ?? 1);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new HostBootError(`${this.options.cell.id}: the host did not report ready within ${timeout} ms`, this.logText.slice(marker), true)), timeout);
      proc.onOutput((text) => {
        this.logText += text;
        if (this.adapter.readyLog.test(this.logText.slice(marker))) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.exit.then((code) => {
        clearTimeout(timer);
        this.process = undefined;
        // A host that dies while its platform's binaries have no handler (binfmt switched off) died of the machine.
        const site = { where: `Cell ${this.options.cell.id}`, what: `booting the host (it exited with ${code} before it was ready)`, platform: this.options.cell.platform.info, endpoint: this.engine.endpoint };
        reject(platformFailure(site, this.logText.slice(marker)) ?? new HostBootError(`${this.options.cell.id}: the host exited with ${code} before it was ready`, this.logText.slice(marker)));
      }, reject);
    });
    this.lastBootMs = performance.now() - started;
    const ready = await this.readiness();
    if (!ready.ready) throw new HostBootError(`${this.options.cell.id}: the host logged ready but its readiness probe says not ready`, this.logText.slice(marker));
  }

  /** Sends `signal` to the host and waits for it to exit; measures how long that took. */
  async stop(signal: "SIGTERM" | "SIGINT" | "SIGKILL" = "SIGTERM", limitMs = 60_000): Promise<HostExit> {
    const proc = this.process;
    if (!proc) throw new DistcheckError("host_not_running", "stop() called but the host is not running");
    const kill = await this.container.exec(["/bin/sh", "-c", `kill -${signal.replace("SIG", "")} "$(cat ${this.adapter.pidFile})"`]);
    if (kill.exitCode !== 0) throw new DistcheckError("host_signal_failed", `Could not send ${signal} to the host: ${kill.stderr.trim()}`);
    const sent = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const exitCode = await Promise.race([
      proc.exit,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DistcheckError("host_stop_timeout", `${this.options.cell.id}: the host did not exit within ${limitMs} ms of ${signal}`)), limitMs);
      }),
    ]).finally(() => clearTimeout(timer));
    this.process = undefined;
    return { exitCode, ms: performance.now() - sent };
  }

  /** Stops (SIGTERM) and boots again, as after an install; with `settings`, boots with those. */
  async restart(settings?: HostSettings): Promise<void> {
    if (this.process) await this.stop();
    await this.boot(settings);
  }

  /** Whether the host process is running (booted and not stopped). */
  get running(): boolean {
    return this.process !== undefined;
  }

  async get<T>(path: string): Promise<T> {
    const { statusCode, body } = await this.raw("GET", path);
    if (statusCode >= 500) throw new DistcheckError("host_http_error", `GET ${path} answered ${statusCode}: ${body.slice(0, 500)}`);
    return JSON.parse(body) as T;
  }

  async exec(command: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    return this.container.exec(command);
  }

  readFileIfExists(path: string, options?: ReadOptions): Promise<Buffer | undefined> {
    return this.container.readFileIfExists(path, options);
  }

  exists(path: string): Promise<boolean> {
    return this.container.exists(path);
  }

  // --- Observations in contract terms, through the adapter --------------------------------------

  readiness(): Promise<HostReadiness> {
    return this.adapter.readiness(this);
  }

  extensions(): Promise<ListedExtension[]> {
    return this.adapter.extensions(this);
  }

  diagnostics(): Promise<HostDiagnostic[]> {
    return this.adapter.diagnostics(this);
  }

  registry(): Promise<Partial<HostRegistry>> {
    return this.adapter.registry(this);
  }

  versions(): Promise<HostVersions> {
    return this.adapter.versions(this);
  }

  async coreVersion(): Promise<string> {
    return (await this.versions()).core_version;
  }

  /** The host's effective configuration, where it can tell (HST-01). */
  effectiveConfig(): Promise<EffectiveConfig> {
    if (!this.adapter.effectiveConfig) throw new DistcheckError("host_capability_missing", `The ${this.adapter.id} host does not report its effective configuration.`);
    return this.adapter.effectiveConfig(this);
  }

  /** Plugin directories (DIR); only hosts that implement DIR have them. */
  get plugins(): PluginDirectoryApi {
    if (!this.adapter.pluginDirectory) throw new DistcheckError("host_capability_missing", `The ${this.adapter.id} host has no plugin directories (it implements ${this.adapter.families.join(", ")}).`);
    return this.adapter.pluginDirectory(this);
  }

  /** Bundles over HTTP (BND); only hosts that implement BND have them. */
  get bundles(): BundleApi {
    if (!this.adapter.bundles) throw new DistcheckError("host_capability_missing", `The ${this.adapter.id} host imports no bundles (it implements ${this.adapter.families.join(", ")}).`);
    return this.adapter.bundles(this);
  }

  /** The plugin kernel (KRN); only hosts that implement KRN have one. */
  get kernel(): KernelApi {
    if (!this.adapter.kernel) throw new DistcheckError("host_capability_missing", `The ${this.adapter.id} host has no plugin kernel (it implements ${this.adapter.families.join(", ")}).`);
    return this.adapter.kernel(this);
  }

  /** The archive agent (ARC); only hosts that implement ARC have one. */
  get agent(): ArchiveAgent {
    if (!this.adapter.agent) throw new DistcheckError("host_capability_missing", `The ${this.adapter.id} host has no archive agent (it implements ${this.adapter.families.join(", ")}).`);
    return this.adapter.agent(this);
  }

  /** The host's event log after `sinceMs` (CLOCK_MONOTONIC). */
  events(sinceMs?: number): Promise<HostEvent[]> {
    if (!this.adapter.events) throw new DistcheckError("host_capability_missing", `The ${this.adapter.id} host keeps no event log.`);
    return this.adapter.events(this, sinceMs);
  }

  /** GET of an extension's static file (WHL-12), the path sent byte for byte. */
  async fetchStatic(extensionId: string, rawPath: string): Promise<{ status: number; body: string }> {
    const r = await this.raw("GET", this.adapter.staticPath(extensionId, rawPath));
    return { status: r.statusCode, body: r.body };
  }

  /**
   * One HTTP exchange with the host. The path goes on the wire byte for byte (node:http, not
   * fetch/undici, which resolve `..` and `%2e%2e` before sending): traversal probes must reach the
   * host as written.
   */
  async raw(method: string, path: string, payload?: unknown, port = this.port): Promise<{ statusCode: number; body: string; headers: Record<string, string | string[] | undefined> }> {
    // A Buffer goes on the wire as is (a zip bundle), anything else as JSON.
    const binary = Buffer.isBuffer(payload);
    const body = payload === undefined ? undefined : binary ? payload : Buffer.from(JSON.stringify(payload));
    const timeout = 30_000 * (this.options.timingFactor ?? 1);
    const startedAt = performance.now();
    const answer = new Promise<{ statusCode: number; body: string; headers: Record<string, string | string[] | undefined> }>((resolve, reject) => {
      const req = httpRequest(
        { host: this.container.ipAddress, port, method, path, timeout, headers: body ? { "content-type": binary ? "application/zip" : "application/json", "content-length": body.length } : {} },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ statusCode: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), headers: res.headers }));
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new DistcheckError("host_http_timeout", `${method} ${path} got no answer from ${this.options.cell.id} within ${timeout} ms`)));
      req.on("error", reject);
      req.end(body);
    });
    if (!this.trace) return answer;
    const request = body === undefined ? undefined : binary ? `(${body.length} bytes of application/zip)` : body.toString("utf8");
    return answer.then(
      (r) => (this.trace?.exchange({ startedAt, method, path, port, request, status: r.statusCode, response: r.body }), r),
      (error: unknown) => {
        this.trace?.exchange({ startedAt, method, path, port, request, error: (error as Error).message });
        throw error;
      },
    );
  }

  /** pip-installs wheels already in the container, from a local folder only. */
  async pipInstall(args: string[]): Promise<{ exitCode: number; output: string }> {
    const r = await this.container.exec(["python3", "-m", "pip", "install", "--no-index", "--disable-pip-version-check", ...args]);
    return { exitCode: r.exitCode, output: `${r.stdout}${r.stderr}` };
  }

  /** What sample extensions reported they did (INTERFACE.md witness protocol). */
  async witness(): Promise<WitnessLine[]> {
    // Read through the Engine API: no process starts in the container (under qemu each costs hundreds of ms).
    const bytes = await this.container.readFileIfExists(WITNESS_FILE, { reuseIfUnchanged: true });
    if (bytes === undefined) return [];
    return bytes.toString("utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as WitnessLine);
  }

  /** Empties the witness file, so the next lines are the next boot's. */
  async clearWitness(): Promise<void> {
    await this.container.exec(["rm", "-f", WITNESS_FILE]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.trace?.close(this, this.engine, this.container.id).catch(() => undefined);
    // A `distcheck repro --keep` try: the host stays up as the test left it, for a person to look
    // around; its container carries the kept label, so no sweep removes it (`repro --clean` does).
    if (process.env[KEEP_VARIABLE]) {
      this.trace?.kept({ containerId: this.container.id, containerName: this.container.id.slice(0, 12), cell: this.options.cell.id, url: this.url, network: this.options.network });
      return;
    }
    await this.container.stop();
  }
}
