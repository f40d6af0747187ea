import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testcontainersOn } from "./testcontainers-engine.ts";

// A plain-HTTP Engine API that answers only what testcontainers and distcheck ask before a container
// starts (GET /info), the way a second dockerd on `-H tcp://127.0.0.1:2376` answers.
let server: http.Server;
let endpoint: string;
const saved = { DOCKER_HOST: process.env.DOCKER_HOST, DOCKER_TLS_VERIFY: process.env.DOCKER_TLS_VERIFY };

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url?.endsWith("/info")) {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ ID: "FAKE:ENGINE:FOR:TESTCONTAINERS", Name: "fake-engine", OperatingSystem: "Debian GNU/Linux 12", OSType: "linux", Architecture: "x86_64", NCPU: 2, MemTotal: 1 << 30, ServerVersion: "20.10.24", IndexServerAddress: "" }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await new Promise((resolve) => server.close(resolve));
});

describe("testcontainers bound to a cell's tcp:// engine", () => {
  it("speaks plain HTTP to it, as distcheck's own client does, whatever DOCKER_HOST and DOCKER_TLS_VERIFY say", async () => {
    // docker-modem takes HTTPS from these (as from a DOCKER_HOST on port 2376) for options
    // testcontainers does not give it: unbound, every strategy fails on a TLS handshake.
    process.env.DOCKER_HOST = endpoint;
    process.env.DOCKER_TLS_VERIFY = "1";
    const client = await testcontainersOn(endpoint);
    expect(client.info.containerRuntime.host).toBe("127.0.0.1");
    expect((await client.container.dockerode.info()).ID).toBe("FAKE:ENGINE:FOR:TESTCONTAINERS");
    expect(process.env.DOCKER_HOST, "the environment is put back").toBe(endpoint);
    expect(process.env.DOCKER_TLS_VERIFY).toBe("1");
  });

  it("refuses a cell of another engine in the same process (testcontainers keeps one)", async () => {
    await expect(testcontainersOn("unix:///var/run/docker.sock")).rejects.toMatchObject({ code: "engine_per_process", category: "input" });
    await expect(testcontainersOn(endpoint)).resolves.toBeDefined();
  });
});
