import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DistcheckError } from "../errors/distcheck-error.ts";
import { buildToml, hostImageTar } from "../images/host-image-builder.ts";
import { applyMutantEdits, hostSourceFiles, hostSourceHash, type SourceEdit } from "../images/host-source.ts";
import { catalogPath, loadMutantEdits, loadMutants, mutantsDir } from "./mutant-catalog.ts";

const HOST = path.resolve(import.meta.dirname, "../../hosts/reference");
const catalog = loadMutants(HOST);
const occurrences = (text: string, find: string): number => text.split(find).length - 1;
const python = spawnSync("python3", ["-c", "import ast"], { encoding: "utf8" }).status === 0;

/** Every `.py` file under `dir`, compiled by python3; "ok" or the first SyntaxError. */
function compileAll(dir: string): { status: number | null; output: string } {
  const script = ["import pathlib, sys", "for p in sorted(pathlib.Path(sys.argv[1]).rglob('*.py')):", "    compile(p.read_text(encoding='utf-8'), str(p), 'exec')", "print('ok')"].join("\n");
  const r = spawnSync("python3", ["-c", script, dir], { encoding: "utf8" });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

describe("the reference host's mutant catalog (hosts/reference/mutants/)", () => {
  it("lives beside the edits, outside the host's image source", () => {
    expect(catalogPath(HOST)).toBe(path.join(HOST, "mutants", "catalog.json"));
    expect(catalog.length).toBeGreaterThanOrEqual(39);
    expect(hostSourceFiles(HOST).filter((f) => f.startsWith("mutants/") || f.startsWith("tests/"))).toEqual([]);
  });

  it("has exactly one edits file per mutant, and no edits file without a catalog entry", () => {
    const files = readdirSync(mutantsDir(HOST)).filter((f) => f.endsWith(".json") && f !== "catalog.json").map((f) => f.replace(/\.json$/, "")).sort();
    expect(files).toEqual(catalog.map((m) => m.name).sort());
  });

  it.for(catalog.map((m) => [m.name] as const))("%s: every find occurs once in the clean source, and the edits change it", ([name]) => {
    const edits = loadMutantEdits(HOST, name);
    expect(edits.length).toBeGreaterThan(0);
    for (const edit of edits) {
      expect(hostSourceFiles(HOST), `${name} edits ${edit.file}`).toContain(edit.file);
      expect(occurrences(readFileSync(path.join(HOST, edit.file), "utf8"), edit.find), `${name}: ${edit.file} at ${JSON.stringify(edit.find.split("\n")[0])}`).toBe(1);
    }
    const edited = applyMutantEdits(HOST, name, edits);
    expect(edited.size).toBeGreaterThan(0);
    for (const [file, text] of edited) expect(text, `${name} changes ${file}`).not.toBe(readFileSync(path.join(HOST, file), "utf8"));
  });

  describe.skipIf(!python)("with python3 on this machine", () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(path.join(tmpdir(), "distcheck-mutants-"));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("every mutant's edited source still compiles, and so does the clean one", () => {
      const clean = compileAll(path.join(HOST, "src"));
      expect(clean.output).toBe("ok");
      for (const m of catalog) {
        for (const [file, text] of applyMutantEdits(HOST, m.name, loadMutantEdits(HOST, m.name))) {
          mkdirSync(path.dirname(path.join(dir, m.name, file)), { recursive: true });
          writeFileSync(path.join(dir, m.name, file), text);
        }
      }
      const result = compileAll(dir);
      expect(result.output).toBe("ok");
      expect(result.status).toBe(0);
    });
  });

  it("the host's source is the real code only: no file under hosts/reference/src asks mutant_enabled", () => {
    const offenders = hostSourceFiles(HOST).filter((f) => f.startsWith("src/") && readFileSync(path.join(HOST, f), "utf8").includes("mutant_enabled"));
    expect(offenders).toEqual([]);
  });
});

