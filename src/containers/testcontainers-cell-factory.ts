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
import { EXEC_COUNTS, execKey, type CellContainerFactory, type CellContainerOptions, type ExecOptions, type ExecResult, type FileToPut, type StartedCellContainer, type StoppedCellContainer, type TreeEntry } from "./cell-container.ts";

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

  async putFiles(files: FileToPut[]): Promise<void> {
    try {
      await this.container.copyContentToContainer(files.map((f) => ({ content: f.content, target: f.target, mode: f.mode ?? 0o644 })));
    } catch (cause) {
      throw containerFailure("container_copy_failed", this.cell, this.id, `copy ${files.map((f) => f.target).join(", ")} into it`, cause);
    }
  }

  async readFile(path: string): Promise<Buffer> {
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

  async readFileIfExists(path: string): Promise<Buffer | undefined> {
    try {
      return await this.readFile(path);
    } catch (error) {
      if ((error as DistcheckError).code === "container_file_missing") return undefined;
      throw error;
    }
  }

  async readTree(path: string): Promise<TreeEntry[]> {
    const root = path.replace(/\/+$/, "") || "/";
    const parent = root === "/" ? "" : root.slice(0, root.lastIndexOf("/"));
    const entries: TreeEntry[] = [];
    const parser = new TarParser({
      onReadEntry: (entry) => {
        const name = String(entry.path).replace(/\/+$/, "");
        entries.push({
          path: `${parent}/${name}`,
          type: TREE_TYPES[entry.type] ?? "?",
          size: entry.type === "File" || entry.type === "OldFile" || entry.type === "ContiguousFile" ? (entry.size ?? 0) : 0,
          mode: ((entry.mode ?? 0) & 0o7777).toString(8),
          mtime: entry.mtime ? String(entry.mtime.getTime() / 1000) : "0",
          target: entry.linkpath ?? "",
        });
        entry.resume();
      },
    });
    try {
      const stream = await this.container.copyArchiveFromContainer(root);
      for await (const chunk of stream) parser.write(Buffer.from(chunk as Buffer));
      parser.end();
    } catch (cause) {
      const missing = (cause as { statusCode?: number } | null)?.statusCode === 404;
      throw containerFailure(missing ? "container_file_missing" : "container_copy_failed", this.cell, this.id, `read the tree ${root}`, cause);
    }
    return entries;
  }

  async exists(path: string): Promise<boolean> {
    try {
      await engineClient(this.cell).getContainer(this.id).infoArchive({ path });
      return true;
    } catch (cause) {
      if ((cause as { statusCode?: number } | null)?.statusCode === 404) return false;
      throw containerFailure("container_copy_failed", this.cell, this.id, `stat ${path}`, cause);
    }
  }

  async processes(): Promise<Array<{ pid: number; command: string }>> {
    try {
      const top = (await engineClient(this.cell).getContainer(this.id).top({ ps_args: "-eo pid,args" })) as { Titles: string[]; Processes: string[][] };
      const pid = top.Titles.indexOf("PID");
      const cmd = top.Titles.findIndex((t) => t === "COMMAND" || t === "CMD");
      return top.Processes.map((row) => ({ pid: Number(row[pid]), command: row[cmd] ?? "" }));
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
    // A container whose first process cannot run (no binfmt for a foreign image) may already have
    // exited here, so the exec itself can fail: that is the platform's problem too.
    const uname = await started.exec(["uname", "-m"]).catch(async (cause: unknown) => {
      const log = await firstProcessLog(cell, started.getId());
      await started.stop({ remove: true, timeout: 0 }).catch(() => undefined);
      const machine = platformFailure(site, log);
      if (machine) throw machine;
      throw new ContainerError(
        "container_exec_failed",
        `Cell ${cell.id}: \`uname -m\` could not run in the container of ${options.image} just started for ${cell.platform.info.docker}: ${cause instanceof Error ? cause.message.trim() : String(cause)}. ${architectureHint(cell)}`,
        { cause },
      );
    });
    const unrunnable = execFormatFailure(`${uname.stdout}\n${uname.stderr}`, { where: `Cell ${cell.id}`, command: ["uname", "-m"], platform: cell.platform.info, endpoint: cellEndpoint(cell) });
    const machine = uname.stdout.trim();
    if (unrunnable || uname.exitCode !== 0 || machine !== cell.platform.info.uname) {
      const log = unrunnable ? "" : await firstProcessLog(cell, started.getId());
      await started.stop({ remove: true, timeout: 0 }).catch(() => undefined);
      if (unrunnable) throw unrunnable;
      // Its first process may have died of the machine already (docker-init: "exec sleep failed: Exec format error").
      const blamed = platformFailure(site, log);
      if (blamed) throw blamed;
      throw new ContainerError(
        "architecture_mismatch",
        `Cell ${cell.id}: the container of ${options.image} reports machine ${JSON.stringify(machine || uname.stderr.trim())}, expected ${cell.platform.info.uname}. ${architectureHint(cell)}`,
      );
    }
    return new StartedTestcontainersCell(cell, started, machine, options.network ? started.getIpAddress(options.network.name) : undefined);
  }
}
