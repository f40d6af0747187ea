import { describe, expect, it } from "vitest";
import { reaperPlacement } from "./reaper.ts";

// A reaper removes what a killed run left on the engine it runs on, so it must talk to that engine:
// on a machine with a second dockerd, /var/run/docker.sock is the other one.
describe("where a run's reaper runs", () => {
  it("on the local engine: its socket mounted, its port published on loopback", () => {
    expect(reaperPlacement("unix:///var/run/docker.sock")).toMatchObject({
      env: [],
      hostConfig: { Binds: ["/var/run/docker.sock:/var/run/docker.sock"], PortBindings: { "7070/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] } },
      host: "127.0.0.1",
      port: "published",
    });
  });

  it("on another engine's socket: that socket, not the machine's default one", () => {
    expect(reaperPlacement("unix:///tmp/second/docker.sock").hostConfig.Binds).toEqual(["/tmp/second/docker.sock:/var/run/docker.sock"]);
  });

  it("on a tcp:// engine: the engine's own address from its machine's network, listening where the run can reach it", () => {
    const loopback = reaperPlacement("tcp://127.0.0.1:2376");
    expect(loopback).toEqual({ env: ["REAPER_ENGINE=tcp://127.0.0.1:2376", "REAPER_LISTEN=127.0.0.1", "REAPER_PORT=0"], hostConfig: { NetworkMode: "host" }, host: "127.0.0.1", port: "printed" });
    expect(loopback.hostConfig.Binds, "no socket: the machine's default one may be another engine").toBeUndefined();
    const remote = reaperPlacement("tcp://arm64-box:2375");
    expect(remote.env).toEqual(["REAPER_ENGINE=tcp://arm64-box:2375", "REAPER_LISTEN=0.0.0.0", "REAPER_PORT=0"]);
    expect(remote.host).toBe("arm64-box");
  });
});
