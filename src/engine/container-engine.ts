import type { Readable } from "node:stream";

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
  listContainers(labelFilter: string): Promise<EngineContainer[]>;
  removeContainer(id: string): Promise<void>;
  listNetworks(labelFilter: string): Promise<EngineNetwork[]>;
  removeNetwork(id: string): Promise<void>;
}
