import type { Readable } from "node:stream";
import Docker from "dockerode";
import { InfrastructureError, ImageBuildError } from "../errors/distcheck-error.ts";
import type { ContainerEngine, EngineContainer, EngineImage, EngineNetwork, StreamingExec } from "./container-engine.ts";
import { PassThrough } from "node:stream";

export const LOCAL_SOCKET = "unix:///var/run/docker.sock";

/** Resolves a matrix `engine` value to a DOCKER_HOST-style endpoint. */
export function resolveEndpoint(engine: string, env: NodeJS.ProcessEnv = process.env): string {
  if (engine === "env") return env.DOCKER_HOST && env.DOCKER_HOST.length > 0 ? env.DOCKER_HOST : LOCAL_SOCKET;
  if (engine === "local") return LOCAL_SOCKET;
  return engine;
}

function dockerOptions(endpoint: string): Docker.DockerOptions {
  const url = new URL(endpoint);
  switch (url.protocol) {
    case "unix:":
      return { socketPath: url.pathname };
    case "tcp:":
      return { host: url.hostname, port: Number(url.port || 2375), protocol: "http" };
    case "ssh:":
      return { host: url.hostname, port: Number(url.port || 22), username: url.username || undefined, protocol: "ssh" } as Docker.DockerOptions;
    default:
      throw new InfrastructureError("engine_endpoint_invalid", `Unsupported Docker endpoint ${endpoint}; use unix://, tcp:// or ssh://.`);
  }
}

export function engineUnavailableMessage(endpoint: string, cause: unknown): string {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const fix =
    endpoint === LOCAL_SOCKET
      ? "Start it with `sudo npm run setup-machine` (installs docker.io and starts dockerd), or `dockerd &` if it is installed."
      : `Check that the engine at ${endpoint} runs and is reachable from here (DOCKER_HOST or matrix.platforms[].engine).`;
  return `The Docker engine at ${endpoint} does not answer (${reason}). ${fix}`;
}

/** ContainerEngine over the Docker Engine API (dockerode). */
export class DockerEngine implements ContainerEngine {
  readonly endpoint: string;
  private readonly docker: Docker;

  constructor(endpoint: string = resolveEndpoint("env")) {
    this.endpoint = endpoint;
    this.docker = new Docker(dockerOptions(endpoint));
  }

  async version(): Promise<{ version: string; apiVersion: string; os: string; arch: string }> {
    try {
      const v = await this.docker.version();
      return { version: v.Version, apiVersion: v.ApiVersion, os: v.Os, arch: v.Arch };
    } catch (cause) {
      throw new InfrastructureError("engine_unavailable", engineUnavailableMessage(this.endpoint, cause), { cause });
    }
  }

  async inspectImage(tag: string): Promise<EngineImage | undefined> {
    try {
      const info = await this.docker.getImage(tag).inspect();
      return { id: info.Id, tags: info.RepoTags ?? [], labels: info.Config?.Labels ?? {}, sizeBytes: info.Size, architecture: info.Architecture };
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return undefined;
      throw error;
    }
  }

  async listImages(labelFilter: string): Promise<EngineImage[]> {
    const images = await this.docker.listImages({ filters: { label: [labelFilter] } });
    return images.map((i) => ({ id: i.Id, tags: i.RepoTags ?? [], labels: i.Labels ?? {}, sizeBytes: i.Size }));
  }

  async removeImage(idOrTag: string): Promise<void> {
    await this.docker.getImage(idOrTag).remove({ force: true });
  }

  async loadImage(archive: Readable): Promise<void> {
    const response = (await this.docker.loadImage(archive, { quiet: true })) as NodeJS.ReadableStream;
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(Buffer.from(chunk as Buffer));
    const text = Buffer.concat(chunks).toString("utf8");
    const error = text.split("\n").map((l) => l.trim()).filter(Boolean).map((l) => JSON.parse(l) as { error?: string }).find((m) => m.error);
    if (error?.error) throw new ImageBuildError(`docker load failed: ${error.error}`);
  }

