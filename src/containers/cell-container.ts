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
  /** A file's bytes through the Engine API's archive endpoint (no process starts in the container). */
  readFile(path: string): Promise<Buffer>;
  /** A file's bytes, or undefined when there is no file at `path` (Engine API, no process). */
  readFileIfExists(path: string): Promise<Buffer | undefined>;
  /**
   * Every path under a folder (the folder included), from the archive endpoint's tar stream read in
   * memory, never extracted and with no process started in the container.
   */
  readTree(path: string): Promise<TreeEntry[]>;
  /** Whether anything exists at `path`, through the archive endpoint's stat (no process). */
  exists(path: string): Promise<boolean>;
  /** The processes running in the container, through the Engine API's top endpoint (ps runs on the engine's machine, natively). */
  processes(): Promise<Array<{ pid: number; command: string }>>;
  /** Stops and removes the container. */
  stop(): Promise<StoppedCellContainer>;
}

/** One path of a tree read through the Engine API. */
export interface TreeEntry {
  /** Absolute path in the container. */
  path: string;
  /** `f` file (hard links too), `d` directory, `l` symlink, `p` fifo, `c`/`b` devices. */
  type: string;
  /** Bytes of a regular file; 0 for the others. */
  size: number;
  /** Permission bits in octal, setuid/setgid/sticky included (e.g. "4755"). */
  mode: string;
  /** Modification time in seconds, as precise as the engine's tar gives it. */
  mtime: string;
  /** Symlink target, empty otherwise. */
  target: string;
}

export interface StoppedCellContainer {
  readonly id: string;
}

/** Starts clean containers for cells. */
export interface CellContainerFactory {
  start(cell: Cell, options: CellContainerOptions): Promise<StartedCellContainer>;
}

/**
 * Every process a harness started inside a cell container (docker exec), by program, for this
 * process: under emulation each costs a process start of hundreds of milliseconds, so looking goes
 * through the Engine API and only acting starts a process. Read by the benchmark and the run's
 * environment report.
 */
export const EXEC_COUNTS = new Map<string, number>();

/** The program an exec starts, for EXEC_COUNTS (`sh -c 'cat ...'` counts as `sh -c cat`). */
export function execKey(command: readonly string[]): string {
  if ((command[0] === "sh" || command[0] === "/bin/sh") && command[1] === "-c") return `sh -c ${(command[2] ?? "").trim().split(/\s+/)[0]}`;
  return command[0] === "python3" && command[1] === "-m" ? `python3 -m ${command[2]}` : (command[0] ?? "");
}