describe("a mutant's edits, applied to a copy of a host's source", () => {
  let host: string;
  const write = (rel: string, text: string): void => {
    mkdirSync(path.dirname(path.join(host, rel)), { recursive: true });
    writeFileSync(path.join(host, rel), text);
  };
  const failure = (fn: () => unknown): DistcheckError => {
    try {
      fn();
    } catch (error) {
      return error as DistcheckError;
    }
    throw new Error("expected a DistcheckError");
  };

  beforeAll(() => {
    host = mkdtempSync(path.join(tmpdir(), "distcheck-host-"));
    write("pyproject.toml", '[project]\nname = "h"\nversion = "1.0.0"\n');
    write("src/h/a.py", "def f(x):\n    if x > 1:\n        raise ValueError(x)\n    return x\n\nTWICE = 1\nTWICE = 1\n");
    write("tests/test_a.py", "def test(): pass\n");
    write("mutants/catalog.json", '{"mutants": [{"name": "h01-no-check", "clause": "HST-01", "suites": ["x"], "timing": false, "breaks": "b"}]}\n');
    write("mutants/h01-no-check.json", JSON.stringify({ edits: [{ file: "src/h/a.py", find: ["    if x > 1:", "        raise ValueError(x)"], replace: "    pass" }] }));
  });
  afterAll(() => rmSync(host, { recursive: true, force: true }));

  it("reads texts given as a list of lines, joined with newlines", () => {
    expect(loadMutantEdits(host, "h01-no-check")).toEqual([{ file: "src/h/a.py", find: "    if x > 1:\n        raise ValueError(x)", replace: "    pass" }]);
  });

  it("changes the copy in memory and never the file on disk", () => {
    const before = readFileSync(path.join(host, "src/h/a.py"), "utf8");
    const edited = applyMutantEdits(host, "h01-no-check", loadMutantEdits(host, "h01-no-check"));
    expect(edited.get("src/h/a.py")).toBe("def f(x):\n    pass\n    return x\n\nTWICE = 1\nTWICE = 1\n");
    expect(readFileSync(path.join(host, "src/h/a.py"), "utf8")).toBe(before);
  });

  it("refuses a find the clean file lacks, naming mutant, file and the find's first line", () => {
    const error = failure(() => applyMutantEdits(host, "h01-no-check", [{ file: "src/h/a.py", find: "    if x > 2:\n        raise", replace: "" }]));
    expect(error.code).toBe("mutant_edit_failed");
    expect(error.message).toContain("h01-no-check");
    expect(error.message).toContain("src/h/a.py");
    expect(error.message).toContain('"    if x > 2:"');
    expect(error.message).toContain("does not occur");
  });

  it("refuses an ambiguous find", () => {
    const error = failure(() => applyMutantEdits(host, "h01-no-check", [{ file: "src/h/a.py", find: "TWICE = 1", replace: "TWICE = 2" }]));
    expect(error.code).toBe("mutant_edit_failed");
    expect(error.message).toContain("occurs 2 times");
  });

  it("refuses an edit that changes nothing, a file outside the image source, and a mutant without edits", () => {
    expect(failure(() => applyMutantEdits(host, "m", [{ file: "src/h/a.py", find: "def f(x):", replace: "def f(x):" }])).message).toContain("changes nothing");
    for (const file of ["tests/test_a.py", "../outside.py", "mutants/catalog.json"]) {
      expect(failure(() => applyMutantEdits(host, "m", [{ file, find: "x", replace: "y" }])).message).toContain("not in the host's image source");
    }
    expect(failure(() => applyMutantEdits(host, "m", [])).code).toBe("mutant_edit_failed");
  });

  it("refuses a malformed or missing edits file with a coded error", () => {
    write("mutants/h02-empty.json", '{"edits": []}');
    write("mutants/h03-bad.json", '{"edits": [{"file": "src/h/a.py", "find": 3, "replace": ""}]}');
    expect(failure(() => loadMutantEdits(host, "h02-empty")).message).toContain("has no edits");
    expect(failure(() => loadMutantEdits(host, "h03-bad")).message).toContain("edits[0].find");
    expect(failure(() => loadMutantEdits(host, "h04-missing")).code).toBe("mutant_edit_failed");
    rmSync(path.join(host, "mutants/h02-empty.json"));
    rmSync(path.join(host, "mutants/h03-bad.json"));
  });

  it("changes the source hash (and so every host image tag) when a mutant's edits change", () => {
    const before = hostSourceHash(host);
    write("mutants/h01-no-check.json", JSON.stringify({ edits: [{ file: "src/h/a.py", find: "    return x", replace: "    return -x" }] }));
    expect(hostSourceHash(host)).not.toBe(before);
    write("mutants/h01-no-check.json", JSON.stringify({ edits: [{ file: "src/h/a.py", find: ["    if x > 1:", "        raise ValueError(x)"], replace: "    pass" }] }));
    expect(hostSourceHash(host)).toBe(before);
  });

  it("the image tar carries the edited file for a mutant build and the clean one for a normal build", async () => {
    const unpack = async (tar: Buffer): Promise<string> => {
      const out = mkdtempSync(path.join(tmpdir(), "distcheck-host-tar-"));
      await execa("tar", ["-x", "-C", out], { input: tar });
      return out;
    };
    const edits: SourceEdit[] = loadMutantEdits(host, "h01-no-check");
    const mutant = await unpack(await hostImageTar(host, { coreVersion: "1.0.0", mutant: "h01-no-check" }, edits));
    const normal = await unpack(await hostImageTar(host, { coreVersion: "1.0.0" }));
    try {
      expect(readFileSync(path.join(mutant, "opt/distcheck-host/src/src/h/a.py"), "utf8")).toContain("    pass\n    return x");
      const [copied, clean] = [statSync(path.join(mutant, "opt/distcheck-host/src/src/h/a.py")), statSync(path.join(host, "src/h/a.py"))];
      expect([copied.mode & 0o777, Math.floor(copied.mtimeMs / 1000)]).toEqual([clean.mode & 0o777, Math.floor(clean.mtimeMs / 1000)]);
      expect(readFileSync(path.join(mutant, "etc/distcheck-host/build.toml"), "utf8")).toBe(buildToml({ coreVersion: "1.0.0", mutant: "h01-no-check" }));
      expect(readFileSync(path.join(normal, "opt/distcheck-host/src/src/h/a.py"), "utf8")).toBe(readFileSync(path.join(host, "src/h/a.py"), "utf8"));
      for (const dir of [mutant, normal]) expect(readdirSync(path.join(dir, "opt/distcheck-host/src")).sort()).toEqual(["pyproject.toml", "src"]);
    } finally {
      rmSync(mutant, { recursive: true, force: true });
      rmSync(normal, { recursive: true, force: true });
    }
    await expect(hostImageTar(host, { coreVersion: "1.0.0", mutant: "h01-no-check" })).rejects.toMatchObject({ code: "mutant_edit_failed" });
  });
});
