import { describe, expect, it } from "vitest";
import type { ContainerEngine } from "../engine/container-engine.ts";
import { InfrastructureError } from "../errors/distcheck-error.ts";
import { MIN_FREE_BYTES, runDoctor, type DoctorProbe } from "./doctor.ts";

const engine = (ok: boolean): ContainerEngine =>
  ({
    endpoint: "unix:///var/run/docker.sock",
    version: async () => {
      if (!ok) throw new InfrastructureError("engine_unavailable", "The Docker engine at unix:///var/run/docker.sock does not answer (connect ENOENT).");
      return { version: "20.10.24", apiVersion: "1.41", os: "linux", arch: "amd64" };
    },
  }) as unknown as ContainerEngine;

const BINFMT = "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\noffset 0\n";

function probe(over: Partial<DoctorProbe> & { files?: Record<string, string> } = {}): DoctorProbe {
  const merged: Record<string, string | undefined> = { "/proc/sys/fs/binfmt_misc/register": "", "/proc/sys/fs/binfmt_misc/qemu-aarch64": BINFMT, "/usr/sbin/debootstrap": "", ...over.files };
  // An entry set to undefined is a file that does not exist.
  const files = Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined)) as Record<string, string>;
  return {
    engines: [{ platforms: ["linux-x86_64", "linux-aarch64"], engine: engine(true) }],
    readFile: (p) => files[p],
    exists: (p) => p in files,
    freeBytes: async () => MIN_FREE_BYTES * 2,
    nodeVersion: "20.20.2",
    arch: "x64",
    tmpdir: "/tmp",
    ...over,
  };
}

describe("doctor", () => {
  it("is all green on a prepared machine", async () => {
    const checks = await runDoctor(probe());
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks.map((c) => c.name)).toContain("qemu binfmt for linux-aarch64");
  });

  it("says how to start a stopped engine", async () => {
    const checks = await runDoctor(probe({ engines: [{ platforms: ["linux-x86_64"], engine: engine(false) }] }));
    const check = checks.find((c) => c.name.startsWith("docker engine"))!;
    expect(check.ok).toBe(false);
    expect(check.detail).toContain("does not answer");
    expect(check.fix).toContain("sudo npm run setup-machine");
    expect(check.fix).toContain("dockerd");
  });

  it("detects a missing, disabled or flagless qemu registration", async () => {
    const name = "qemu binfmt for linux-aarch64";
    const missing = await runDoctor(probe({ files: { "/proc/sys/fs/binfmt_misc/qemu-aarch64": undefined as never } }));
    expect(missing.find((c) => c.name === name)?.ok).toBe(false);
    const disabled = await runDoctor(probe({ files: { "/proc/sys/fs/binfmt_misc/qemu-aarch64": BINFMT.replace("enabled", "disabled") } }));
    expect(disabled.find((c) => c.name === name)).toMatchObject({ ok: false, detail: "qemu-aarch64 is registered but disabled" });
    expect(disabled.find((c) => c.name === name)?.fix).toContain("update-binfmts --enable qemu-aarch64");
    const noF = await runDoctor(probe({ files: { "/proc/sys/fs/binfmt_misc/qemu-aarch64": BINFMT.replace("PF", "P") } }));
    expect(noF.find((c) => c.name === name)?.detail).toContain("lacks the F flag");
  });

  it("skips qemu for a platform served natively or by a remote engine", async () => {
    const checks = await runDoctor(probe({ arch: "arm64", engines: [{ platforms: ["linux-aarch64"], engine: engine(true) }] }));
    expect(checks.some((c) => c.name.startsWith("qemu"))).toBe(false);
  });

  it("fails on missing debootstrap, low disk and old Node", async () => {
    const checks = await runDoctor(probe({ files: { "/usr/sbin/debootstrap": undefined as never }, freeBytes: async () => 1024 ** 3, nodeVersion: "20.10.0" }));
    const failed = checks.filter((c) => !c.ok).map((c) => c.name);
    expect(failed).toEqual(expect.arrayContaining(["node", "debootstrap", "disk (temp space, /tmp)"]));
    expect(checks.find((c) => c.name === "debootstrap")?.fix).toContain("apt-get install debootstrap");
  });
});
