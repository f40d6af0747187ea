import type { ClauseFamily, HostAdapter } from "./host-adapter.ts";
import { hostAdapter } from "./host-adapters.ts";

/**
 * What a suite needs of a host: the clause families it checks, and any capability of the adapter
 * it observes through. A suite's cells are those whose host has all of it (suites/support/cells.ts),
 * and a run leaves out a suite none of its cells can take. Suites not listed run on every cell.
 */
export const SUITE_NEEDS: Readonly<Record<string, { families: readonly ClauseFamily[]; needs?: (adapter: HostAdapter) => boolean }>> = {
  checksum: { families: ["ARC"] },
  "hostile-archives": { families: ["ARC"] },
  "manifest-validation": { families: ["ARC"] },
  // Its HST-01 tests read the host's effective configuration and the source of each value.
  "config-defaults": { families: ["ARC"], needs: (a) => a.effectiveConfig !== undefined && a.configuration !== undefined },
  // HST-01 observed from outside, for hosts that do not report their configuration.
  "host-defaults": { families: ["HST"], needs: (a) => a.defaultsProbe !== undefined },
  "plugin-directories": { families: ["DIR"], needs: (a) => a.pluginDirectory !== undefined },
  bundles: { families: ["BND"], needs: (a) => a.bundles !== undefined },
  kernel: { families: ["KRN"], needs: (a) => a.kernel !== undefined },
};

/** Whether a suite has anything to run for a host of this adapter. */
export function suiteApplies(suite: string, adapter: string): boolean {
  const a = hostAdapter(adapter);
  const need = SUITE_NEEDS[suite];
  return need === undefined || (need.families.every((f) => a.families.includes(f)) && (need.needs?.(a) ?? true));
}
