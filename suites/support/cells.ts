import path from "node:path";
import { it } from "vitest";
import { expandCells, filterMatrix, loadMatrix } from "../../src/matrix/matrix-loader.ts";
import type { Cell, Matrix } from "../../src/matrix/matrix.ts";
import { suiteApplies } from "../../src/hosts/suite-families.ts";
import { fromEnv, type RunProtocol } from "../../src/run/run-protocol.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

/**
 * The matrix of this run, narrowed by the run protocol the CLI sets (or a person running vitest
 * directly sets): DISTCHECK_MATRIX, DISTCHECK_FILTER_PLATFORM, DISTCHECK_FILTER_PYTHON,
 * DISTCHECK_FILTER_HOST (src/run/run-protocol.ts).
 */
export function runMatrix(protocol: RunProtocol = fromEnv(process.env)): Matrix {
  const file = protocol.matrixFile ?? path.join(ROOT, "matrix.json");
  return filterMatrix(loadMatrix(file, ROOT), { platform: protocol.platforms, python: protocol.pythons, host: protocol.hosts });
}

/** The cells a suite runs on in this run. */
export function runCells(protocol: RunProtocol = fromEnv(process.env)): Cell[] {
  return expandCells(runMatrix(protocol));
}

/**
 * The cells of this run a suite runs on: those whose host implements every family the suite needs
 * (src/hosts/suite-families.ts). The report marks the clauses of the families a host lacks not
 * applicable there; a suite never registers tests for them.
 */
export function suiteCells(suite: string): Cell[] {
  const all = runCells();
  const cells = all.filter((c) => suiteApplies(suite, c.host.adapter));
  // vitest refuses a file that registers no test; `distcheck run` leaves such a suite out, a direct
  // vitest run of it says why it has nothing to do.
  if (cells.length === 0) it.skip(`${suite}: not applicable to the hosts of this run (${[...new Set(all.map((c) => c.host.id))].join(", ") || "none"}); see src/hosts/suite-families.ts`, () => undefined);
  return cells;
}

export const PROJECT_ROOT = ROOT;
