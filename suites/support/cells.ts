import path from "node:path";
import { it } from "vitest";
import { expandCells, filterMatrix, loadMatrix } from "../../src/matrix/matrix-loader.ts";
import type { Cell, Matrix } from "../../src/matrix/matrix.ts";
import { suiteApplies } from "../../src/hosts/suite-families.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

function list(value: string | undefined): string[] | undefined {
  const items = (value ?? "").split(",").map((v) => v.trim()).filter(Boolean);
  return items.length > 0 ? items : undefined;
}

/**
 * The matrix of this run, narrowed by the environment the CLI sets (or a person running vitest
 * directly sets): DISTCHECK_MATRIX, DISTCHECK_PLATFORM, DISTCHECK_PYTHON, DISTCHECK_HOST.
 */
export function runMatrix(env: NodeJS.ProcessEnv = process.env): Matrix {
  const file = env.DISTCHECK_MATRIX ?? path.join(ROOT, "matrix.json");
  return filterMatrix(loadMatrix(file, ROOT), { platform: list(env.DISTCHECK_PLATFORM), python: list(env.DISTCHECK_PYTHON), host: list(env.DISTCHECK_HOST) });
}

/** The cells a suite runs on in this run. */
export function runCells(env: NodeJS.ProcessEnv = process.env): Cell[] {
  return expandCells(runMatrix(env));
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
