import { describe, expect, it } from "vitest";
import { platformInfo } from "../platform/platforms.ts";
import type { BinfmtProbe } from "./binfmt-registration.ts";
import { execFormatFailure, platformFailure } from "./exec-format-failure.ts";

const ENTRY = "/proc/sys/fs/binfmt_misc/qemu-aarch64";
const LOCAL = "unix:///var/run/docker.sock";
const arm64 = platformInfo("linux-aarch64");

/** An x86_64 harness machine whose qemu-aarch64 entry reads `entry` (undefined: not registered). */
function machine(entry: string | undefined): BinfmtProbe {
  return { arch: "x64", exists: (p) => p.endsWith("/register"), readFile: (p) => (p === ENTRY ? entry : undefined) };
}
const ENABLED = machine("enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\n");
const DISABLED = machine("disabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\n");

// The engine writes the runtime's failure on the exec's output instead of failing the request;
// only that message, not what a command inside printed, is the machine's fault.
describe("execFormatFailure", () => {
  const site = { where: "Cell linux-aarch64.bookworm.reference", command: ["python3", "-V"], platform: "linux/arm64", endpoint: LOCAL };
  const runtime = 'OCI runtime exec failed: exec failed: unable to start container process: exec: "python3": exec format error: unknown\r\n';

  it("names the runtime's exec format error as infrastructure, with the fix printed", () => {
    const error = execFormatFailure(runtime, site, ENABLED);
    expect(error).toMatchObject({ code: "exec_format_error", category: "infrastructure" });
    expect(error?.message).toMatch(/^Cell linux-aarch64\.bookworm\.reference: the engine could not execute `python3 -V` \(OCI runtime exec failed: .*exec format error: unknown\): .*the machine is at fault, not the host under test\. Fix: `update-binfmts --enable qemu-aarch64`/);
  });

  it("is binfmt_disabled, naming the registration's state, when the platform's registration is off", () => {
    const error = execFormatFailure(runtime, site, DISABLED);
    expect(error).toMatchObject({ code: "binfmt_disabled", category: "infrastructure" });
    expect(error?.message).toMatch(/^Cell linux-aarch64\.bookworm\.reference: `python3 -V` failed while the qemu-aarch64 binfmt registration is disabled .*Fix: `update-binfmts --enable qemu-aarch64`/);
  });

  it("knows runc's own words in the exec's output (its init failed to execute the command)", () => {
    expect(execFormatFailure("exec /bin/sh: exec format error\n", site, DISABLED)).toMatchObject({ code: "binfmt_disabled" });
    expect(execFormatFailure("exec /usr/bin/python3: exec format error\n", site, ENABLED)).toMatchObject({ code: "exec_format_error" });
  });

  it("leaves a command's own output alone, even when a shell in it met a foreign binary", () => {
    expect(execFormatFailure("/bin/sh: 1: ./ext: Exec format error\n", site, DISABLED)).toBeUndefined();
    expect(execFormatFailure("sh: 1: exec: ./ext: Exec format error\n", site, DISABLED)).toBeUndefined();
    expect(execFormatFailure("OSError: [Errno 8] Exec format error: '/opt/ext/bin/run'\n", site, DISABLED)).toBeUndefined();
    expect(execFormatFailure("OCI runtime exec failed: exec failed: unable to start container process: exec: \"nope\": executable file not found in $PATH: unknown", site, DISABLED)).toBeUndefined();
    expect(execFormatFailure("", site, DISABLED)).toBeUndefined();
  });
});

describe("platformFailure", () => {
  const site = { where: "Cell linux-aarch64.bookworm.reference", what: "booting the host (it exited with 126 before it was ready)", platform: arm64, endpoint: LOCAL };

  it("blames the machine for any failure on a platform whose local registration is disabled or missing, with the fix", () => {
    expect(platformFailure(site, "", DISABLED)).toMatchObject({ code: "binfmt_disabled", category: "infrastructure" });
    expect(platformFailure(site, "", DISABLED)?.message).toMatch(/registration is disabled \(\/proc\/sys\/fs\/binfmt_misc\/qemu-aarch64: "disabled"\).*the machine is at fault, not the host under test\. Fix: `update-binfmts --enable qemu-aarch64`/);
    expect(platformFailure(site, "", machine(undefined))?.message).toMatch(/registration is missing .*Fix: `apt-get install qemu-user-static binfmt-support && update-binfmts --enable qemu-aarch64`/);
  });

  it("leaves the failure alone when the registration is enabled, even with exec format error in the evidence (the host's own words)", () => {
    expect(platformFailure(site, "sh: 1: exec: python3: Exec format error", ENABLED)).toBeUndefined();
  });

  it("never touches a native platform, whatever the registration", () => {
    expect(platformFailure({ ...site, platform: platformInfo("linux-x86_64") }, "exec format error", DISABLED)).toBeUndefined();
  });

  it("on a remote engine (its binfmt unreadable) blames the machine only on the runtime's exec format error", () => {
    const remote = { ...site, endpoint: "tcp://arm-box:2375" };
    expect(platformFailure(remote, "[FATAL tini (1)] exec sleep failed: Exec format error", DISABLED)).toMatchObject({ code: "exec_format_error", category: "infrastructure" });
    expect(platformFailure(remote, "[FATAL tini (1)] exec sleep failed: Exec format error", DISABLED)?.message).toMatch(/on the engine at tcp:\/\/arm-box:2375 \(\[FATAL tini \(1\)\] exec sleep failed: Exec format error\).*Fix on that machine: `update-binfmts --enable qemu-aarch64`/);
    expect(platformFailure(remote, "Traceback: ValueError", DISABLED)).toBeUndefined();
  });
});
