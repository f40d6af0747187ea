import type { Readable } from "node:stream";
import Docker from "dockerode";
import { DistcheckError, InfrastructureError, ImageBuildError } from "../errors/distcheck-error.ts";
import type { ContainerEngine, EngineContainer, EngineImage, EngineNetwork, FilesystemChange, StreamingExec } from "./container-engine.ts";
import { execFormatFailure } from "./exec-format-failure.ts";
import { followExec } from "./followed-exec.ts";
import type { PlatformInfo } from "../platform/platforms.ts";

export const LOCAL_SOCKET = "unix:///var/run/docker.sock";

/** Resolves a matrix `engine` value to a DOCKER_HOST-style endpoint. */
export function resolveEndpoint(engine: string, env: NodeJS.ProcessEnv = process.env): string {
  if (engine === "env") return env.DOCKER_HOST && env.DOCKER_HOST.length > 0 ? env.DOCKER_HOST : LOCAL_SOCKET;
  if (engine === "local") return LOCAL_SOCKET;
  return engine;
}

/**
 * What docker-modem would otherwise take from DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH for
 * every option it is not given: with DOCKER_HOST=tcp://... set, a client built for a socket went to
 * that host instead. An endpoint distcheck names is the whole answer.
 */
const NOT_FROM_ENVIRONMENT = { host: undefined, port: undefined, socketPath: undefined, ca: undefined, cert: undefined, key: undefined } as const;