  async pullImage(ref: string, platform: string, onProgress?: (line: string) => void): Promise<void> {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.pull(ref, { platform });
    } catch (cause) {
      throw new ImageBuildError(`Could not pull ${ref} for ${platform}: ${(cause as Error).message}. This machine may not reach a registry; use a debootstrap recipe instead.`, { cause });
    }
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (err) => (err ? reject(new ImageBuildError(`Pulling ${ref} failed: ${err.message}`, { cause: err })) : resolve()),
        (event: { status?: string; id?: string }) => onProgress?.(`${event.id ?? ""} ${event.status ?? ""}`.trim()),
      );
    });
  }

  async commitLayer(options: Parameters<ContainerEngine["commitLayer"]>[0]): Promise<void> {
    const container = await this.docker.createContainer({
      Image: options.image,
      platform: options.platform,
      Cmd: options.cmd,
      Env: options.env,
      Labels: options.runLabels,
      HostConfig: { NetworkMode: "none" },
    } as Docker.ContainerCreateOptions);
    try {
      await container.putArchive(options.tar, { path: "/" });
      const attach = await container.attach({ stream: true, stdout: true, stderr: true });
      const output: string[] = [];
      attach.on("data", (chunk: Buffer) => {
        // Multiplexed stream: 8-byte frame headers; strip them for readable output.
        let offset = 0;
        while (offset + 8 <= chunk.length) {
          const size = chunk.readUInt32BE(offset + 4);
          const text = chunk.subarray(offset + 8, offset + 8 + size).toString("utf8");
          output.push(text);
          options.onOutput?.(text);
          offset += 8 + size;
        }
      });
      await container.start();
      const result = (await container.wait()) as { StatusCode: number };
      if (result.StatusCode !== 0) {
        throw new ImageBuildError(`Building ${options.tag}: \`${options.cmd.join(" ")}\` exited with ${result.StatusCode} in ${options.image}.\n${output.join("").slice(-4000)}`);
      }
      await container.commit({ repo: options.tag.split(":")[0], tag: options.tag.split(":")[1], changes: Object.entries(options.labels).map(([k, v]) => `LABEL ${k}=${JSON.stringify(v)}`) } as never);
    } finally {
      await container.remove({ force: true }).catch(() => undefined);
    }
  }

  async execStream(containerId: string, cmd: string[], options: { env?: string[]; workingDir?: string } = {}): Promise<StreamingExec> {
    const exec = await this.docker.getContainer(containerId).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, Env: options.env, WorkingDir: options.workingDir });
    const stream = await exec.start({ hijack: true, stdin: false });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    this.docker.modem.demuxStream(stream, stdout, stderr);
    const listeners: Array<(text: string, s: "stdout" | "stderr") => void> = [];
    const backlog: Array<[string, "stdout" | "stderr"]> = [];
    const emit = (text: string, s: "stdout" | "stderr"): void => {
      if (listeners.length === 0) backlog.push([text, s]);
      for (const l of listeners) l(text, s);
    };
    stdout.on("data", (c: Buffer) => emit(c.toString("utf8"), "stdout"));
    stderr.on("data", (c: Buffer) => emit(c.toString("utf8"), "stderr"));
    const exit = new Promise<number>((resolve, reject) => {
      stream.on("end", () => {
        exec.inspect().then((info) => resolve(info.ExitCode ?? -1), reject);
      });
      stream.on("error", reject);
    });
    return {
      onOutput(listener) {
        listeners.push(listener);
        for (const [text, s] of backlog.splice(0)) listener(text, s);
      },
      exit,
    };
  }

  async listContainers(labelFilter: string): Promise<EngineContainer[]> {
    const list = await this.docker.listContainers({ all: true, filters: { label: [labelFilter] } });
    return list.map((c) => ({ id: c.Id, name: (c.Names[0] ?? "").replace(/^\//, ""), state: c.State, labels: c.Labels ?? {} }));
  }

  async removeContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status !== 404 && status !== 409) throw error;
    }
  }

  async createNetwork(name: string, options: { internal: boolean; labels: Record<string, string> }): Promise<EngineNetwork> {
    const network = await this.docker.createNetwork({ Name: name, Driver: "bridge", Internal: options.internal, Labels: options.labels, CheckDuplicate: true });
    return { id: network.id, name, labels: options.labels };
  }

  async listNetworks(labelFilter: string): Promise<EngineNetwork[]> {
    const list = await this.docker.listNetworks({ filters: { label: [labelFilter] } });
    return list.map((n) => ({ id: n.Id, name: n.Name, labels: n.Labels ?? {} }));
  }

  async removeNetwork(id: string): Promise<void> {
    try {
      await this.docker.getNetwork(id).remove();
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    }
  }
}
