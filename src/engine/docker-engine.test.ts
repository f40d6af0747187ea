import { describe, expect, it } from "vitest";
import { ImageBuildError } from "../errors/distcheck-error.ts";
import { DockerEngine, engineFailure } from "./docker-engine.ts";

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