export function dockerOptions(endpoint: string): Docker.DockerOptions {
  const url = new URL(endpoint);
  switch (url.protocol) {
    case "unix:":
      return { ...NOT_FROM_ENVIRONMENT, socketPath: url.pathname, protocol: "http" };
    case "tcp:":
      return { ...NOT_FROM_ENVIRONMENT, host: url.hostname, port: Number(url.port || 2375), protocol: "http" };
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

/** Socket errors that mean nothing answers at the endpoint (as opposed to an answer that refuses). */
const UNREACHABLE = new Set(["ECONNREFUSED", "ENOENT", "EACCES", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EPIPE"]);

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number } | null)?.statusCode;
}

/**
 * An Engine API request that failed, as an InfrastructureError: `engine_unavailable` when nothing
 * answers, `engine_request_failed` when the engine answers with an error. Errors distcheck already
 * classified (an ImageBuildError of a failed build step) pass through unchanged.
 */
export function engineFailure(endpoint: string, what: string, cause: unknown): DistcheckError {
  if (cause instanceof DistcheckError) return cause;
  const errno = (cause as NodeJS.ErrnoException | null)?.code;
  if (typeof errno === "string" && UNREACHABLE.has(errno)) return new InfrastructureError("engine_unavailable", engineUnavailableMessage(endpoint, cause), { cause });
  const status = statusOf(cause);
  const reason = cause instanceof Error ? cause.message.trim() : String(cause);
  return new InfrastructureError(
    "engine_request_failed",
    `The Docker engine at ${endpoint} failed to ${what}${status === undefined ? "" : ` (HTTP ${status})`}: ${reason}. Check the engine's state (\`npx distcheck doctor\`, \`docker info\`) and run again.`,
    { cause },
  );
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

  /** Runs Engine API calls; whatever they throw leaves as an InfrastructureError (see `engineFailure`). */
  private async request<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (cause) {
      throw engineFailure(this.endpoint, what, cause);
    }
  }

  async inspectImage(tag: string): Promise<EngineImage | undefined> {
    return this.request(`inspect image ${tag}`, async () => {
      try {
        const info = await this.docker.getImage(tag).inspect();
        return { id: info.Id, tags: info.RepoTags ?? [], labels: info.Config?.Labels ?? {}, sizeBytes: info.Size, architecture: info.Architecture };
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw error;
      }
    });
  }

  async listImages(labelFilter: string): Promise<EngineImage[]> {
    const images = await this.request(`list images labelled ${labelFilter}`, () => this.docker.listImages({ filters: { label: [labelFilter] } }));
    return images.map((i) => ({ id: i.Id, tags: i.RepoTags ?? [], labels: i.Labels ?? {}, sizeBytes: i.Size }));
  }

  async removeImage(idOrTag: string): Promise<void> {
    await this.request(`remove image ${idOrTag}`, () => this.docker.getImage(idOrTag).remove({ force: true }));
  }

  async loadImage(archive: Readable): Promise<void> {
    const text = await this.request("load an image archive", async () => {
      const response = (await this.docker.loadImage(archive, { quiet: true })) as NodeJS.ReadableStream;
      const chunks: Buffer[] = [];
      for await (const chunk of response) chunks.push(Buffer.from(chunk as Buffer));
      return Buffer.concat(chunks).toString("utf8");
    });
    const error = text.split("\n").map((l) => l.trim()).filter(Boolean).map((l) => JSON.parse(l) as { error?: string }).find((m) => m.error);
    if (error?.error) throw new ImageBuildError(`The Docker engine at ${this.endpoint} refused the image archive (${text.length} bytes of answer): ${error.error}. Rebuild with \`npx distcheck images build --force\`; if it fails again, check the engine's free disk (\`docker system df\`).`);
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
    await this.request(`build layer ${options.tag} on ${options.image}`, () => this.runAndCommit(options));
  }

  private async runAndCommit(options: Parameters<ContainerEngine["commitLayer"]>[0]): Promise<void> {
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

  async execStream(containerId: string, cmd: string[], options: { env?: string[]; workingDir?: string; platform?: PlatformInfo; where?: string } = {}): Promise<StreamingExec> {
    const what = `run \`${cmd.join(" ")}\` in container ${containerId.slice(0, 12)}`;
    const { exec, stream } = await this.request(what, async () => {
      const exec = await this.docker.getContainer(containerId).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, Env: options.env, WorkingDir: options.workingDir });
      return { exec, stream: await exec.start({ hijack: true, stdin: false }) };
    });
    return followExec(this.docker.modem, exec, stream, {
      command: cmd,
      unrunnable: (head) => execFormatFailure(head, { where: options.where ?? `container ${containerId.slice(0, 12)}`, command: cmd, platform: options.platform, endpoint: this.endpoint }),
      failure: (w, cause) => engineFailure(this.endpoint, w.startsWith("run ") ? what : w, cause),
    });
  }

  async listContainers(labelFilter: string): Promise<EngineContainer[]> {
    const list = await this.request(`list containers labelled ${labelFilter}`, () => this.docker.listContainers({ all: true, filters: { label: [labelFilter] } }));
    return list.map((c) => ({ id: c.Id, name: (c.Names[0] ?? "").replace(/^\//, ""), state: c.State, labels: c.Labels ?? {} }));
  }

  async containerChanges(id: string): Promise<FilesystemChange[]> {
    const kinds = ["changed", "added", "deleted"] as const;
    const changes = (await this.request(`read the filesystem changes of container ${id.slice(0, 12)}`, () => this.docker.getContainer(id).changes())) as Array<{ Path: string; Kind: number }> | null;
    return (changes ?? []).map((c) => ({ path: c.Path, kind: kinds[c.Kind] ?? "changed" }));
  }

  async removeContainer(id: string): Promise<void> {
    await this.request(`remove container ${id.slice(0, 12)}`, async () => {
      try {
        await this.docker.getContainer(id).remove({ force: true, v: true });
      } catch (error) {
        // Gone already, or its removal is in progress.
        const status = statusOf(error);
        if (status !== 404 && status !== 409) throw error;
      }
    });
  }

  async createNetwork(name: string, options: { internal: boolean; labels: Record<string, string> }): Promise<EngineNetwork> {
    const network = await this.request(`create network ${name}`, () => this.docker.createNetwork({ Name: name, Driver: "bridge", Internal: options.internal, Labels: options.labels, CheckDuplicate: true }));
    return { id: network.id, name, labels: options.labels };
  }

  async listNetworks(labelFilter: string): Promise<EngineNetwork[]> {
    const list = await this.request(`list networks labelled ${labelFilter}`, () => this.docker.listNetworks({ filters: { label: [labelFilter] } }));
    return list.map((n) => ({ id: n.Id, name: n.Name, labels: n.Labels ?? {} }));
  }

  async removeNetwork(id: string): Promise<void> {
    await this.request(`remove network ${id.slice(0, 12)}`, async () => {
      const network = this.docker.getNetwork(id);
      try {
        await network.remove();
      } catch (error) {
        if (statusOf(error) === 404) return;
        if (statusOf(error) !== 403 || !/active endpoints/.test(String((error as Error).message))) throw error;
        // Its containers are removed first, so what is left are endpoints an engine failed to release
        // when it removed them (seen after "too many open files"): disconnect them by name, then remove.
        const info = (await network.inspect()) as { Containers?: Record<string, { Name?: string }> };
        for (const [endpoint, c] of Object.entries(info.Containers ?? {})) {
          await network.disconnect({ Container: c.Name ?? endpoint.replace(/^ep-/, ""), Force: true }).catch((e: unknown) => {
            if (statusOf(e) !== 404) throw e;
          });
        }
        await network.remove();
      }
    });
  }
}
