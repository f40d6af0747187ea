import type { BootedHost } from "../../src/hosts/booted-host.ts";
import { waitFor } from "./timeline.ts";

export type { ExtensionStatus } from "../../src/hosts/host-wire.ts";

/**
 * Waits until the agent reports `id` at `version` running and the extension's own witness line
 * shows that process really started (not only the host's word); returns its pid.
 */
export async function runningPid(host: BootedHost, id: string, version: string, timeoutMs: number): Promise<number> {
  const status = await waitFor(`${id} ${version} to run`, async () => {
    const s = await host.agent.status(id);
    return s.state === "running" && s.version === version && s.pid ? s : undefined;
  }, timeoutMs);
  await waitFor(`process_start of ${id} pid ${status.pid}`, async () => (await host.witness()).find((l) => l.event === "process_start" && l.pid === status.pid), timeoutMs);
  return status.pid!;
}

/** CLOCK_MONOTONIC in ms: the clock of the host's event log and the witness (`t_ms`). */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;
