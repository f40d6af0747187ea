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
  /**
   * The container's CPU weight against the other containers (docker's --cpu-shares; 1024 each by
   * default). Suite files run two at a time: a suite that measures how long the host takes gives its
   * hosts a larger weight, so the other file's emulated processes take only the CPU they leave.
   */
  cpuShares?: number;
}

/** A started cell container. `await using` stops and removes it. */
export interface StartedCellContainer extends AsyncDisposable {
  readonly id: string;
  readonly cell: Cell;
  /**
   * The machine the container's programs are built for, as `uname -m` names it (`x86_64`,
   * `aarch64`): read natively from the ELF header of its `/usr/bin/uname` after start, and already
   * checked against the cell's platform.
   */
  readonly machine: string;
  /** The container's address on its network (the harness reaches it there); undefined with no network. */
  readonly ipAddress: string | undefined;
  exec(command: string[], options?: ExecOptions): Promise<ExecResult>;
  /**
   * Starts a process that stays attached: the harness writes its stdin and reads its output for as
   * long as it runs (a helper that is told what to do, instead of a process per request, and without
   * putting files: every archive put moves the mtime of the container's `/`). Counted as an exec.
   */
  attach(command: string[]): Promise<AttachedProcess>;
  putFiles(files: FileToPut[]): Promise<void>;
  /** A file's bytes through the Engine API's archive endpoint (no process starts in the container). */
  readFile(path: string, options?: ReadOptions): Promise<Buffer>;
  /** A file's bytes, or undefined when there is no file at `path` (Engine API, no process). */
  readFileIfExists(path: string, options?: ReadOptions): Promise<Buffer | undefined>;
  /**
   * Every path under a folder (the folder included), from the archive endpoint's tar stream read in
   * memory, never extracted and with no process started in the container.
   */
  readTree(path: string, options?: TreeOptions): Promise<TreeEntry[]>;
  /**
   * Whether anything exists at `path`, through the archive endpoint's stat (no process). A symbolic
   * link there counts as is; with `followSymlinks`, only when it leads somewhere (`test -e`).
   */
  exists(path: string, options?: ReadOptions): Promise<boolean>;
  /**
   * What `lstat` says of `path` (the last component not followed), through the archive endpoint's
   * stat; undefined when nothing is there. No process starts in the container.
   */
  stat(path: string): Promise<PathStat | undefined>;
  /**
   * What `[ -d path ]` says: a folder, or a symbolic link that leads to one (resolved inside the
   * container's root, as the kernel would). Engine API, no process.
   */
  isDirectory(path: string): Promise<boolean>;
  /**
   * The paths the container changed against its image (the Engine API's changes endpoint): added,
   * changed (copied up: written, or its metadata or entries changed) or deleted. No process.
   */
  changes(): Promise<ContainerChange[]>;
  /**
   * What `lstat` says of each path in the container's image as it was built, unchanged by the
   * container: read from a sibling container of the same image that is created, never started, and
   * removed again. Undefined for a path the image does not hold.
   */
  imageStats(paths: readonly string[]): Promise<Map<string, PathStat | undefined>>;
  /**
   * Every folder of the container's image, read once per image (the image's archive streamed through
   * a never-started sibling container, bodies skipped): the changes endpoint leaves out a folder whose
   * only change is its mtime (an entry made and removed again), so a whole-filesystem snapshot stats
   * these itself.
   */
  imageDirectories(): Promise<string[]>;
  /**
   * The folders of the container's own layer (its overlay upper directory: every folder the
   * container made, or copied up because an entry in it was made, changed or removed), read on the
   * engine's machine when the harness runs there and may read the engine's storage; undefined
   * otherwise (a remote engine, another storage driver, no permission). Only these can differ from
   * the image, so a snapshot stats them instead of every folder of the image (imageDirectories).
   * Names are listed, nothing in the layer is opened, followed or extracted.
   */
  layerDirectories(): Promise<string[] | undefined>;
  /**
   * The processes running in the container, through the Engine API's top endpoint (ps runs on the
   * engine's machine, natively). Pids are the engine machine's, not the container's own namespace:
   * match processes by command line, never by a pid the host under test reports.
   */
  processes(): Promise<ContainerProcess[]>;
  /** Stops and removes the container. */
  stop(): Promise<StoppedCellContainer>;
}

export interface ReadOptions {
  /** Follow a symbolic link at `path` itself (as `cat` does); links along the way always are. @default false */
  followSymlinks?: boolean;
  /**
   * For a file that only grows (a witness or watch log polled until a line appears): stat it first
   * (an archive HEAD, well under a millisecond of the engine's CPU) and hand back the bytes read last
   * time when its size, mode and mtime (nanoseconds) are unchanged, instead of reading it again (an
   * archive GET costs the engine about 40 ms of CPU: it starts a tar process). Not for a file a test
   * may rewrite in place with its old size and mtime. @default false
   */
  reuseIfUnchanged?: boolean;
}

export interface TreeOptions {
  /** Also give each regular file's sha256, hashed as the tar streams by (the bytes are never kept). @default false */
  hash?: boolean;
}

/** A process in a container with its stdin and output attached to the harness. */
export interface AttachedProcess {
  /** Writes to its stdin. */
  write(text: string): void;
  /** Called with each chunk of its stdout and stderr, in order (earlier chunks are replayed). */
  onOutput(listener: (text: string, stream: "stdout" | "stderr") => void): void;
  /** Resolves with its exit code when it ends (or its container does). */
  readonly exit: Promise<number>;
}

/** One process of a container, as the top endpoint's ps lists it. */
export interface ContainerProcess {
  /** The engine machine's pid (not the container's namespace). */
  pid: number;
  /** ps's one-letter state: R, S, D, Z (zombie), T... */
  state: string;
  /** Its command line (ps `args`); under qemu-user it starts with the emulator's path. */
  command: string;
}

/** `lstat` of one path, from the Engine API's archive stat. */
export interface PathStat {
  /** `f` file, `d` directory, `l` symlink, `p` fifo, `c`/`b` devices, `s` socket (find's %y letters). */
  type: string;
  size: number;
  /** Permission bits in octal, setuid/setgid/sticky included (e.g. "4755"). */
  mode: string;
  /** Modification time as the engine reports it (RFC 3339, nanoseconds). */
  mtime: string;
  /** For a symlink: where it leads, fully resolved inside the container's root; empty otherwise. */
  linkTarget: string;
}

/** One path of the container's changes against its image. */
export interface ContainerChange {
  path: string;
  kind: "added" | "changed" | "deleted";
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
  /** sha256 (hex) of a regular file's bytes, when the tree was read with `hash`. */
  sha256?: string;
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
