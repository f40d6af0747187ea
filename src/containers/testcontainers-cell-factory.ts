import { GenericContainer, type StartedTestContainer } from "testcontainers";
import { execFormatFailure, platformFailure } from "../engine/exec-format-failure.ts";
import { ContainerError, DistcheckError } from "../errors/distcheck-error.ts";
import type { Cell } from "../matrix/matrix.ts";
import { containerEnv } from "../platform/platforms.ts";
import { runLabels } from "../run/run-identity.ts";
import Docker from "dockerode";
import { Parser as TarParser } from "tar";
import { dockerOptions, resolveEndpoint } from "../engine/docker-engine.ts";
import { testcontainersOn } from "./testcontainers-engine.ts";
import { followExec } from "../engine/followed-exec.ts";
import { createHash } from "node:crypto";
import type { Dirent, Stats } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { EXEC_COUNTS, execKey, type AttachedProcess, type CellContainerFactory, type CellContainerOptions, type ContainerChange, type ContainerProcess, type ExecOptions, type ExecResult, type FileToPut, type PathStat, type ReadOptions, type StartedCellContainer, type StoppedCellContainer, type TreeEntry, type TreeOptions } from "./cell-container.ts";
import { awaitFirstProcess, elfMachine, pathStatOf } from "./engine-observation.ts";

/** tar entry types as find's %y letters (a hard link is a regular file to find). */
const TREE_TYPES: Record<string, string> = { File: "f", OldFile: "f", ContiguousFile: "f", Link: "f", Directory: "d", SymbolicLink: "l", FIFO: "p", CharacterDevice: "c", BlockDevice: "b" };

/** The endpoint of the engine a cell's containers run on: its platform's (matrix.platforms[].engine). */
export function cellEndpoint(cell: Cell): string {
  return resolveEndpoint(cell.platform.engine);
}

const clients = new Map<string, Docker>();
/** The Engine API client of a cell's engine, for what testcontainers has no call for. */
function engineClient(cell: Cell): Docker {
  const endpoint = cellEndpoint(cell);
  let client = clients.get(endpoint);
  if (!client) clients.set(endpoint, (client = new Docker(dockerOptions(endpoint))));
  return client;
}

// The ryuk reaper image cannot be pulled here (no registry); distcheck sweeps by label instead.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";

/** GenericContainer with the host settings testcontainers has no builder for. */
class CellGenericContainer extends GenericContainer {
  withPidsLimit(limit: number): this {
    this.hostConfig.PidsLimit = limit;
    return this;
  }

  withCpuShares(shares: number): this {
    this.hostConfig.CpuShares = shares;
    return this;
  }

  /** docker-init as pid 1: reaps the zombies that extension processes leave. */
  withInit(): this {
    this.hostConfig.Init = true;
    return this;
  }
}

/**
 * A testcontainers call on a cell's container that failed, as a ContainerError (infrastructure): the
 * engine stopped answering, or the container is gone. Errors distcheck already classified pass through.
 */
function containerFailure(code: string, cell: Cell, containerId: string, what: string, cause: unknown): DistcheckError {
  if (cause instanceof DistcheckError) return cause;
  const status = (cause as { statusCode?: number } | null)?.statusCode;
  const reason = cause instanceof Error ? cause.message.trim() : String(cause);
  return new ContainerError(
    code,
    `Cell ${cell.id}: could not ${what} in container ${containerId.slice(0, 12)}${status === undefined ? "" : ` (HTTP ${status})`}: ${reason}. Check that the engine still answers and the container still runs (\`npx distcheck doctor\`, \`docker ps -a --filter label=dev.distcheck.cell=${cell.id}\`).`,
    { cause },
  );
}

/**
 * What the container's first process printed, e.g. docker-init's "exec sleep failed: Exec format
 * error" when the kernel could not run the image's command; empty when the engine cannot tell.
 */
