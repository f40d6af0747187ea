import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadFixtureDeclarations } from "../fixtures/declarations/declaration-loader.ts";
import { loadRecipe } from "../images/image-recipe.ts";
import { tempDirs } from "../testing/temp-dirs.ts";
import type { HostHttp } from "./host-adapter.ts";
import { hostAdapter } from "./host-adapters.ts";
import { REFERENCE_CONFIG_FILE } from "./reference-host-adapter.ts";
import { predictWheelsFor } from "./wheel-observation.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const tmp = tempDirs("host-adapters-test-");

/** An HTTP seam that answers fixed JSON per path. */
function fakeHttp(answers: Record<string, unknown>): HostHttp {
  return {
    get: async <T>(p: string) => answers[p] as T,
    raw: async (_m: string, p: string) => ({ statusCode: 200, body: JSON.stringify(answers[p]), headers: {} }),
    exec: async () => ({ exitCode: 0, stdout: "0.8.0\n", stderr: "" }),
    readFileIfExists: async () => undefined,
    exists: async () => false,
  };
}

describe("host adapters", () => {
  it("an unknown adapter is an input error naming the valid ones", () => {
    expect(() => hostAdapter("nope")).toThrow(/Unknown host adapter "nope"; valid adapters: reference, toposync\./);
  });

  it("the reference host takes contract settings as its TOML keys, in its configuration file", () => {
    const launch = hostAdapter("reference").launch({ disabled: ["a.b"], gracefulTimeoutS: 2, maxFiles: 5, coreVersion: "0.7.0" });
    expect(launch.command).toEqual(["distcheck-host", "serve"]);
    expect(launch.files).toEqual([{ target: REFERENCE_CONFIG_FILE, content: 'disabled = ["a.b"]\ngraceful_timeout = 2\ncore_version = "0.7.0"\nmax_files = 5\n' }]);
    expect(hostAdapter("reference").launch({}).files).toEqual([]);
  });

  it("Toposync gets its disabled list in <data>/config.json and its graceful timeout from its environment, and refuses settings it cannot take", () => {
    const a = hostAdapter("toposync");
    const launch = a.launch({ disabled: ["x.y"], gracefulTimeoutS: 2, dataDir: "/d" });
    expect(launch.command).toEqual(["toposync", "serve", "--host", "0.0.0.0", "--port", "8000", "--data-dir", "/d", "--no-frontend"]);
    expect(launch.env).toMatchObject({ TOPOSYNC_AUTH_MODE: "bypass", TOPOSYNC_EXTENSION_AUTO_INSTALL_ON_STARTUP: "0", TOPOSYNC_GRACEFUL_SHUTDOWN_TIMEOUT: "2" });
    expect(launch.files.map((f) => f.target)).toEqual(["/d/config.json"]);
    expect(JSON.parse(String(launch.files[0]!.content))).toMatchObject({ settings: { core: { extension_management: { disabled_extension_ids: ["x.y"] } } } });
    expect(() => a.launch({ coreVersion: "0.7.0" })).toThrow(/no coreVersion setting at boot/);
    expect(() => a.launch({ maxFiles: 3 })).toThrow(/no archive agent/);
  });

  it("Toposync's diagnostics become the wire model: entry point failures carry no extension id, codes stay the host's", async () => {
    const a = hostAdapter("toposync");
    const got = await a.diagnostics(fakeHttp({
      "/api/extensions/diagnostics": [
        { extension_id: "entrypoint:import-error", level: "error", code: "entry_point_load_failed", message: "m", entry_point_name: "import-error", entry_point_value: "p:x" },
        { extension_id: "dev.x", level: "info", code: "extension_disabled", message: "d", entry_point_name: "", entry_point_value: "" },
      ],
    }));
    expect(got).toEqual([
      { code: "entry_point_load_failed", extension_id: null, entry_point: "import-error", distribution: null, message: "m" },
      { code: "extension_disabled", extension_id: "dev.x", entry_point: null, distribution: null, message: "d" },
    ]);
    const listed = await a.extensions(fakeHttp({ "/api/extensions": [{ id: "a", name: "A", version: "1", frontend: { remote_entry_url: "/extensions/a/r.js" } }, { id: "b", name: "B", version: "2", frontend: null }] }));
    expect(listed).toEqual([{ id: "a", name: "A", version: "1", description: null, remote_entry_url: "/extensions/a/r.js" }, { id: "b", name: "B", version: "2", description: null }]);
  });

  it("the oracle's finer WHL-09/10 codes map onto Toposync's incompatible_extension; the reference host keeps them", async () => {
    const { wheels } = await loadFixtureDeclarations(path.join(ROOT, "fixtures"));
    const pick = (...names: string[]) => wheels.filter((w) => names.includes(w.name));
    const installed = pick("chain-missing", "compat-invalid-specifier", "compat-range");
    const toposync = predictWheelsFor(hostAdapter("toposync"), installed, { coreVersion: "0.8.0" });
    const reference = predictWheelsFor(hostAdapter("reference"), installed, { coreVersion: "0.8.0" });
    expect(toposync.get("chain-missing")!.diagnostics).toEqual(["incompatible_extension"]);
    expect(reference.get("chain-missing")!.diagnostics).toEqual(["missing_dependency"]);
    expect(toposync.get("compat-invalid-specifier")!.diagnostics.flat()).toEqual(["incompatible_extension"]);
    expect(toposync.get("compat-range")!.messageMustName).toEqual(reference.get("compat-range")!.messageMustName);
  });

  it("Toposync runs on trixie only: bookworm's fastapi and pydantic are older than it needs", () => {
    const a = hostAdapter("toposync");
    expect(a.unsupportedBase(loadRecipe(path.join(ROOT, "images"), "trixie"))).toBeUndefined();
    expect(a.unsupportedBase(loadRecipe(path.join(ROOT, "images"), "bookworm"))).toMatch(/fastapi>=0\.115 and pydantic>=2\.8/);
    expect(hostAdapter("reference").unsupportedBase(loadRecipe(path.join(ROOT, "images"), "bookworm"))).toBeUndefined();
  });

  it("Toposync's defaults probe uses the defaults its adapter documents", () => {
    const a = hostAdapter("toposync");
    const documented = new Map(a.documentedDefaults().map((d) => [d.setting, d.value]));
    expect(a.defaultsProbe!.port).toBe(documented.get("port"));
    expect(documented.get("extension group")).toBe(a.entryPointGroup);
    expect(a.defaultsProbe!.bare.command).not.toContain("--port");
    expect(a.defaultsProbe!.bare.command).not.toContain("--data-dir");
    expect(a.defaultsProbe!.withEnv({ port: 9000, dataDir: "/x" })).toMatchObject({ port: 9000, env: { TOPOSYNC_BACKEND_PORT: "9000", TOPOSYNC_DATA_DIR: "/x" } });
  });

  it("a Toposync source that is missing, not a toposync-core tree, or not a wheel is a coded input error naming the path", () => {
    const a = hostAdapter("toposync");
    const err = (f: () => void): { code?: string; message: string } => {
      try {
        f();
      } catch (e) {
        return e as { code?: string; message: string };
      }
      throw new Error("expected an error");
    };
    expect(err(() => a.checkSource("/no/such/toposync"))).toMatchObject({ code: "host_source_missing", message: expect.stringContaining("/no/such/toposync") });
    const dir = tmp();
    mkdirSync(path.join(dir, "tree"));
    writeFileSync(path.join(dir, "tree", "pyproject.toml"), 'name = "something-else"\n');
    expect(err(() => a.checkSource(path.join(dir, "tree")))).toMatchObject({ code: "host_source_invalid" });
    const notAWheel = path.join(dir, "toposync_core-0.8.0-py3-none-any.whl");
    writeFileSync(notAWheel, "text");
    expect(err(() => a.checkSource(notAWheel))).toMatchObject({ code: "host_source_invalid", message: expect.stringContaining(notAWheel) });
  });
});
