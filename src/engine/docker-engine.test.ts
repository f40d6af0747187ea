import { describe, expect, it } from "vitest";
import { ImageBuildError } from "../errors/distcheck-error.ts";
import Docker from "dockerode";
import { DockerEngine, dockerOptions, engineFailure } from "./docker-engine.ts";

// Infrastructure faults are named where they are seen: the engine wrapper turns whatever an Engine
// API call throws into an InfrastructureError, so a report never has to guess from a message.
describe("engine failures", () => {
  it("are InfrastructureErrors: engine_unavailable when nothing answers, engine_request_failed when it refuses", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED /var/run/docker.sock"), { code: "ECONNREFUSED" });
    expect(engineFailure("unix:///var/run/docker.sock", "list containers", refused)).toMatchObject({ code: "engine_unavailable", category: "infrastructure", cause: refused });
    const conflict = Object.assign(new Error("(HTTP code 409) unexpected - conflict: unable to remove repository reference"), { statusCode: 409 });
    const wrapped = engineFailure("tcp://arm64-box:2375", "remove image distcheck/base:abc", conflict);
    expect(wrapped).toMatchObject({ code: "engine_request_failed", category: "infrastructure" });
    expect(wrapped.message).toMatch(/^The Docker engine at tcp:\/\/arm64-box:2375 failed to remove image distcheck\/base:abc \(HTTP 409\): .*conflict.*npx distcheck doctor/);
    const build = new ImageBuildError("Building x: `pip install` exited with 1");
    expect(engineFailure("unix:///var/run/docker.sock", "build layer x", build)).toBe(build);
  });

  it("come out of every engine call, here on a socket nobody listens on", async () => {
    const engine = new DockerEngine("unix:///nonexistent/distcheck-test.sock");
    await expect(engine.listContainers("dev.distcheck.managed")).rejects.toMatchObject({ code: "engine_unavailable", category: "infrastructure" });
    await expect(engine.inspectImage("distcheck/base:x")).rejects.toMatchObject({ code: "engine_unavailable", category: "infrastructure" });
    await expect(engine.execStream("0123456789abcdef", ["true"])).rejects.toMatchObject({ code: "engine_unavailable", category: "infrastructure" });
  });
});

// docker-modem fills what a client is not given from DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH:
// a matrix endpoint must not be redirected or switched to TLS by the environment of the process.
describe("an engine endpoint", () => {
  it("is the whole answer, whatever DOCKER_HOST and DOCKER_TLS_VERIFY say", () => {
    const saved = { host: process.env.DOCKER_HOST, tls: process.env.DOCKER_TLS_VERIFY };
    process.env.DOCKER_HOST = "tcp://10.9.9.9:2376";
    process.env.DOCKER_TLS_VERIFY = "1";
    try {
      const socket = new Docker(dockerOptions("unix:///run/second/docker.sock")).modem as unknown as Record<string, unknown>;
      expect({ host: socket.host, socketPath: socket.socketPath, protocol: socket.protocol }).toEqual({ host: undefined, socketPath: "/run/second/docker.sock", protocol: "http" });
      const tcp = new Docker(dockerOptions("tcp://127.0.0.1:2376")).modem as unknown as Record<string, unknown>;
      expect({ host: tcp.host, port: tcp.port, protocol: tcp.protocol }).toEqual({ host: "127.0.0.1", port: 2376, protocol: "http" });
    } finally {
      if (saved.host === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved.host;
      if (saved.tls === undefined) delete process.env.DOCKER_TLS_VERIFY;
      else process.env.DOCKER_TLS_VERIFY = saved.tls;
    }
  });
});