async function firstProcessLog(cell: Cell, id: string): Promise<string> {
  try {
    const log = await engineClient(cell).getContainer(id).logs({ stdout: true, stderr: true, tail: 20 });
    return Buffer.from(log as unknown as Buffer).toString("utf8");
  } catch {
    return "";
  }
}

/** The arch hint a cell's container failure ends with. */
function architectureHint(cell: Cell): string {
  return cell.platform.info.uname === "aarch64"
    ? "Check that qemu-aarch64 binfmt is enabled (`npx distcheck doctor`) and that the image was built for arm64."
    : "The image was built for another architecture; rebuild it with `npx distcheck images build --force`.";
}

class StartedTestcontainersCell implements StartedCellContainer {
  constructor(
    readonly cell: Cell,
    private readonly container: StartedTestContainer,
    readonly machine: string,
    readonly ipAddress: string | undefined,
  ) {}

  get id(): string {
    return this.container.getId();
  }

  async exec(command: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const started = performance.now();
    EXEC_COUNTS.set(execKey(command), (EXEC_COUNTS.get(execKey(command)) ?? 0) + 1);
    const result = await this.container
      .exec(command, {
        ...(options.env ? { env: options.env } : {}),
        ...(options.workingDir ? { workingDir: options.workingDir } : {}),
        ...(options.user ? { user: options.user } : {}),
      })
      .catch(async (cause: unknown) => {
        // An exec refused because the container is gone: its host may have died of the machine.
        const machine = platformFailure({ where: `Cell ${this.cell.id}`, what: `\`${command.join(" ")}\``, platform: this.cell.platform.info, endpoint: cellEndpoint(this.cell) }, await firstProcessLog(this.cell, this.id));
        throw machine ?? containerFailure("container_exec_failed", this.cell, this.id, `run \`${command.join(" ")}\``, cause);
      });
    const output = `${result.stdout}\n${result.stderr}`;
    // A failed exec while the platform's registration is off never ran the command at all: no verdict can come of it.
    const unrunnable =
      execFormatFailure(output, { where: `Cell ${this.cell.id}`, command, platform: this.cell.platform.info, endpoint: cellEndpoint(this.cell) }) ??
      (result.exitCode !== 0 ? platformFailure({ where: `Cell ${this.cell.id}`, what: `\`${command.join(" ")}\` (exit ${result.exitCode})`, platform: this.cell.platform.info, endpoint: cellEndpoint(this.cell) }) : undefined);
    if (unrunnable) throw unrunnable;
    return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, ms: performance.now() - started };
  }

  async attach(command: string[]): Promise<AttachedProcess> {
    EXEC_COUNTS.set(execKey(command), (EXEC_COUNTS.get(execKey(command)) ?? 0) + 1);
    const docker = engineClient(this.cell);
    const { exec, stream } = await (async () => {
      const exec = await docker.getContainer(this.id).exec({ Cmd: command, AttachStdin: true, AttachStdout: true, AttachStderr: true });
      return { exec, stream: (await exec.start({ hijack: true, stdin: true })) as NodeJS.ReadWriteStream };
    })().catch(async (cause: unknown) => {
      const machine = platformFailure({ where: `Cell ${this.cell.id}`, what: `\`${command.join(" ")}\``, platform: this.cell.platform.info, endpoint: cellEndpoint(this.cell) }, await firstProcessLog(this.cell, this.id));
      throw machine ?? containerFailure("container_exec_failed", this.cell, this.id, `run \`${command.join(" ")}\``, cause);
    });
    const followed = followExec(docker.modem, exec, stream, {
      command,
      unrunnable: (head) => execFormatFailure(head, { where: `Cell ${this.cell.id}`, command, platform: this.cell.platform.info, endpoint: cellEndpoint(this.cell) }),
      failure: (what, cause) => containerFailure("container_exec_failed", this.cell, this.id, what, cause),
    });
    const exit = followed.exit;
    // Nobody may await the exit of a helper that lives as long as its container.
    exit.catch(() => undefined);
    return {
      write: (text) => void stream.write(text),
      onOutput: (listener) => followed.onOutput(listener),
      exit,
    };
  }

  async putFiles(files: FileToPut[]): Promise<void> {
    try {
      await this.container.copyContentToContainer(files.map((f) => ({ content: f.content, target: f.target, mode: f.mode ?? 0o644 })));
    } catch (cause) {
      throw containerFailure("container_copy_failed", this.cell, this.id, `copy ${files.map((f) => f.target).join(", ")} into it`, cause);
    }
  }

  /** What readFile read last of a path, by the stat it had (ReadOptions.reuseIfUnchanged). */
  private readonly lastRead = new Map<string, { stamp: string; bytes: Buffer }>();

  async readFile(path: string, options: ReadOptions = {}): Promise<Buffer> {
    // The archive endpoint resolves links along the path inside the container's root but hands over
    // a link at the end as the link itself; its stat names where that link leads.
    if (options.followSymlinks) {
      const st = await this.stat(path);
      if (st?.type === "l") return this.readFile(st.linkTarget, { reuseIfUnchanged: options.reuseIfUnchanged });
    }
    if (options.reuseIfUnchanged) {
      const st = await this.stat(path);
      if (!st) throw containerFailure("container_file_missing", this.cell, this.id, `read ${path}`, Object.assign(new Error("no such file"), { statusCode: 404 }));
      const stamp = statStamp(st);
      const last = this.lastRead.get(path);
      if (last?.stamp === stamp) return last.bytes;
      const bytes = await this.readFile(path);
      // Kept only when the file did not change while it was read (the stat after agrees).
      const after = await this.stat(path);
      if (after && statStamp(after) === stamp && bytes.length === st.size) this.lastRead.set(path, { stamp, bytes });
      else this.lastRead.delete(path);
      return bytes;
    }
    const chunks: Buffer[] = [];
    try {
      const stream = await this.container.copyArchiveFromContainer(path);
      for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
    } catch (cause) {
      const missing = (cause as { statusCode?: number } | null)?.statusCode === 404;
      throw containerFailure(missing ? "container_file_missing" : "container_copy_failed", this.cell, this.id, `read ${path}`, cause);
    }
    return firstFileOfTar(Buffer.concat(chunks), path);
  }

  async readFileIfExists(path: string, options: ReadOptions = {}): Promise<Buffer | undefined> {
    try {
      return await this.readFile(path, options);
    } catch (error) {
      if ((error as DistcheckError).code === "container_file_missing") return undefined;
      throw error;
    }
  }

  async readTree(path: string, options: TreeOptions = {}): Promise<TreeEntry[]> {
    const root = path.replace(/\/+$/, "") || "/";
    if (!options.hash) {
      const local = await this.localTree(root);
      if (local) return local;
    }
    return this.archiveTree(root, options);
  }

  /** readTree through the archive endpoint: the engine tars the tree, read here in memory. */
  async archiveTree(root: string, options: TreeOptions = {}): Promise<TreeEntry[]> {
    const parent = root === "/" ? "" : root.slice(0, root.lastIndexOf("/"));
    const entries: TreeEntry[] = [];
    const hashed: Array<Promise<void>> = [];
    const links: Array<{ record: TreeEntry; to: string }> = [];
    const parser = new TarParser({
      onReadEntry: (entry) => {
        const name = String(entry.path).replace(/\/+$/, "");
        const file = entry.type === "File" || entry.type === "OldFile" || entry.type === "ContiguousFile";
        const record: TreeEntry = {
          path: `${parent}/${name}`,
          type: TREE_TYPES[entry.type] ?? "?",
          size: file ? (entry.size ?? 0) : 0,
          mode: ((entry.mode ?? 0) & 0o7777).toString(8),
          mtime: entry.mtime ? String(entry.mtime.getTime() / 1000) : "0",
          target: entry.linkpath ?? "",
        };
        entries.push(record);
        // A hard link carries no bytes in the tar: its file is an earlier entry's (the link names it),
        // and find would give that file's size.
        if (entry.type === "Link") links.push({ record, to: `${parent}/${String(entry.linkpath).replace(/\/+$/, "")}` });
        if (options.hash && file) {
          const hash = createHash("sha256");
          hashed.push(
            new Promise<void>((resolve) =>
              entry.on("end", () => {
                record.sha256 = hash.digest("hex");
                resolve();
              }),
            ),
          );
          entry.on("data", (chunk: Buffer) => hash.update(chunk));
        } else entry.resume();
      },
    });
    try {
      const stream = await this.container.copyArchiveFromContainer(root);
      for await (const chunk of stream) parser.write(Buffer.from(chunk as Buffer));
      parser.end();
      await Promise.all(hashed);
      for (const { record, to } of links) {
        const linked = entries.find((e) => e.path === to);
        record.size = linked?.size ?? 0;
        if (options.hash) record.sha256 = linked?.sha256;
      }
    } catch (cause) {
      const missing = (cause as { statusCode?: number } | null)?.statusCode === 404;
      throw containerFailure(missing ? "container_file_missing" : "container_copy_failed", this.cell, this.id, `read the tree ${root}`, cause);
    }
    return entries;
  }

  async exists(path: string, options: ReadOptions = {}): Promise<boolean> {
    const st = await this.stat(path);
    // The engine resolved the link's whole chain inside the container's root.
    return st?.type === "l" && options.followSymlinks ? (await this.stat(st.linkTarget)) !== undefined : st !== undefined;
  }

  async stat(path: string): Promise<PathStat | undefined> {
    return statIn(engineClient(this.cell).getContainer(this.id), path, (cause) => containerFailure("container_copy_failed", this.cell, this.id, `stat ${path}`, cause));
  }

  async isDirectory(path: string): Promise<boolean> {
    const st = await this.stat(path);
    if (st?.type !== "l") return st?.type === "d";
    // The engine resolved the whole chain inside the container's root; a dangling link leads nowhere.
    return (await this.stat(st.linkTarget))?.type === "d";
  }

  async changes(): Promise<ContainerChange[]> {
    const kinds = ["changed", "added", "deleted"] as const;
    try {
      const changes = (await engineClient(this.cell).getContainer(this.id).changes()) as Array<{ Path: string; Kind: number }> | null;
      return (changes ?? []).map((c) => ({ path: c.Path, kind: kinds[c.Kind] ?? "changed" }));
    } catch (cause) {
      throw containerFailure("container_changes_failed", this.cell, this.id, "read its filesystem changes", cause);
    }
  }

  async imageStats(paths: readonly string[]): Promise<Map<string, PathStat | undefined>> {
    const found = new Map<string, PathStat | undefined>();
    if (paths.length === 0) return found;
    const docker = engineClient(this.cell);
    const fail = (what: string) => (cause: unknown) => containerFailure("container_image_stat_failed", this.cell, this.id, what, cause);
    const image = ((await docker.getContainer(this.id).inspect().catch((cause: unknown) => Promise.reject(fail("inspect it")(cause)))) as { Image: string }).Image;
    // Created, never started: the archive endpoint reads a created container's filesystem as well.
    const sibling = await docker
      .createContainer({ Image: image, Cmd: ["true"], Labels: { ...runLabels(), "dev.distcheck.cell": this.cell.id, "dev.distcheck.role": "image-stat" }, HostConfig: { NetworkMode: "none" } })
      .catch((cause: unknown) => Promise.reject(fail(`create a sibling of its image ${image.slice(0, 19)} to stat paths in`)(cause)));
    try {
      for (let i = 0; i < paths.length; i += 32) {
        const batch = paths.slice(i, i + 32);
        const stats = await Promise.all(batch.map((p) => statIn(sibling, p, fail(`stat ${p} in its image`))));
        batch.forEach((p, j) => found.set(p, stats[j]));
      }
    } finally {
      await sibling.remove({ force: true }).catch(() => undefined);
    }
    return found;
  }

  /**
   * readTree from the container's merged overlay on this machine, the same records the engine's tar
   * gives (whole-second mtimes, a later hard link naming the first as its target, sockets left out),
   * with no tar built by dockerd (an archive GET costs it about 41 ms of CPU; a run reads the data
   * directory some 1,500 times). Undefined, so the archive is read instead, when the merged folder is
   * not readable here (a remote engine, a stopped container), when a mount lies in or over the tree
   * (the merged folder does not show it), or when the container stopped while the tree was read.
   * Nothing is followed: entries are lstat-ed, and only folders are descended into.
   */
  private async localTree(root: string): Promise<TreeEntry[] | undefined> {
    if (root === "/") return undefined;
    const merged = await (this.merged ??= this.mergedView());
    if (!merged || merged.mounts.some((m) => m === root || m.startsWith(`${root}/`) || root.startsWith(`${m}/`))) return undefined;
    if (!(await isMountPoint(merged.dir))) return undefined;
    const parent = root.slice(0, root.lastIndexOf("/"));
    const entries: TreeEntry[] = [];
    const firstOfInode = new Map<string, string>();
    const visit = async (p: string): Promise<boolean> => {
      let st: Stats;
      try {
        st = await lstat(merged.dir + p);
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code === "ENOENT" || (cause as NodeJS.ErrnoException).code === "ENOTDIR") return false;
        throw cause;
      }
      const type = st.isFile() ? "f" : st.isDirectory() ? "d" : st.isSymbolicLink() ? "l" : st.isFIFO() ? "p" : st.isCharacterDevice() ? "c" : st.isBlockDevice() ? "b" : undefined;
      if (type === undefined) return true; // a socket: the engine's tar skips it
      const name = p.slice(parent.length + 1);
      let target = type === "l" ? await readlink(merged.dir + p).catch(() => "") : "";
      if (type === "f" && st.nlink > 1) {
        const inode = `${st.dev}:${st.ino}`;
        const first = firstOfInode.get(inode);
        if (first === undefined) firstOfInode.set(inode, name);
        else target = first;
      }
      entries.push({ path: p, type, size: type === "f" ? st.size : 0, mode: (st.mode & 0o7777).toString(8), mtime: String(Math.floor(st.mtimeMs / 1000)), target });
      if (type === "d") {
        const names = await readdir(merged.dir + p).catch((cause: NodeJS.ErrnoException) => (cause.code === "ENOENT" ? [] : Promise.reject(cause)));
        // The engine's tar walks each folder in byte order of the names (Go's filepath.Walk).
        for (const child of names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))) await visit(`${p}/${child}`);
      }
      return true;
    };
    const found = await visit(root);
    // Unmounted meanwhile (the container stopped): what was read may be partial.
    if (!found || !(await isMountPoint(merged.dir))) return undefined;
    return entries;
  }

  private merged?: Promise<{ dir: string; mounts: string[] } | undefined>;

  /** The container's merged overlay folder on this machine and the paths mounted over it, once. */
  private async mergedView(): Promise<{ dir: string; mounts: string[] } | undefined> {
    const info = await this.storage().catch(() => undefined);
    const dir = info?.GraphDriver?.Name === "overlay2" ? info.GraphDriver.Data?.MergedDir : undefined;
    if (!dir) return undefined;
    const mounts = [...ENGINE_MOUNTED_FILES, ...(info!.Mounts ?? []).map((m) => (m.Destination ?? "/").replace(/\/+$/, "") || "/")];
    return { dir, mounts };
  }

  private storageInfo?: Promise<ContainerStorage>;

  /** Where the engine keeps the container's filesystem and what it mounts over it: inspected once (neither changes while the container exists). */
  private storage(): Promise<ContainerStorage> {
    if (!this.storageInfo) {
      this.storageInfo = engineClient(this.cell)
        .getContainer(this.id)
        .inspect()
        .catch((cause: unknown) => Promise.reject(containerFailure("container_exec_failed", this.cell, this.id, "inspect it", cause))) as Promise<ContainerStorage>;
      // A failed inspection is asked again next time.
      this.storageInfo.catch(() => (this.storageInfo = undefined));
    }
    return this.storageInfo;
  }

  async layerDirectories(): Promise<string[] | undefined> {
    const info = await this.storage();
    const upper = info.GraphDriver?.Name === "overlay2" ? info.GraphDriver.Data?.UpperDir : undefined;
    return upper === undefined ? undefined : foldersUnder(upper);
  }

  async imageDirectories(): Promise<string[]> {
    const docker = engineClient(this.cell);
    const fail = (what: string) => (cause: unknown) => containerFailure("container_image_stat_failed", this.cell, this.id, what, cause);
    const image = ((await docker.getContainer(this.id).inspect().catch((cause: unknown) => Promise.reject(fail("inspect it")(cause)))) as { Image: string }).Image;
    let listed = IMAGE_DIRECTORIES.get(image);
    if (!listed) {
      listed = (async () => {
        const sibling = await docker
          .createContainer({ Image: image, Cmd: ["true"], Labels: { ...runLabels(), "dev.distcheck.cell": this.cell.id, "dev.distcheck.role": "image-stat" }, HostConfig: { NetworkMode: "none" } })
          .catch((cause: unknown) => Promise.reject(fail(`create a sibling of its image ${image.slice(0, 19)} to list its folders`)(cause)));
        try {
          const directories: string[] = [];
          const parser = new TarParser({
            onReadEntry: (entry) => {
              if (entry.type === "Directory") directories.push(`/${String(entry.path).replace(/^\/+|\/+$/g, "")}`);
              entry.resume();
            },
          });
          const stream = (await sibling.getArchive({ path: "/" }).catch((cause: unknown) => Promise.reject(fail(`read the folders of its image ${image.slice(0, 19)}`)(cause)))) as NodeJS.ReadableStream;
          for await (const chunk of stream) parser.write(Buffer.from(chunk as Buffer));
          parser.end();
          // The archive of "/" names its entries relative to the root ("./etc" or "etc").
          return [...new Set(directories.map((d) => (d === "/." ? "/" : d.replace(/^\/\.\//, "/"))))];
        } finally {
          await sibling.remove({ force: true }).catch(() => undefined);
        }
      })();
      IMAGE_DIRECTORIES.set(image, listed);
      listed.catch(() => IMAGE_DIRECTORIES.delete(image));
    }
    return listed;
  }

  async processes(): Promise<ContainerProcess[]> {
    try {
      // ww: the whole command line, never cut to a terminal's width.
      const top = (await engineClient(this.cell).getContainer(this.id).top({ ps_args: "-eo pid,stat,args ww" })) as { Titles: string[]; Processes: string[][] };
      const pid = top.Titles.indexOf("PID");
      const stat = top.Titles.indexOf("STAT");
      const cmd = top.Titles.findIndex((t) => t === "COMMAND" || t === "CMD");
      return top.Processes.map((row) => ({ pid: Number(row[pid]), state: (row[stat] ?? "").slice(0, 1), command: row[cmd] ?? "" }));
    } catch (cause) {
      throw containerFailure("container_exec_failed", this.cell, this.id, "list its processes (top)", cause);
    }
  }

  async stop(): Promise<StoppedCellContainer> {
    try {
      await this.container.stop({ remove: true, removeVolumes: true, timeout: 0 });
    } catch (cause) {
      throw containerFailure("container_stop_failed", this.cell, this.id, "stop and remove it", cause);
    }
    return { id: this.id };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** The folders of each image this process listed, by image id (an image never changes under its id). */
const IMAGE_DIRECTORIES = new Map<string, Promise<string[]>>();

/** `lstat` of a path in a container (running or only created) through the archive endpoint's HEAD; undefined on 404. */
async function statIn(container: Docker.Container, path: string, fail: (cause: unknown) => DistcheckError): Promise<PathStat | undefined> {
  try {
    const answer = (await container.infoArchive({ path })) as { headers?: Record<string, string | undefined> };
    return pathStatOf(answer.headers?.["x-docker-container-path-stat"], path);
  } catch (cause) {
    if ((cause as { statusCode?: number } | null)?.statusCode === 404) return undefined;
    throw fail(cause);
  }
}

/** What the engine's inspection says of a container's storage. */
interface ContainerStorage {
  GraphDriver?: { Name?: string; Data?: Record<string, string> };
  Mounts?: Array<{ Destination?: string }>;
}

/** Files the engine bind-mounts into every container; the merged overlay does not show them. */
const ENGINE_MOUNTED_FILES = ["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"];

/** Whether `dir` is readable here and something is mounted on it (its device differs from its parent's). */
async function isMountPoint(dir: string): Promise<boolean> {
  try {
    const [self, parent] = await Promise.all([lstat(dir), lstat(`${dir}/..`)]);
    return self.isDirectory() && self.dev !== parent.dev;
  } catch {
    return false;
  }
}

/**
 * Every folder below `root` on this machine, as container paths ("/" for root itself), or undefined
 * when `root` cannot be read here (the engine runs elsewhere, or storage is not ours to read).
 * Symbolic links are never followed; only folder entries are descended into.
 */
async function foldersUnder(root: string): Promise<string[] | undefined> {
  try {
    if (!(await lstat(root)).isDirectory()) return undefined;
  } catch {
    return undefined;
  }
  const found: string[] = ["/"];
  const walk = async (dir: string, rel: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (cause) {
      // Removed while listed (the container deleted it): gone, as the stat that follows will say.
      if ((cause as NodeJS.ErrnoException).code === "ENOENT") return;
      throw cause;
    }
    await Promise.all(
      entries
        .filter((e) => e.isDirectory())
        .map((e) => {
          const child = `${rel}/${e.name}`;
          found.push(child);
          return walk(`${dir}/${e.name}`, child);
        }),
    );
  };
  try {
    await walk(root, "");
  } catch {
    return undefined;
  }
  return found;
}

/** What a stat says of a file that changes when its content does (ReadOptions.reuseIfUnchanged). */
const statStamp = (st: PathStat): string => `${st.type} ${st.size} ${st.mode} ${st.mtime}`;

/** The body of the first regular file in a tar (what the engine returns for one file). */
function firstFileOfTar(tar: Buffer, path: string): Buffer {
  if (tar.length < 512) throw new ContainerError("container_file_missing", `No file at ${path} in the container`);
  const size = parseInt(tar.subarray(124, 136).toString("ascii").replace(/\0.*$/, "").trim() || "0", 8);
  const type = String.fromCharCode(tar[156] ?? 48);
  if (type === "x" || type === "L") {
    // PAX or GNU long-name header first: skip it and its body.
    const skip = 512 + Math.ceil(size / 512) * 512;
    return firstFileOfTar(tar.subarray(skip), path);
  }
  if (type !== "0" && type !== "\0") throw new ContainerError("container_file_missing", `${path} in the container is not a regular file (tar type ${JSON.stringify(type)})`);
  return tar.subarray(512, 512 + size);
}

/**
 * Starts one clean container per cell through testcontainers: the cell's platform, no network
 * unless asked, memory and pids limits, the run's labels, docker-init as pid 1. After start the
 * architecture is verified, because testcontainers' image cache ignores it. The container runs on
 * the cell's platform engine (testcontainers is bound to it first: `testcontainersOn`).
 */
export class TestcontainersCellFactory implements CellContainerFactory {
  async start(cell: Cell, options: CellContainerOptions): Promise<StartedCellContainer> {
    await testcontainersOn(cellEndpoint(cell));
    const container = new CellGenericContainer(options.image)
      .withPlatform(cell.platform.info.docker)
      .withPullPolicy({ shouldPull: () => false })
      .withLabels({ ...runLabels(), "dev.distcheck.cell": cell.id, ...options.labels })
      .withCommand(options.command ?? ["sleep", "infinity"])
      .withResourcesQuota({ memory: cell.platform.memoryMiB / 1024 })
      .withPidsLimit(cell.platform.pidsLimit)
      .withInit()
      .withEnvironment({ ...containerEnv(cell.platform.info), ...options.env });
    if (options.cpuShares !== undefined) container.withCpuShares(options.cpuShares);
    if (options.network) container.withNetworkMode(options.network.name).withNetworkAliases(...(options.network.aliases ?? []));
    else container.withNetworkMode("none");
    if (options.files?.length) {
      container.withCopyContentToContainer(options.files.map((f) => ({ content: f.content, target: f.target, mode: f.mode ?? 0o644 })));
    }
    let started: StartedTestContainer;
    // Where a start that failed of the machine (no binfmt for a foreign image) is named.
    const site = { where: `Cell ${cell.id}`, what: `starting the container of ${options.image}`, platform: cell.platform.info, endpoint: cellEndpoint(cell) };
    try {
      started = await container.start();
    } catch (cause) {
      const machine = platformFailure(site, cause instanceof Error ? cause.message : String(cause));
      if (machine) throw Object.assign(machine, { cause });
      throw new ContainerError("container_start_failed", `Could not start ${options.image} for cell ${cell.id}: ${(cause as Error).message}. Run \`npx distcheck images build\` and \`npx distcheck doctor\`.`, { cause });
    }
    // Checked natively, with no process started in the container (under qemu each costs hundreds of
    // ms): its first process became its command (a foreign one runs only through the kernel's binfmt
    // handler; without one docker-init's exec fails and the container stops), and its programs are
    // built for the cell's machine (the ELF header of the `uname` that `uname -m` would run).
    const docker = engineClient(cell).getContainer(started.getId());
    let first: Awaited<ReturnType<typeof awaitFirstProcess>> | Error = await awaitFirstProcess({
      running: async () => ((await docker.inspect()) as { State: { Running: boolean } }).State.Running,
      commands: async () => ((await docker.top()) as { Processes: string[][] }).Processes.map((row) => row.at(-1) ?? ""),
    }).catch((cause: unknown) => cause as Error);
    let machine = "";
    let unreadable: unknown;
    if (first === "running") {
      const elf = await new StartedTestcontainersCell(cell, started, "", undefined).readFile("/usr/bin/uname").catch((cause: unknown) => ((unreadable = cause), undefined));
      machine = elf ? (elfMachine(elf) ?? "not an ELF program") : "";
      // A command that ended already leaves nothing to exec into, as the exec of `uname -m` found before.
      if (!((await docker.inspect().catch(() => undefined)) as { State?: { Running?: boolean } } | undefined)?.State?.Running) first = "exited";
    }
    if (first !== "running" || machine !== cell.platform.info.uname) {
      const log = await firstProcessLog(cell, started.getId());
      await started.stop({ remove: true, timeout: 0 }).catch(() => undefined);
      // Its first process may have died of the machine (docker-init: "exec sleep failed: Exec format error").
      const blamed = platformFailure(site, log);
      if (blamed) throw blamed;
      if (first !== "running" || unreadable !== undefined) {
        const why = first === "exited" ? "stopped right after it started" : first === "timeout" ? "did not run its command within 60 s" : first === "running" ? `has no readable /usr/bin/uname (${(unreadable as Error).message})` : `could not be inspected (${first.message})`;
        throw new ContainerError("container_start_failed", `Cell ${cell.id}: the container of ${options.image} just started for ${cell.platform.info.docker} ${why}${log.trim() ? `; it printed: ${log.trim().slice(0, 500)}` : ""}. ${architectureHint(cell)}`, { cause: first instanceof Error ? first : unreadable });
      }
      throw new ContainerError(
        "architecture_mismatch",
        `Cell ${cell.id}: the programs in the container of ${options.image} are built for ${JSON.stringify(machine)} (ELF header of /usr/bin/uname), expected ${cell.platform.info.uname}. ${architectureHint(cell)}`,
      );
    }
    return new StartedTestcontainersCell(cell, started, machine, options.network ? started.getIpAddress(options.network.name) : undefined);
  }
}
