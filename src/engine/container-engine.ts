import type { Readable } from "node:stream";
import type { PlatformInfo } from "../platform/platforms.ts";

/** An image as the engine reports it. */
export interface EngineImage {
  id: string;
  tags: string[];
  labels: Record<string, string>;
  sizeBytes: number;
  architecture?: string;
}

/** A container as the engine reports it. */
export interface EngineContainer {
  id: string;
  name: string;
  state: string;
  labels: Record<string, string>;
}

/** A network as the engine reports it. */
export interface EngineNetwork {
  id: string;
  name: string;
  labels: Record<string, string>;
}

/** One path a container changed in its image's filesystem (the Engine API's container changes). */
export interface FilesystemChange {
  path: string;
  kind: "changed" | "added" | "deleted";
}

/** A process started in a running container whose output is followed as it comes. */
export interface StreamingExec {
  /** Called with each chunk of stdout and stderr, in order. */
  onOutput(listener: (text: string, stream: "stdout" | "stderr") => void): void;
  /** Resolves with the exit code when the process ends: the event that a stop waits on. */
  readonly exit: Promise<number>;
}

/**
 * The Docker Engine operations distcheck needs outside testcontainers: images in and out,
 * sweeping by label. Other folders import this interface, not dockerode.
 */
export interface ContainerEngine {
  /** The endpoint in DOCKER_HOST form, for messages and for child processes. */
  readonly endpoint: string;
  /** Engine version; throws InfrastructureError with the fix when the engine does not answer. */
  version(): Promise<{ version: string; apiVersion: string; os: string; arch: string }>;
  inspectImage(tag: string): Promise<EngineImage | undefined>;
  listImages(labelFilter: string): Promise<EngineImage[]>;
  removeImage(idOrTag: string): Promise<void>;
  /** Loads a docker-archive tarball; resolves once the engine has stored it. */
  loadImage(archive: Readable): Promise<void>;
  pullImage(ref: string, platform: string, onProgress?: (line: string) => void): Promise<void>;
  /**
   * Runs `cmd` in a throwaway container of `image` with `files` (a tar stream) copied to `/`
   * first, then commits the result as `tag` with `labels`. Used to add a layer (e.g. a host)
   * to a base image without a Dockerfile or a registry.
   */
  commitLayer(options: { image: string; platform: string; tar: Readable; cmd: string[]; tag: string; labels: Record<string, string>; runLabels: Record<string, string>; env?: string[]; onOutput?: (text: string) => void }): Promise<void>;
  /**
   * Starts `cmd` in a running container and follows it (docker exec with attached streams). With the
   * container's `platform`, a command the kernel cannot execute names the machine's binfmt state;
   * `where` names the container in messages (e.g. `Cell linux-aarch64.bookworm.reference`).
   */
  execStream(containerId: string, cmd: string[], options?: { env?: string[]; workingDir?: string; platform?: PlatformInfo; where?: string }): Promise<StreamingExec>;
  listContainers(labelFilter: string): Promise<EngineContainer[]>;
  /** What a container changed in its image's filesystem (optional: only a repro trace asks). */
  containerChanges?(id: string): Promise<FilesystemChange[]>;
  removeContainer(id: string): Promise<void>;
  /** Creates a bridge network; `internal` ones have no route out of the machine. */
  createNetwork(name: string, options: { internal: boolean; labels: Record<string, string> }): Promise<EngineNetwork>;
  listNetworks(labelFilter: string): Promise<EngineNetwork[]>;
  removeNetwork(id: string): Promise<void>;
}
