import { describe, expect, it } from "vitest";
import type { BinfmtProbe } from "./binfmt-registration.ts";
import { BinfmtWatch } from "./binfmt-watch.ts";

const LOCAL = "unix:///var/run/docker.sock";
const ENTRY = "/proc/sys/fs/binfmt_misc/qemu-aarch64";

/** An x86_64 machine whose qemu-aarch64 entry says what `state.now` says (undefined: no entry). */
function machine(state: { now: string | undefined }): BinfmtProbe {
  return {
    arch: "x64",
    exists: (p) => p === "/proc/sys/fs/binfmt_misc/register" || (p === ENTRY && state.now !== undefined),
    readFile: (p) => (p === ENTRY ? (state.now === undefined ? undefined : `${state.now}\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\n`) : undefined),
  };
}

describe("BinfmtWatch", () => {
  it("records each time an emulated platform's registration is off, from the first read that saw it off to the first that saw it enabled", () => {
    const state: { now: string | undefined } = { now: "enabled" };
    const seen: string[] = [];
    const watch = BinfmtWatch.start([{ id: "linux-aarch64", endpoint: LOCAL }, { id: "linux-x86_64", endpoint: LOCAL }], { probe: machine(state), intervalMs: 60_000, off: (o) => seen.push(`off ${o.state}`), back: () => seen.push("back") });
    try {
      watch.check(1_000);
      state.now = "disabled";
      watch.check(2_000);
      watch.check(3_000);
      state.now = "enabled";
      watch.check(4_000);
      state.now = undefined;
      watch.check(5_000);
      expect(watch.outages()).toEqual([
        { platform: "linux-aarch64", entry: "qemu-aarch64", state: "disabled", offAt: 2_000, onAt: 4_000 },
        { platform: "linux-aarch64", entry: "qemu-aarch64", state: "unregistered", offAt: 5_000 },
      ]);
      expect(seen).toEqual(["off disabled", "back", "off unregistered"]);
    } finally {
      watch.stop();
    }
  });

  it("watches nothing it cannot read: a remote engine's platform, the native one", () => {
    const state = { now: "disabled" };
    const watch = BinfmtWatch.start([{ id: "linux-aarch64", endpoint: "tcp://arm64-box:2375" }, { id: "linux-x86_64", endpoint: LOCAL }], { probe: machine(state) });
    watch.check();
    expect(watch.outages()).toEqual([]);
    watch.stop();
  });
});
