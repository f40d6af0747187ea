import { describe, expect, it } from "vitest";
import { platformInfo } from "../platform/platforms.ts";
import { binfmtFix, binfmtState, type BinfmtProbe } from "./binfmt-registration.ts";

const arm64 = platformInfo("linux-aarch64");
const LOCAL = "unix:///var/run/docker.sock";

/** A harness machine of `arch` with these binfmt_misc files (`register` exists but is never read, as in the kernel). */
function machine(arch: string, files: Record<string, string>, mounted = true): BinfmtProbe {
  return {
    arch,
    exists: (p) => (p === "/proc/sys/fs/binfmt_misc/register" ? mounted : p in files),
    readFile: (p) => {
      if (p.endsWith("/register")) throw Object.assign(new Error("EINVAL: invalid argument, read"), { code: "EINVAL" });
      return files[p];
    },
  };
}

describe("binfmtState", () => {
  const entry = "/proc/sys/fs/binfmt_misc/qemu-aarch64";

  it("reads the entry's first line for a local engine", () => {
    expect(binfmtState(arm64, LOCAL, machine("x64", { [entry]: "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\n" }))).toBe("enabled");
    expect(binfmtState(arm64, LOCAL, machine("x64", { [entry]: "disabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\n" }))).toBe("disabled");
    expect(binfmtState(arm64, LOCAL, machine("x64", {}))).toBe("unregistered");
  });

  it("needs no entry for the machine's own platform", () => {
    expect(binfmtState(arm64, LOCAL, machine("arm64", {}))).toBe("native");
    expect(binfmtState(platformInfo("linux-x86_64"), LOCAL, machine("x64", {}))).toBe("native");
  });

  it("cannot tell for a remote engine or without binfmt_misc mounted", () => {
    expect(binfmtState(arm64, "tcp://arm-box:2375", machine("x64", {}))).toBe("unknown");
    expect(binfmtState(arm64, LOCAL, machine("x64", {}, false))).toBe("unknown");
  });

  it("prints the command that gives the entry back", () => {
    expect(binfmtFix(arm64, "disabled")).toBe("update-binfmts --enable qemu-aarch64");
    expect(binfmtFix(arm64, "unregistered")).toBe("apt-get install qemu-user-static binfmt-support && update-binfmts --enable qemu-aarch64");
  });
});
