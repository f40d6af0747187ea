import type { Readable } from "node:stream";
import Docker from "dockerode";
import { dockerOptions } from "./docker-engine.ts";

/** A time the engine at `endpoint` went away during a run, and when it answered again (if it did). */
export interface EngineOutage {
  endpoint: string;
  /** The platforms whose cells run on that engine. */
  platforms: string[];
  /** Epoch milliseconds. */
  wentAwayAt: number;
  backAt?: number;
}

export interface EngineWatchListeners {
  /** The engine went away (its event stream ended). */
  lost?: (outage: EngineOutage) => void;
  /** It answers again. */
  back?: (outage: EngineOutage) => void;
}

/**
 * Watches an engine for the length of a run through its event stream (`GET /events`): the stream
 * ends when the daemon stops or restarts, and that moment is recorded as an outage. Then the engine
 * is pinged until it answers again (there is no event to wait on while nothing listens on its
 * socket), and watched anew. Every container the run had was killed by such a restart, so the
 * report blames what failed from then on on the machine, not on the host (src/report/engine-outages.ts).
 */
export class EngineWatch {
  private readonly docker: Docker;
  private readonly found: EngineOutage[] = [];
  private stream: Readable | undefined;
  private stopped = false;

  private back: Array<() => void> = [];

  private constructor(readonly endpoint: string, private readonly platforms: string[], private readonly on: EngineWatchListeners) {
    this.docker = new Docker(dockerOptions(endpoint));
  }

  /** Starts watching; resolves once the event stream is open, so an outage from then on is seen. */
  static async start(endpoint: string, platforms: string[], on: EngineWatchListeners = {}): Promise<EngineWatch> {
    const watch = new EngineWatch(endpoint, platforms, on);
    await watch.subscribe();
    return watch;
  }

  /** Resolves when the engine answers (at once unless it is away), or after `timeoutMs`; true when it answers. */
  async answering(timeoutMs: number): Promise<boolean> {
    const open = this.found.at(-1);
    if (!open || open.backAt !== undefined) return true;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.back.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** The outages seen so far. */
  outages(): EngineOutage[] {
    return this.found.map((o) => ({ ...o, platforms: [...o.platforms] }));
  }

  stop(): void {
    this.stopped = true;
    this.stream?.destroy();
  }

  private async subscribe(): Promise<void> {
    const stream = (await this.docker.getEvents({ filters: { type: ["daemon"] } })) as unknown as Readable;
    this.stream = stream;
    let ended = false;
    const lost = (): void => {
      if (ended || this.stopped) return;
      ended = true;
      void this.lost();
    };
    stream.on("data", () => undefined);
    stream.on("end", lost);
    stream.on("close", lost);
    stream.on("error", lost);
  }

  private async lost(): Promise<void> {
    const outage: EngineOutage = { endpoint: this.endpoint, platforms: [...this.platforms], wentAwayAt: Date.now() };
    this.found.push(outage);
    this.on.lost?.(outage);
    while (!this.stopped) {
      try {
        await this.docker.ping();
        outage.backAt = Date.now();
        this.on.back?.(outage);
        for (const b of this.back.splice(0)) b();
        await this.subscribe();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }
}
