import type { BootedHost } from "../../src/hosts/booted-host.ts";
import { waitFor } from "./timeline.ts";

/** An archive extension's status as the agent reports it (INTERFACE.md). */
export interface ExtensionStatus {
  id: string;
  version: string;
  state: string;
  pid: number | null;
  /** How the last process ended: null while running and after a user-requested stop (ARC-15). */
  exit: { code: number } | { signal: number } | null;
  /** The version directory `<data>/extensions/<id>/<version>` (ARC-08). */
  path: string;
  /** The effective manifest (ARC-10). */
  manifest: Record<string, unknown>;
  /** Present on a refused request. */
  error?: { code: string; message: string };
}

/**
 * Waits until the agent reports `id` at `version` running and the extension's own witness line
 * shows that process really started (not only the host's word); returns its pid.
 */
export async function runningPid(host: BootedHost, id: string, version: string, timeoutMs: number): Promise<number> {
  const status = await waitFor(`${id} ${version} to run`, async () => {
    const s = await host.get<ExtensionStatus>(`/api/agent/extensions/${id}`);
    return s.state === "running" && s.version === version && s.pid ? s : undefined;
  }, timeoutMs);
  await waitFor(`process_start of ${id} pid ${status.pid}`, async () => (await host.witness()).find((l) => l.event === "process_start" && l.pid === status.pid), timeoutMs);
  return status.pid!;
}

/** CLOCK_MONOTONIC in ms: the clock of the host's event log and the witness (`t_ms`). */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;
