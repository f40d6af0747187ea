import type { Cell, Matrix } from "../matrix/matrix.ts";
import type { HostProfile } from "../report/host-verdicts.ts";
import { hostAdapter } from "./host-adapters.ts";
import { loadWaivers } from "./waivers.ts";

/**
 * What the report needs of every host of a matrix: its adapter's families, the cells the run
 * selected, the cells it cannot run on (and why), and its waivers (`hosts/<adapter>/waivers.json`).
 * A host with no selected cell gets its cells from the results (a merged report).
 */
export function hostProfiles(matrix: Matrix, cells: readonly Cell[], root: string): HostProfile[] {
  return matrix.hosts.map((h) => ({
    id: h.id,
    adapter: h.adapter,
    families: hostAdapter(h.adapter).families,
    cells: cells.filter((c) => c.host.id === h.id).map((c) => c.id),
    excluded: matrix.excluded.filter((e) => e.host === h.id).map((e) => ({ id: e.id, platform: e.platform, reason: e.reason })),
    waivers: loadWaivers(root, h.adapter),
  }));
}
