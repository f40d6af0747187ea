import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { DistcheckError } from "../errors/distcheck-error.ts";
import type { ImageRecipe } from "../images/image-recipe.ts";
import { tarFiles } from "../images/tar-files.ts";
import { containerEnvList } from "../platform/platforms.ts";
import type { DefaultsProbe, DocumentedDefault, HostAdapter, HostHttp, HostImageBuild, HostLaunch, HostReadiness, HostSettings } from "./host-adapter.ts";
import type { HostDiagnostic, HostRegistry, HostVersions, ListedExtension } from "./host-wire.ts";

/** `hosts/toposync/profile.json`: what the adapter installs and sets, beside the host's waivers and README. */
interface ToposyncProfile {
  /** Debian suites whose archive packages toposync-core's runtime dependencies at the versions it requires. */
  debianSuites: string[];
  debianPackages: string[];
  port: number;
  dataDir: string;
  entryPointGroup: string;
  /** Environment of every boot (auth bypass, no package restore at start). */
  env: Record<string, string>;
  /** The frontend bundle file a backend-only build puts in place (hatch_build.py wants one). */
  frontendPlaceholder: string;
}

const PROFILE = JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../../hosts/toposync/profile.json"), "utf8")) as ToposyncProfile;
const SUPPORTED_SUITES = PROFILE.debianSuites;
const DATA_DIR = PROFILE.dataDir;
const PORT = PROFILE.port;

/**
 * The files of a toposync-core source tree that a wheel build reads (pyproject's sdist
 * `only-include` plus the build hook): tests, frontend sources and caches stay out.
 */
function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSorted(path.join(root, rel))) {
      if (name === "__pycache__" || name.startsWith(".")) continue;
      const relPath = `${rel}/${name}`;
      const st = statSync(path.join(root, relPath));
      if (st.isDirectory()) walk(relPath);
      else if (st.isFile() && !name.endsWith(".pyc")) out.push(relPath);
    }
  };
  walk("src/toposync");
  for (const f of ["pyproject.toml", "hatch_build.py", "README.md", "LICENSE"]) if (existsSync(path.join(root, f))) out.push(f);
  return out.sort();
}

/** Sorted, so hashes and tars do not depend on the file system's order. */
function readdirSorted(dir: string): string[] {
  return readdirSync(dir).sort();
}

/** A zip file starts with a local file header (`PK\x03\x04`); a wheel is a zip. */
function isZip(file: string): boolean {
  const fd = openSync(file, "r");
  try {
    const head = Buffer.alloc(4);
    return readSync(fd, head, 0, 4, 0) === 4 && head.equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]));
  } finally {
    closeSync(fd);
  }
}

/** `toposync_core-0.8.0-py3-none-any.whl` → 0.8.0 (PEP 427 file name). */
function wheelVersion(file: string): string | undefined {
  return /^toposync_core-([^-]+)-[^-]+-[^-]+-[^-]+\.whl$/.exec(path.basename(file))?.[1];
}

const MAPPED_CODES: Record<string, string> = {
  // Toposync reports every failed compatibility or dependency check as incompatible_extension
  // (src/toposync/extensions/manager.py, _filter_compatible_extensions); the contract names no
  // finer code for WHL-09 and WHL-10.
  missing_dependency: "incompatible_extension",
  dependency_version_mismatch: "incompatible_extension",
  dependency_skipped: "incompatible_extension",
  invalid_specifier: "incompatible_extension",
  invalid_version: "incompatible_extension",
  // A manifest pydantic refuses fails in BaseExtension.manifest(): manifest_read_failed.
  manifest_invalid: "manifest_read_failed",
};

interface ToposyncDiagnostic {
  extension_id: string;
  level: string;
  code: string;
  message: string;
  entry_point_name: string;
  entry_point_value: string;
}

/**
 * Toposync core (toposync/toposync, `toposync-core`): a FastAPI backend whose ExtensionManager loads
 * wheels from the `toposync.extensions` entry point group. Implements WHL and HST; it has no archive
 * agent. Its version comes from its installed distribution's metadata, so every core version under
 * test is its own image, built from the same source with the version set.
 */
