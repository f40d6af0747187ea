import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { MatrixError } from "../errors/distcheck-error.ts";
import { tempDirs } from "../testing/temp-dirs.ts";

const tmp = tempDirs("matrix-test-");
import { expandCells, filterMatrix, loadMatrix, parseMatrix, toDottedPath } from "./matrix-loader.ts";

const valid = () => ({
  platforms: [{ id: "linux-x86_64" }, { id: "linux-aarch64", timingFactor: 6, engine: "tcp://arm64-box:2375" }],
  bases: [
    { id: "bookworm", image: "bookworm", python: "3.11" },
    { id: "trixie", image: "trixie", python: "3.13" },
  ],
  hosts: [{ id: "reference", adapter: "reference", source: "hosts/reference" }] as Array<Record<string, unknown>>,
  suites: ["platform"],
});

function errorOf(fn: () => unknown): MatrixError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MatrixError);
    return error as MatrixError;
  }
  throw new Error("expected a MatrixError");
}

describe("parseMatrix", () => {
  it("applies the documented defaults", () => {
    const m = parseMatrix(valid(), "matrix.json", undefined);
    expect(m.platforms[0]).toEqual({ id: "linux-x86_64", engine: "env", timingFactor: "auto", memoryMiB: 1024, pidsLimit: 512 });
    expect(m.platforms[1]).toMatchObject({ engine: "tcp://arm64-box:2375", timingFactor: 6 });
  });

  it("names the exact path and the valid choices for a bad platform", () => {
    const data = valid();
    data.platforms.push({ id: "linux-riscv64" } as never);
    const error = errorOf(() => parseMatrix(data, "matrix.json", undefined));
    expect(error.code).toBe("matrix_invalid");
    expect(error.message).toContain('platforms[2].id must be one of linux-x86_64, linux-aarch64 (got "linux-riscv64")');
  });

  it("reports a missing required field with its full path", () => {
    const data = valid() as Record<string, unknown>;
    (data.bases as Array<Record<string, unknown>>)[1]!.python = undefined;
    delete (data.bases as Array<Record<string, unknown>>)[1]!.python;
    expect(errorOf(() => parseMatrix(data, "m.json", undefined)).message).toContain("bases[1].python is required");
  });

  it("reports an unknown setting and lists the valid ones", () => {
    const data = valid();
    (data.platforms[0] as Record<string, unknown>).arch = "x86";
    const message = errorOf(() => parseMatrix(data, "m.json", undefined)).message;
    expect(message).toContain("platforms[0].arch is not a known setting; valid here: id, engine, timingFactor, memoryMiB, pidsLimit");
  });

  it("reports every problem at once", () => {
    const data = valid();
    (data.platforms[0] as Record<string, unknown>).memoryMiB = 8;
    (data.bases[0] as Record<string, unknown>).python = "three";
    const message = errorOf(() => parseMatrix(data, "m.json", undefined)).message;
    expect(message).toContain("platforms[0].memoryMiB");
    expect(message).toContain("bases[0].python must match");
  });

  it("rejects a bad timing factor and a bad engine URL", () => {
    const data = valid();
    (data.platforms[0] as Record<string, unknown>).timingFactor = 0;
    (data.platforms[1] as Record<string, unknown>).engine = "http://x";
    const message = errorOf(() => parseMatrix(data, "m.json", undefined)).message;
    expect(message).toContain("platforms[0].timingFactor");
    expect(message).toContain("platforms[1].engine must match");
  });

  it("rejects duplicate ids", () => {
    const data = valid();
    data.bases.push({ id: "bookworm", image: "bookworm", python: "3.11" });
    expect(errorOf(() => parseMatrix(data, "m.json", undefined)).message).toContain('bases lists the id "bookworm" more than once');
  });

  it("checks that recipes, hosts and suites exist under the root", () => {
    const root = tmp();
    const message = errorOf(() => parseMatrix(valid(), "m.json", root)).message;
    expect(message).toContain("bases[0].image names no recipe: images/bookworm.json does not exist");
    expect(message).toContain('hosts[0].source "hosts/reference" does not exist');
    expect(message).toContain("suites[0] names no suite: suites/platform.test.ts does not exist");
  });
});

describe("loadMatrix", () => {
  it("says which file is not JSON", () => {
    const dir = tmp();
    const file = path.join(dir, "matrix.json");
    writeFileSync(file, "{ not json");
    expect(errorOf(() => loadMatrix(file)).message).toMatch(new RegExp(`^${file} is not valid JSON`));
  });

  it("says what to do when the file is missing", () => {
    expect(errorOf(() => loadMatrix("/nonexistent/matrix.json")).message).toContain("Pass --matrix PATH");
  });

  it("loads the project's own matrix", () => {
    const root = path.resolve(import.meta.dirname, "../..");
    const m = loadMatrix(path.join(root, "matrix.json"), root);
    expect(expandCells(m).map((c) => c.id)).toContain("linux-aarch64.trixie.reference");
  });

  it("validates against files under the given root", () => {
    const root = tmp();
    for (const d of ["images", "hosts/reference", "suites"]) mkdirSync(path.join(root, d), { recursive: true });
    for (const f of ["images/bookworm.json", "images/trixie.json"]) writeFileSync(path.join(root, f), JSON.stringify({ kind: "debootstrap", suite: path.basename(f, ".json"), packages: ["python3"], python: "3.11" }));
    writeFileSync(path.join(root, "suites/platform.test.ts"), "");
    writeFileSync(path.join(root, "matrix.json"), JSON.stringify(valid()));
    expect(loadMatrix(path.join(root, "matrix.json")).bases).toHaveLength(2);
  });
});

