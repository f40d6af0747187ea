import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { ContainerEngine } from "../engine/container-engine.ts";

/**
 * Set by `distcheck repro` for each try: every host booted in the try keeps a trace there (its log,
 * its event timeline, every HTTP exchange with it, the container's filesystem diff). Unset, nothing
 * is recorded and nothing is written.
 */
export const TRACE_DIR_VARIABLE = "DISTCHECK_TRACE_DIR";

/** Bodies are cut to this many characters in the exchange log (a bundle upload can be megabytes). */
const BODY_LIMIT = 16_000;

/** One HTTP exchange with the host, as `http.jsonl` stores it. */
export interface TracedExchange {
  /** Milliseconds since the host's container started. */
  atMs: number;
  method: string;
  path: string;
  port: number;
  request?: string;
  status?: number;
  response?: string;
  error?: string;
  ms: number;
}

/** What the host trace reads of a host when it is closed. */
export interface TracedHost {
  readonly log: string;
  readonly running: boolean;
  events?(): Promise<unknown>;
}

const cut = (text: string): string => (text.length > BODY_LIMIT ? `${text.slice(0, BODY_LIMIT)}... (${text.length - BODY_LIMIT} more characters)` : text);

/**
 * The trace of one booted host: `<dir>/host-<cell>-<container>/`. Exchanges are appended as they
 * happen (a try killed mid-test keeps what it had); the log, the timeline and the filesystem diff are
 * written when the host is disposed, before its container goes.
 */
export class HostTrace {
  private readonly started = performance.now();
  private closing = false;

  private constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** The trace of a host in this process, or undefined when no trace is asked for. */
  static open(cellId: string, containerId: string, env: NodeJS.ProcessEnv = process.env): HostTrace | undefined {
    const root = env[TRACE_DIR_VARIABLE];
    return root ? new HostTrace(path.join(root, `host-${cellId}-${containerId.slice(0, 12)}`)) : undefined;
  }

  exchange(e: Omit<TracedExchange, "atMs" | "ms"> & { startedAt: number }): void {
    if (this.closing) return;
    const { startedAt, ...rest } = e;
    const line: TracedExchange = { atMs: Math.round(startedAt - this.started), ...rest, request: rest.request === undefined ? undefined : cut(rest.request), response: rest.response === undefined ? undefined : cut(rest.response), ms: Math.round(performance.now() - startedAt) };
    appendFileSync(path.join(this.dir, "http.jsonl"), `${JSON.stringify(line)}\n`);
  }

  /** Records that the host was left running for a person (`distcheck repro --keep`): `kept.json`, read by repro. */
  kept(info: { containerId: string; containerName: string; cell: string; url: string; network: string }): void {
    writeFileSync(path.join(this.dir, "kept.json"), JSON.stringify(info, null, 2));
  }

  /** Writes the host's log, its event timeline (when it runs and keeps one) and the container's filesystem diff. */
  async close(host: TracedHost, engine: ContainerEngine, containerId: string): Promise<void> {
    this.closing = true;
    writeFileSync(path.join(this.dir, "host.log"), host.log);
    if (host.running && host.events) {
      const events = await host.events().catch((error: unknown) => ({ error: `the event log could not be read: ${(error as Error).message}` }));
      writeFileSync(path.join(this.dir, "timeline.json"), JSON.stringify(events, null, 2));
    }
    if (engine.containerChanges) {
      const changes = await engine.containerChanges(containerId).catch((error: unknown) => ({ error: `the filesystem diff could not be read: ${(error as Error).message}` }));
      writeFileSync(path.join(this.dir, "filesystem-diff.json"), JSON.stringify(changes, null, 2));
    }
  }
}