export class ToposyncHostAdapter implements HostAdapter {
  readonly id = "toposync";
  readonly families = ["WHL", "HST"] as const;
  readonly templateId = "toposync";
  readonly entryPointGroup = PROFILE.entryPointGroup;
  readonly port = PORT;
  readonly dataDir = DATA_DIR;
  readonly pidFile = "/run/distcheck-host.pid";
  /**
   * uvicorn logs this once its socket listens, which is after the app's lifespan startup (extension
   * load and every setup()); "Application startup complete." comes before the bind.
   */
  readonly readyLog = /Uvicorn running on http/;
  readonly coreVersionAtBoot = false;
  readonly extraPackages: readonly string[] = PROFILE.debianPackages;

  unsupportedBase(recipe: ImageRecipe): string | undefined {
    if (recipe.kind === "debootstrap" && !SUPPORTED_SUITES.includes(recipe.suite)) {
      return `toposync-core 0.8 needs fastapi>=0.115 and pydantic>=2.8 (its pyproject.toml); Debian ${recipe.suite} packages older ones, and no index is reachable offline. Supported: ${SUPPORTED_SUITES.join(", ")}.`;
    }
    return undefined;
  }

  checkSource(source: string): void {
    if (!existsSync(source)) {
      throw new DistcheckError("host_source_missing", `The toposync host source ${source} does not exist. Point matrix.hosts[].source or DISTCHECK_SOURCE_TOPOSYNC at a toposync-core source tree or a built toposync_core-*.whl.`, { category: "input" });
    }
    if (statSync(source).isDirectory()) {
      const pyproject = path.join(source, "pyproject.toml");
      if (!existsSync(pyproject) || !/^name\s*=\s*"toposync-core"/m.test(readFileSync(pyproject, "utf8"))) {
        throw new DistcheckError("host_source_invalid", `${source} is not a toposync-core source tree: ${pyproject} does not name the project toposync-core.`, { category: "input" });
      }
      return;
    }
    if (!source.endsWith(".whl") || !wheelVersion(source) || !isZip(source)) {
      throw new DistcheckError("host_source_invalid", `${source} is not a toposync-core wheel: expected a zip file named toposync_core-<version>-<tags>.whl.`, { category: "input" });
    }
  }

  sourceHash(source: string): string {
    const hash = createHash("sha256");
    if (statSync(source).isFile()) return hash.update(readFileSync(source)).digest("hex");
    for (const rel of sourceFiles(source)) hash.update(rel).update("\0").update(readFileSync(path.join(source, rel))).update("\0");
    return hash.digest("hex");
  }

