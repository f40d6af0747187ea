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
  path: string;
}

/** matrix.json with every default applied. */
export interface Matrix {
  platforms: MatrixPlatform[];
  bases: MatrixBase[];
  hosts: MatrixHost[];
  suites: string[];
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
