import { describe, expect, it } from "vitest";
import { debianArchiveIn, resolveDebianMirror, DEFAULT_DEBIAN_MIRROR } from "./debian-mirror.ts";

describe("debian mirror", () => {
  it("reads deb822 sources and skips security and third-party archives", () => {
    const text = ["Types: deb", "URIs: http://deb.debian.org/debian-security", "", "# URIs: http://commented/debian", "URIs: http://mirror.local/debian/", "Suites: bookworm"].join("\n");
    expect(debianArchiveIn(text)).toBe("http://mirror.local/debian");
  });

  it("reads one-line sources with options", () => {
    expect(debianArchiveIn("deb [arch=amd64 signed-by=/k.gpg] https://ftp.example.org/debian bookworm main")).toBe("https://ftp.example.org/debian");
    expect(debianArchiveIn("deb https://packages.cloud.google.com/apt cloud-sdk main")).toBeUndefined();
  });

  it("prefers the environment override", () => {
    expect(resolveDebianMirror({ DISTCHECK_DEBIAN_MIRROR: "http://local/debian" })).toEqual({ url: "http://local/debian", source: "DISTCHECK_DEBIAN_MIRROR" });
  });

  it("falls back to deb.debian.org without apt configuration", () => {
    expect(resolveDebianMirror({}, "/nonexistent")).toEqual({ url: DEFAULT_DEBIAN_MIRROR, source: "default" });
  });
});
