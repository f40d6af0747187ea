import { describe, expect, it } from "vitest";
import { awaitFirstProcess, elfMachine, pathStatOf } from "./engine-observation.ts";

const header = (stat: object): string => Buffer.from(JSON.stringify(stat)).toString("base64");

describe("engine observation", () => {
  it("reads the archive endpoint's stat header as find would print type and mode (values a Docker 20.10 engine sent)", () => {
    const mtime = "2026-11-30T17:08:13.933071279Z";
    expect(pathStatOf(header({ name: "tmp", size: 4096, mode: 2148532735, mtime, linkTarget: "" }), "/tmp")).toEqual({ type: "d", size: 4096, mode: "1777", mtime, linkTarget: "" });
    expect(pathStatOf(header({ name: "f", size: 3, mode: 8389101, mtime, linkTarget: "" }), "/f")).toMatchObject({ type: "f", mode: "4755" });
    expect(pathStatOf(header({ name: "link", size: 6, mode: 134218239, mtime, linkTarget: "/tmp/d" }), "/l")).toMatchObject({ type: "l", mode: "777", linkTarget: "/tmp/d" });
    expect(pathStatOf(header({ name: "fifo", size: 0, mode: 33554852, mtime }), "/p")).toMatchObject({ type: "p", mode: "644" });
    expect(pathStatOf(header({ name: "d", size: 4096, mode: 2147484141, mtime }), "/d")).toMatchObject({ type: "d", mode: "755" });
    // ModeDevice | ModeCharDevice | 0666 (/dev/null), ModeDevice | 0660, ModeSocket | ModeSetgid | 0755.
    expect(pathStatOf(header({ size: 0, mode: 2 ** 26 + 2 ** 21 + 0o666, mtime }), "/dev/null")).toMatchObject({ type: "c", mode: "666" });
    expect(pathStatOf(header({ size: 0, mode: 2 ** 26 + 0o660, mtime }), "/dev/sda")).toMatchObject({ type: "b", mode: "660" });
    expect(pathStatOf(header({ size: 0, mode: 2 ** 24 + 2 ** 22 + 0o755, mtime }), "/s")).toMatchObject({ type: "s", mode: "2755" });
    expect(() => pathStatOf(undefined, "/x")).toThrow(/no X-Docker-Container-Path-Stat header/);
  });

  it("names the machine of an ELF program as uname -m does, both byte orders; anything else is not ELF", () => {
    const elf = (machine: number, bigEndian = false): Buffer => {
      const b = Buffer.alloc(64);
      b.writeUInt32BE(0x7f454c46, 0);
      b[5] = bigEndian ? 2 : 1;
      if (bigEndian) b.writeUInt16BE(machine, 18);
      else b.writeUInt16LE(machine, 18);
      return b;
    };
    expect(elfMachine(elf(62))).toBe("x86_64");
    expect(elfMachine(elf(183))).toBe("aarch64");
    expect(elfMachine(elf(22, true))).toBe("s390x");
    expect(elfMachine(elf(999))).toBe("ELF machine 999");
    expect(elfMachine(Buffer.from("#!/bin/sh\necho x86_64\n"))).toBeUndefined();
  });

  it("waits for the first process to become the container's command, and tells a container that stopped first", async () => {
    const init = "/sbin/docker-init -- sleep infinity";
    const seen = (rounds: Array<string[] | "stopped" | "top fails">) => {
      let i = 0;
      return {
        running: async () => rounds[Math.min(i, rounds.length - 1)] !== "stopped",
        commands: async () => {
          const r = rounds[Math.min(i++, rounds.length - 1)]!;
          if (r === "top fails" || r === "stopped") throw new Error("Container is not running");
          return r;
        },
      };
    };
    expect(await awaitFirstProcess(seen([[init], [init, init], [init, "/usr/libexec/qemu-binfmt/aarch64-binfmt-P /usr/bin/sleep sleep infinity"]]))).toBe("running");
    expect(await awaitFirstProcess(seen([[init, "sleep infinity"]]))).toBe("running");
    expect(await awaitFirstProcess(seen([[init], "top fails", "stopped"]))).toBe("exited");
    expect(await awaitFirstProcess(seen([[init]]), 50)).toBe("timeout");
  });
});
