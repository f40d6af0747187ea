import os from "node:os";
import { describe, expect, it } from "vitest";
import { ImageBuildError } from "../errors/distcheck-error.ts";
import { DISK_FULL, engineDiskFull, isDiskFull, noSpaceLine, scratchDiskFull } from "./disk-full.ts";

describe("noSpaceLine", () => {
  it("finds a full disk in node's ENOSPC, a child's output, the engine's answer and a cause", () => {
    const enospc = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    expect(noSpaceLine(enospc)).toBe("ENOSPC: no space left on device, write");
    // execa's error: tar's complaint is in stderr, not in the first line of the message.
    const tar = Object.assign(new Error("Command failed with exit code 2: tar -cf layer.tar ."), { stderr: "tar: ./usr/lib/x.so: Cannot write: No space left on device\ntar: Exiting with failure status" });
    expect(noSpaceLine(tar)).toBe("tar: ./usr/lib/x.so: Cannot write: No space left on device");
    const engine = new ImageBuildError("The Docker engine at unix:///var/run/docker.sock refused the image archive (80 bytes of answer): write /var/lib/docker/tmp/docker-import-1/layer.tar: no space left on device. Rebuild ...");
    expect(noSpaceLine(engine)).toContain("no space left on device");
    expect(noSpaceLine(new Error("build failed", { cause: enospc }))).toBe("ENOSPC: no space left on device, write");
  });

  it("is not fooled by a path that happens to spell enospc, nor by other failures", () => {
    expect(noSpaceLine(new Error("E: Couldn't download http://deb.debian.org/debian/Packages into /tmp/enospc-test/rootfs"))).toBeUndefined();
    expect(noSpaceLine(Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" }))).toBeUndefined();
    expect(noSpaceLine(undefined)).toBeUndefined();
  });
});

describe("disk-full errors", () => {
  it("for the scratch folder: infrastructure, code disk_full, the folder, its free space and the fix", async () => {
    const error = await scratchDiskFull({ tag: "distcheck/base-x:linux-x86_64-1", step: "running debootstrap", dir: os.tmpdir(), line: "unxz: Write error: No space left on device", cause: new Error("x"), tmpdir: "/mnt/small" });
    expect(error.category).toBe("infrastructure");
    expect(isDiskFull(error)).toBe(true);
    expect(error.code).toBe(DISK_FULL);
    expect(error.message).toContain(os.tmpdir());
    expect(error.message).toMatch(/\d+\.\d (MiB|GiB) free of \d+\.\d (MiB|GiB)/);
    expect(error.message).toContain("point TMPDIR at a larger disk");
    expect(error.message).toContain("Free space on /mnt/small");
    expect(error.message).toContain("distcheck doctor");
  });

  it("for the engine: names its data root and free space when local, and where to look when remote", async () => {
    const local = await engineDiskFull({ tag: "t", endpoint: "unix:///var/run/docker.sock", line: "no space left on device", cause: undefined, dataRoot: os.tmpdir() });
    expect(local.code).toBe(DISK_FULL);
    expect(local.message).toMatch(new RegExp(`data root ${os.tmpdir()} has \\d+\\.\\d (MiB|GiB) free of`));
    expect(local.message).toContain("distcheck images prune");
    const remote = await engineDiskFull({ tag: "t", endpoint: "tcp://arm64-box:2375", line: "no space left on device", cause: undefined });
    expect(remote.message).toContain("DockerRootDir");
    expect(remote.message).not.toMatch(/free of/);
  });
});