describe("expandCells and filterMatrix", () => {
  const matrix = parseMatrix(valid(), "m.json", undefined);

  it("expands platform x base x host in matrix order", () => {
    expect(expandCells(matrix).map((c) => c.id)).toEqual([
      "linux-x86_64.bookworm.reference",
      "linux-x86_64.trixie.reference",
      "linux-aarch64.bookworm.reference",
      "linux-aarch64.trixie.reference",
    ]);
    expect(expandCells(matrix)[2]!.platform.info).toMatchObject({ uname: "aarch64", docker: "linux/arm64", debianArch: "arm64" });
  });

  it("narrows by platform and by Python version or base id", () => {
    const one = expandCells(filterMatrix(matrix, { platform: ["linux-aarch64"], python: ["3.13"] }));
    expect(one.map((c) => c.id)).toEqual(["linux-aarch64.trixie.reference"]);
    expect(expandCells(filterMatrix(matrix, { python: ["bookworm"] }))).toHaveLength(2);
  });

  it("rejects a filter value that is not in the matrix and lists the valid ones", () => {
    expect(errorOf(() => filterMatrix(matrix, { python: ["3.9"] })).message).toBe("--python 3.9 is not in the matrix; valid choices: bookworm, 3.11, trixie, 3.13");
    expect(errorOf(() => filterMatrix(matrix, { suite: ["nope"] })).message).toContain("valid choices: platform");
  });
});

describe("hosts and their adapters", () => {
  const root = path.resolve(import.meta.dirname, "../..");
  const withToposync = (source: string, extra: Record<string, unknown> = {}) => {
    const data = valid();
    data.hosts.push({ id: "toposync", adapter: "toposync", source, default: false, ...extra });
    return data;
  };

  it("names the valid adapters when a host names an unknown one", () => {
    const data = valid();
    data.hosts[0]!.adapter = "nope";
    expect(errorOf(() => parseMatrix(data, "m.json", undefined)).message).toContain('hosts[0].adapter must be one of reference, toposync (got "nope")');
  });

  it("runs a non-default host only when --host names it, and only on the bases its adapter supports", () => {
    const dir = tmp();
    const m = parseMatrix(withToposync(dir), "m.json", root, {});
    expect(expandCells(filterMatrix(m, {})).map((c) => c.host.id)).not.toContain("toposync");
    // The adapter's check of the source runs on selection; an empty folder is no toposync-core tree.
    expect(() => filterMatrix(m, { host: ["toposync"] })).toThrow(/is not a toposync-core source tree/);
    const selected = filterMatrix({ ...m, hosts: m.hosts.map((h) => ({ ...h, source: "relative/unchecked" })) }, { host: ["toposync"] });
    expect(expandCells(selected).map((c) => c.id)).toEqual(["linux-x86_64.trixie.toposync", "linux-aarch64.trixie.toposync"]);
    expect(selected.excluded.map((e) => e.id)).toEqual(["linux-x86_64.bookworm.toposync", "linux-aarch64.bookworm.toposync"]);
    expect(selected.excluded[0]!.reason).toContain("Debian bookworm packages older ones");
  });

  it("says which source path does not exist, and takes DISTCHECK_SOURCE_<ID> over the matrix", () => {
    const m = parseMatrix(withToposync("no/such/dir"), "m.json", root, {});
    const error = (() => {
      try {
        filterMatrix(m, { host: ["toposync"] });
      } catch (e) {
        return e as { code: string; message: string };
      }
      throw new Error("expected an error");
    })();
    expect(error.code).toBe("host_source_missing");
    expect(error.message).toContain(path.join(root, "no/such/dir"));
    const overridden = parseMatrix(withToposync("no/such/dir"), "m.json", root, { DISTCHECK_SOURCE_TOPOSYNC: "/elsewhere/toposync" });
    expect(overridden.hosts[1]!.source).toBe("/elsewhere/toposync");
  });

  it("refuses a file that is not a wheel as a toposync source", () => {
    const file = path.join(tmp(), "toposync_core-0.8.0-py3-none-any.whl");
    writeFileSync(file, "not a zip");
    const m = parseMatrix(withToposync(file), "m.json", root, {});
    expect(() => filterMatrix(m, { host: ["toposync"] })).toThrow(/is not a toposync-core wheel/);
  });
});

describe("toDottedPath", () => {
  it("turns JSON pointers into readable paths", () => {
    expect(toDottedPath("/platforms/2/id")).toBe("platforms[2].id");
    expect(toDottedPath("", "suites")).toBe("suites");
    expect(toDottedPath("")).toBe("(root)");
  });
});
