import path from "node:path";
import { expandCells, filterMatrix, loadMatrix } from "../../src/matrix/matrix-loader.ts";
import type { Cell, Matrix } from "../../src/matrix/matrix.ts";

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

export const PROJECT_ROOT = ROOT;
