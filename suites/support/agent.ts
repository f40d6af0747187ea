import type { BootedHost } from "../../src/hosts/booted-host.ts";

/** An archive extension's status as the agent reports it (INTERFACE.md). */
export interface ExtensionStatus {
  id: string;
  version: string;
  state: string;
  pid: number | null;
}

/**
 * Polls `probe` until it returns a value, backing off from 20 ms to 500 ms; throws after
 * `timeoutMs`. For states the host exposes only by being asked (no event stream to wait on).
 */
export async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let delay = 20;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 500);
  }
}

/**
 * Waits until the agent reports `id` at `version` running and the extension's own witness line
 * shows that process really started (not only the host's word); returns its pid.
 */
export async function runningPid(host: BootedHost, id: string, version: string, timeoutMs: number): Promise<number> {
  const status = await waitFor(async () => {
    const s = await host.get<ExtensionStatus>(`/api/agent/extensions/${id}`);
    return s.state === "running" && s.version === version && s.pid ? s : undefined;
  }, timeoutMs, `${id} ${version} to run`);
  await waitFor(async () => (await host.witness()).find((l) => l.event === "process_start" && l.pid === status.pid), timeoutMs, `process_start of ${id} pid ${status.pid}`);
  return status.pid!;
}

/** CLOCK_MONOTONIC in ms: the clock of the host's event log and the witness (`t_ms`). */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;
