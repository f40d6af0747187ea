import path from "node:path";
import { expandCells, filterMatrix, loadMatrix } from "../../src/matrix/matrix-loader.ts";
import type { Cell, Matrix } from "../../src/matrix/matrix.ts";
import type { ClauseFamily } from "../../src/hosts/host-adapter.ts";
import { hostAdapter } from "../../src/hosts/host-adapters.ts";

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
 * The cells of this run whose host implements every one of `families`: a suite of ARC clauses runs
 * only where the host has an archive agent. The report marks the clauses of the families a host
 * lacks not applicable there; a suite never registers tests for them.
 */
export function cellsImplementing(...families: ClauseFamily[]): Cell[] {
  return runCells().filter((c) => families.every((f) => hostAdapter(c.host.adapter).families.includes(f)));
}

export const PROJECT_ROOT = ROOT;
