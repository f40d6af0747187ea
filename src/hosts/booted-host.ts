import { request as httpRequest } from "node:http";
import type { CellContainerFactory, FileToPut, StartedCellContainer } from "../containers/cell-container.ts";
import type { ContainerEngine, StreamingExec } from "../engine/container-engine.ts";
import { DistcheckError } from "../errors/distcheck-error.ts";
import type { Cell } from "../matrix/matrix.ts";

/** The port the reference host listens on inside its container (INTERFACE.md). */
export const HOST_PORT = 8765;
/** HST-02: how long a host may take from start to ready on an unloaded native machine (scaled per platform). */
export const READY_BOUND_MS = 20_000;
const PID_FILE = "/run/distcheck-host.pid";

/** One line of the witness file that sample extensions write (INTERFACE.md, witness protocol). */
export interface WitnessLine {
  fixture: string;
  ext: string;
  event: string;
  pid: number;
  t_ms: number;
  [key: string]: unknown;
}

export interface HostBootOptions {
  cell: Cell;
  /** Host image tag of the cell. */
  image: string;
  /** The run's internal network; the harness reaches the host at its address there. */
  network: string;
  /** Written as TOML to /etc/distcheck-host/config.toml. */
  config?: Record<string, string | number | boolean | string[]>;
  env?: Record<string, string>;
  files?: FileToPut[];
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

/** A failure of the host under test to do what booting needs (never became ready, died). */
export class HostBootError extends DistcheckError {
  constructor(message: string, readonly log: string) {
    super("host_boot_failed", message);
    this.name = "HostBootError";
  }
}

function toToml(config: NonNullable<HostBootOptions["config"]>): string {
  return Object.entries(config)
    .map(([k, v]) => `${k} = ${Array.isArray(v) ? `[${v.map((x) => JSON.stringify(x)).join(", ")}]` : typeof v === "string" ? JSON.stringify(v) : String(v)}`)
    .join("\n") + "\n";
}

/**
 * A host under test, booted in a clean cell container. The host runs as a followed exec: its
 * output is the log, its "ready" line is the ready event, and the end of the exec is the exit
 * event a stop waits on. The container stays up after the host stops, so what outlived the host
 * can still be inspected.
 */
export class BootedHost implements AsyncDisposable {
  private process: StreamingExec | undefined;
  /** How long each step of start() took: container start and files, beforeBoot (pip), boot to ready. */
  startPhases: { containerMs: number; beforeBootMs: number; bootMs: number } | undefined;
  private logText = "";
  private constructor(
    readonly container: StartedCellContainer,
    private readonly engine: ContainerEngine,
    private readonly options: HostBootOptions,
  ) {}

  /** Starts a container for the cell and boots the host in it. */
  static async start(factory: CellContainerFactory, engine: ContainerEngine, options: HostBootOptions): Promise<BootedHost> {
    const files = [...(options.files ?? [])];
    if (options.config) files.push({ target: "/etc/distcheck-host/config.toml", content: toToml(options.config) });
    const t0 = performance.now();
    const container = await factory.start(options.cell, { image: options.image, network: { name: options.network }, env: options.env, files });
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
    return `http://${this.container.ipAddress}:${HOST_PORT}`;
  }

  /** Everything the host printed since the container started (all boots). */
  get log(): string {
    return this.logText;
  }

  /** Starts the host process and resolves when it reports ready (and /readyz agrees). */
  async boot(): Promise<void> {
    if (this.process) throw new DistcheckError("host_already_running", "boot() called while the host runs; stop() it first");
    const marker = this.logText.length;
    const proc = await this.engine.execStream(this.container.id, ["/bin/sh", "-c", `echo $$ > ${PID_FILE}; exec distcheck-host serve`], {
      env: Object.entries(this.options.env ?? {}).map(([k, v]) => `${k}=${v}`),
    });
    this.process = proc;
    const timeout = (this.options.readyTimeoutMs ?? READY_BOUND_MS) * (this.options.timingFactor ?? 1);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new HostBootError(`${this.options.cell.id}: the host did not report ready within ${timeout} ms`, this.logText.slice(marker))), timeout);
      proc.onOutput((text) => {
        this.logText += text;
        if (/\bready in [\d.]+ ms/.test(this.logText.slice(marker))) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.exit.then((code) => {
        clearTimeout(timer);
        this.process = undefined;
        reject(new HostBootError(`${this.options.cell.id}: the host exited with ${code} before it was ready`, this.logText.slice(marker)));
      }, reject);
    });
    const ready = await this.get<{ ready: boolean }>("/readyz");
    if (!ready.ready) throw new HostBootError(`${this.options.cell.id}: the host logged ready but /readyz says not ready`, this.logText.slice(marker));
  }

  /** Sends `signal` to the host and waits for it to exit; measures how long that took. */
  async stop(signal: "SIGTERM" | "SIGINT" | "SIGKILL" = "SIGTERM", limitMs = 60_000): Promise<HostExit> {
    const proc = this.process;
    if (!proc) throw new DistcheckError("host_not_running", "stop() called but the host is not running");
    const kill = await this.container.exec(["/bin/sh", "-c", `kill -${signal.replace("SIG", "")} "$(cat ${PID_FILE})"`]);
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

  /** Stops (SIGTERM) and boots again, as after an install. */
  async restart(): Promise<void> {
    if (this.process) await this.stop();
    await this.boot();
  }

  async get<T>(path: string): Promise<T> {
    const { statusCode, body } = await this.raw("GET", path);
    if (statusCode >= 500 && path !== "/readyz") throw new DistcheckError("host_http_error", `GET ${path} answered ${statusCode}: ${body.slice(0, 500)}`);
    return JSON.parse(body) as T;
  }

  async post<T>(path: string, payload: unknown): Promise<{ status: number; body: T }> {
    const { statusCode, body } = await this.raw("POST", path, payload);
    return { status: statusCode, body: JSON.parse(body) as T };
  }

  /**
   * One HTTP exchange with the host. The path goes on the wire byte for byte (node:http, not
   * fetch/undici, which resolve `..` and `%2e%2e` before sending): traversal probes must reach the
   * host as written.
   */
  async raw(method: string, path: string, payload?: unknown): Promise<{ statusCode: number; body: string; headers: Record<string, string | string[] | undefined> }> {
    const body = payload === undefined ? undefined : Buffer.from(JSON.stringify(payload));
    const timeout = 30_000 * (this.options.timingFactor ?? 1);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: this.container.ipAddress, port: HOST_PORT, method, path, timeout, headers: body ? { "content-type": "application/json", "content-length": body.length } : {} },
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
  }

  /** pip-installs wheels already in the container, from a local folder only. */
  async pipInstall(args: string[]): Promise<{ exitCode: number; output: string }> {
    const r = await this.container.exec(["python3", "-m", "pip", "install", "--no-index", "--disable-pip-version-check", ...args]);
    return { exitCode: r.exitCode, output: `${r.stdout}${r.stderr}` };
  }

  /** What sample extensions reported they did (INTERFACE.md witness protocol). */
  async witness(): Promise<WitnessLine[]> {
    const r = await this.container.exec(["cat", "/tmp/distcheck-witness.jsonl"]);
    if (r.exitCode !== 0) return [];
    return r.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as WitnessLine);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.container.stop();
  }
}
