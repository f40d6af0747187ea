// The typed wire model of what host adapters return, in contract terms. Suites use these types and
// never a host's own JSON shapes.
export type { ListedExtension, HostDiagnostic, HostRegistry } from "../oracle/wheel-judge.ts";

/** One line of the witness file that sample extensions write (INTERFACE.md, witness protocol). */
export interface WitnessLine {
  fixture: string;
  ext: string;
  event: string;
  pid: number;
  t_ms: number;
  [key: string]: unknown;
}

/** An archive extension's status as an archive agent reports it (ARC-08, ARC-15). */
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
  [key: string]: unknown;
}

/** The answer to an install request (ARC-02..12). */
export interface InstallAnswer {
  id?: string;
  version?: string;
  path?: string;
  platform?: string;
  state?: string;
  pid?: number | null;
  previous_version?: string;
  manifest?: Record<string, unknown>;
  error?: { code: string; message: string };
  [key: string]: unknown;
}

/** An HTTP answer of an agent operation: its status and decoded body. */
export interface AgentAnswer<T> {
  status: number;
  body: T;
}

/** One entry of a host's event log (supervisor and lifecycle transitions, `t_ms` on CLOCK_MONOTONIC). */
export interface HostEvent {
  t_ms: number;
  event: string;
  id?: string;
  pid?: number;
  [key: string]: unknown;
}

/** An install request: one package, or platform candidates (ARC-12). */
export type InstallRequest = { source: string; sha256: string; id?: string } | { candidates: Array<{ source: string; sha256: string }>; id?: string };

/** What a host says of its own effective configuration, where it can tell (HST-01). */
export interface EffectiveConfig {
  values: Record<string, unknown>;
  /** Per key: `default`, `file`, `env` or `cli`. */
  sources: Record<string, string>;
  /** The configuration file read, or null. */
  file: string | null;
}

/** Versions a host reports of itself. */
export interface HostVersions {
  core_version: string;
  agent_version?: string;
  mutant?: string | null;
}