  defaultVersion(source: string): string {
    if (statSync(source).isFile()) return wheelVersion(source) ?? "0.0.0";
    return /^version\s*=\s*"([^"]+)"/m.exec(readFileSync(path.join(source, "pyproject.toml"), "utf8"))?.[1] ?? "0.0.0";
  }

  mutants(): string[] {
    return [];
  }

  /**
   * Installs toposync-core on a base image, offline. From a source tree: the tree is copied with
   * its version set to the one under test, and built with Debian's hatchling. Its build hook wants
   * a frontend bundle; a user with a backend-only checkout who serves with `--no-frontend` puts a
   * placeholder `frontend/dist/index.html` there, and so does this build. pip resolves the runtime
   * dependencies from Debian's packages (no index).
   */
  async buildHostImage(options: HostImageBuild): Promise<void> {
    const { source } = options;
    const files: Array<{ path: string; content: Buffer | string }> = [];
    let build: string;
    if (statSync(source).isFile()) {
      if (options.version !== this.defaultVersion(source)) {
        throw new DistcheckError("host_version_unsupported", `A toposync wheel (${source}) is version ${this.defaultVersion(source)}; another version (${options.version}) needs a source tree to build from.`, { category: "input" });
      }
      files.push({ path: `opt/toposync/dist/${path.basename(source)}`, content: readFileSync(source) });
      build = "true";
    } else {
      for (const rel of sourceFiles(source)) {
        let content: Buffer | string = readFileSync(path.join(source, rel));
        if (rel === "pyproject.toml") content = content.toString("utf8").replace(/^version\s*=\s*"[^"]+"/m, `version = ${JSON.stringify(options.version)}`);
        files.push({ path: `opt/toposync/src/${rel}`, content });
      }
      files.push({ path: `opt/toposync/src/${PROFILE.frontendPlaceholder}`, content: "<!doctype html><title>Toposync (backend only)</title>\n" });
      build = "python3 -m pip wheel --no-index --no-build-isolation --no-deps -q -w /opt/toposync/dist /opt/toposync/src";
    }
    options.progress(`installing toposync-core ${options.version}`);
    const script = [
      "set -e",
      build,
      "python3 -m pip install --no-index -q /opt/toposync/dist/*.whl",
      "rm -rf /opt/toposync/src /root/.cache",
      `test "$(python3 -c 'import importlib.metadata as m; print(m.version("toposync-core"))')" = ${JSON.stringify(options.version)}`,
      "toposync --help >/dev/null",
    ].join(" && ");
    await options.engine.commitLayer({
      image: options.baseTag,
      platform: options.platform.docker,
      tar: Readable.from(await tarFiles(files)),
      cmd: ["/bin/sh", "-c", script],
      tag: options.tag,
      labels: options.labels,
      runLabels: options.runLabels,
      env: containerEnvList(options.platform),
    });
  }

  /**
   * `serve` with neither --port nor --data-dir nor their variables: the defaults of cli.py:254
   * (port 8000) and config_store.py:166-170 (no TOPOSYNC_DATA_DIR, no ./.toposync-data, no
   * XDG_DATA_HOME: ~/.local/share/toposync, /root/.local/share/toposync for root in the container)
   * apply. --host is given, or the default 127.0.0.1 (cli.py:253) is unreachable from the harness.
   */
  readonly defaultsProbe: DefaultsProbe = {
    bare: { command: ["toposync", "serve", "--host", "0.0.0.0", "--no-frontend"], env: { ...PROFILE.env }, files: [], port: 8000 },
    port: 8000,
    dataDir: "/root/.local/share/toposync",
    // ConfigStore.load() writes config.json into the data directory when none exists (config_store.py:443-445).
    dataMarker: (dataDir) => `${dataDir}/config.json`,
    withEnv: ({ port, dataDir }) => ({
      command: ["toposync", "serve", "--host", "0.0.0.0", "--no-frontend"],
      env: { ...PROFILE.env, TOPOSYNC_BACKEND_PORT: String(port), TOPOSYNC_DATA_DIR: dataDir },
      files: [],
      port,
    }),
  };

  launch(settings: HostSettings): HostLaunch {
    for (const key of ["coreVersion", "agentVersion", "maxDownloadBytes", "downloadTimeoutS", "maxExtractedBytes", "maxFiles", "startCheckS"] as const) {
      if (settings[key] !== undefined) {
        throw new DistcheckError("host_setting_unsupported", `Toposync takes no ${key} setting at boot${key === "coreVersion" ? " (its core version is its distribution's; boot an image built at that version)" : " (it has no archive agent)"}.`, { category: "harness" });
      }
    }
    const dataDir = settings.dataDir ?? DATA_DIR;
    // TOPOSYNC_AUTH_MODE=bypass: otherwise every /api/* route answers 503 until an administrator is set up.
    const env: Record<string, string> = { ...PROFILE.env };
    if (settings.gracefulTimeoutS !== undefined) env.TOPOSYNC_GRACEFUL_SHUTDOWN_TIMEOUT = String(settings.gracefulTimeoutS);
    // The disabled list lives only in config.json (runtime/extension_management.py,
    // disabled_extension_ids_from_settings); there is no environment variable for it.
    const config = { schema_version: 1, settings: { core: { extension_management: { disabled_extension_ids: settings.disabled ?? [] } }, extensions: {} } };
    return {
      command: ["toposync", "serve", "--host", "0.0.0.0", "--port", String(PORT), "--data-dir", dataDir, "--no-frontend"],
      env,
      files: settings.disabled !== undefined ? [{ target: `${dataDir}/config.json`, content: `${JSON.stringify(config, null, 2)}\n` }] : [],
    };
  }

  async readiness(http: HostHttp): Promise<HostReadiness> {
    const r = await http.raw("GET", "/api/health");
    return { ready: r.statusCode === 200 && (JSON.parse(r.body) as { status?: string }).status === "ok" };
  }

  documentedDefaults(): DocumentedDefault[] {
    return [
      { setting: "port", value: 8000, source: "src/toposync/cli.py:254 (serve --port, TOPOSYNC_BACKEND_PORT)" },
      { setting: "bind", value: "127.0.0.1", source: "src/toposync/cli.py:253 (serve --host)" },
      { setting: "extension group", value: "toposync.extensions", source: "src/toposync/app.py:1405" },
      { setting: "disabled list", value: [], source: "runtime/extension_management.py:211 (config.json settings.core.extension_management)" },
      { setting: "graceful timeout", value: null, source: "src/toposync/cli.py:56 (TOPOSYNC_GRACEFUL_SHUTDOWN_TIMEOUT; unset keeps uvicorn's indefinite wait)" },
      { setting: "data directory", value: "$TOPOSYNC_DATA_DIR, else ./.toposync-data, else $XDG_DATA_HOME/toposync", source: "src/toposync/runtime/config_store.py:154" },
    ];
  }

  async extensions(http: HostHttp): Promise<ListedExtension[]> {
    const listed = await http.get<Array<{ id: string; name: string; version: string; description?: string; frontend?: { remote_entry_url?: string } | null }>>("/api/extensions");
    return listed.map((e) => ({ id: e.id, name: e.name, version: e.version, description: e.description ?? null, ...(e.frontend?.remote_entry_url ? { remote_entry_url: e.frontend.remote_entry_url } : {}) }));
  }

  async diagnostics(http: HostHttp): Promise<HostDiagnostic[]> {
    const raw = await http.get<ToposyncDiagnostic[]>("/api/extensions/diagnostics");
    // Failures before a manifest is read carry `entrypoint:<name>` as their id (manager.py, load()).
    return raw.map((d) => ({
      code: d.code,
      extension_id: d.extension_id.startsWith("entrypoint:") ? null : d.extension_id,
      entry_point: d.entry_point_name || null,
      distribution: null,
      message: d.message,
    }));
  }

  /** Routes from the app's OpenAPI document and operators from the pipeline registry; neither names an owner, and services are not listed at all. */
  async registry(http: HostHttp): Promise<Partial<HostRegistry>> {
    const [openapi, operators] = await Promise.all([
      http.get<{ paths: Record<string, Record<string, unknown>> }>("/openapi.json"),
      http.get<{ operators: Array<{ id: string }> }>("/api/pipelines/operators"),
    ]);
    const routes = Object.entries(openapi.paths).flatMap(([p, methods]) => Object.keys(methods).map((m) => ({ method: m.toUpperCase(), path: p })));
    return { routes, operators: operators.operators.map((o) => ({ id: o.id })) };
  }

  async versions(http: HostHttp): Promise<HostVersions> {
    // No API reports it; read the installed distribution's metadata as Toposync itself does
    // (extensions/manager.py, _current_core_version).
    const r = await http.exec(["python3", "-c", "import importlib.metadata as m; print(m.version('toposync-core'))"]);
    if (r.exitCode !== 0) throw new DistcheckError("host_version_unreadable", `Could not read toposync-core's version in the container: ${r.stderr.trim()}`, { category: "harness" });
    return { core_version: r.stdout.trim() };
  }

  staticPath(extensionId: string, rawPath: string): string {
    return `/extensions/${extensionId}/${rawPath}`;
  }

  hostCode(code: string): string {
    return MAPPED_CODES[code] ?? code;
  }
}
