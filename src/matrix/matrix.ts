import type { PlatformId, PlatformInfo } from "../platform/platforms.ts";

/** One platform row of matrix.json. */
export interface MatrixPlatform {
  id: PlatformId;
  /** Docker endpoint: `env` uses DOCKER_HOST or the local socket. @default "env" */
  engine: string;
  /** Slowdown against native; `auto` measures it at run start. @default "auto" */
  timingFactor: number | "auto";
  /** @default 1024 */
  memoryMiB: number;
  /** @default 512 */
  pidsLimit: number;
}

/** A base image row: a recipe in images/ and the Python it provides. */
export interface MatrixBase {
  id: string;
  image: string;
  python: string;
}

/** A host under test. */
export interface MatrixHost {
  id: string;
  /** The adapter that installs, starts and observes it (src/hosts/). */
  adapter: string;
  /** Source tree or wheel, as the matrix names it (relative to the project root) or DISTCHECK_SOURCE_<ID> sets it. */
  source: string;
  /** Base ids this host runs on (the adapter's supported bases unless the matrix narrows them). */
  bases: string[];
  /** Whether a run without --host includes it. @default true */
  default: boolean;
}

/** A platform x base x host combination the matrix names but that cannot run, and why. */
export interface ExcludedCell {
  id: string;
  platform: PlatformId;
  base: string;
  host: string;
  reason: string;
}

/** matrix.json with every default applied. */
export interface Matrix {
  platforms: MatrixPlatform[];
  bases: MatrixBase[];
  hosts: MatrixHost[];
  suites: string[];
  /** Cells that are not applicable, with the reason (a base a host's adapter does not support). */
  excluded: ExcludedCell[];
}

/** One cell: a clean container of `base` on `platform` with `host` installed. */
export interface Cell {
  /** `linux-x86_64.bookworm.reference` */
  id: string;
  platform: MatrixPlatform & { info: PlatformInfo };
  base: MatrixBase;
  host: MatrixHost;
}

/** Command-line filters; each narrows the matrix, and every value must exist in it. */
export interface MatrixFilter {
  platform?: string[];
  python?: string[];
  suite?: string[];
  host?: string[];
}

export const MATRIX_DEFAULTS = {
  engine: "env",
  timingFactor: "auto",
  memoryMiB: 1024,
  pidsLimit: 512,
} as const satisfies Partial<MatrixPlatform>;
