import type { Cell } from "../matrix/matrix.ts";

/** A file to put into a container; copied in as a tar archive. */
export interface FileToPut {
  /** Absolute path inside the container. */
  target: string;
  content: Buffer | string;
  /** @default 0o644 */
  mode?: number;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Wall time of the exec, as the harness measured it. */
  ms: number;
}

export interface ExecOptions {
  env?: Record<string, string>;
  workingDir?: string;
  user?: string;
}

/** What a suite asks of a cell's container. */
export interface CellContainerOptions {
  /** Image tag to start; a base or host image of the cell's platform. */
  image: string;
  /** Network to join; none (the default) means `--network none`. */
  network?: { name: string; aliases?: string[] };
  env?: Record<string, string>;
  files?: FileToPut[];
  /** Command to run; the default keeps the container idle for execs. */
  command?: string[];
  /** Extra labels on top of the run labels. */
  labels?: Record<string, string>;
}

/** A started cell container. `await using` stops and removes it. */
export interface StartedCellContainer extends AsyncDisposable {
  readonly id: string;
  readonly cell: Cell;
  /** What `uname -m` printed after start (already checked against the cell's platform). */
  readonly machine: string;
  /** The container's address on its network (the harness reaches it there); undefined with no network. */
  readonly ipAddress: string | undefined;
  exec(command: string[], options?: ExecOptions): Promise<ExecResult>;
  putFiles(files: FileToPut[]): Promise<void>;
  readFile(path: string): Promise<Buffer>;
  /** Stops and removes the container. */
  stop(): Promise<StoppedCellContainer>;
}

export interface StoppedCellContainer {
  readonly id: string;
}

/** Starts clean containers for cells. */
export interface CellContainerFactory {
  start(cell: Cell, options: CellContainerOptions): Promise<StartedCellContainer>;
}
