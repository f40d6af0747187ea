import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
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

// A network whose containers are gone can still hold endpoints an engine failed to release (seen on
// Docker 20.10 after "too many open files"): removing it answers 403 "has active endpoints" forever.
describe("removing a network", () => {
  /** A fake Engine API on a Unix socket: the network refuses removal while any endpoint is connected. */
  async function fakeEngine(endpoints: Record<string, { Name?: string }>) {
    const dir = mkdtempSync(path.join(os.tmpdir(), "distcheck-fake-engine-"));
    const socket = path.join(dir, "docker.sock");
    const calls: string[] = [];
    const server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        const route = `${req.method} ${(req.url ?? "").replace(/^\/v[\d.]+/, "").replace(/\?.*$/, "")}`;
        calls.push(body ? `${route} ${body}` : route);
        const reply = (status: number, json?: unknown) => {
          res.writeHead(status, { "content-type": "application/json" });
          res.end(json === undefined ? "" : JSON.stringify(json));
        };
        if (route === "DELETE /networks/net1") {
          if (Object.keys(endpoints).length) reply(403, { message: "error while removing network: network distcheck-x id net1 has active endpoints" });
          else reply(204);
        } else if (route === "GET /networks/net1") reply(200, { Id: "net1", Containers: endpoints });
        else if (route === "POST /networks/net1/disconnect") {
          const name = (JSON.parse(body) as { Container: string }).Container;
          const key = Object.keys(endpoints).find((k) => endpoints[k]!.Name === name || k === `ep-${name}`);
          if (key) delete endpoints[key];
          reply(key ? 200 : 404, key ? undefined : { message: `container ${name} is not connected` });
        } else reply(404, { message: `no route ${route}` });
      });
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    return {
      engine: new DockerEngine(`unix://${socket}`),
      calls,
      close: async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }

  it("force-disconnects endpoints left behind (by name, or by endpoint key), then removes it", async () => {
    const fake = await fakeEngine({ abc: { Name: "distcheck-host-1" }, "ep-def": {} });
    try {
      await fake.engine.removeNetwork("net1");
      expect(fake.calls).toEqual([
        "DELETE /networks/net1",
        "GET /networks/net1",
        'POST /networks/net1/disconnect {"Container":"distcheck-host-1","Force":true}',
        'POST /networks/net1/disconnect {"Container":"def","Force":true}',
        "DELETE /networks/net1",
      ]);
    } finally {
      await fake.close();
    }
  });

  it("removes a clean network with one request, and takes a missing one as removed", async () => {
    const fake = await fakeEngine({});
    try {
      await fake.engine.removeNetwork("net1");
      await fake.engine.removeNetwork("gone");
      expect(fake.calls).toEqual(["DELETE /networks/net1", "DELETE /networks/gone"]);
    } finally {
      await fake.close();
    }
  });
});
