/**
 * What a process that starts the conformance vitest project (`distcheck run`, `distcheck mutants`)
 * tells it, and what a person running vitest directly may set: one typed object, carried in the
 * environment of the vitest process. `toEnv` writes it for the child; `fromEnv` reads it in the
 * suites' global setup and cell selection.
 */
export interface RunProtocol {
  /** The run the vitest process joins (its containers carry this run's labels); absent: it starts its own. */
  runId?: string;
  /** The pid that owns the joined run; when it is gone, a later sweep removes what the run left. */
  ownerPid?: number;
  /** The process that started vitest; when it dies (kill -9), global setup removes the run's containers and exits. */
  parentPid?: number;
  /** The matrix file. @default the project's matrix.json */
  matrixFile?: string;
  /** Only these platforms. @default every platform of the matrix */
  platforms?: string[];
  /** Only these bases, by Python version or base id. @default every base */
  pythons?: string[];
  /** Only these hosts. @default the matrix's default hosts */
  hosts?: string[];
  /** The images exist already (the CLI built them); global setup builds none. @default false */
  skipImageBuild?: boolean;
  /** Where Allure results and distcheck's test records go; absent: no report is written. */
  resultsDir?: string;
  /** Boot a reference host built with this mutant (one clause broken on purpose). */
  mutant?: string;
  /** The Docker endpoint of the platforms this vitest process serves (`DOCKER_HOST`). @default the environment's */
  dockerHost?: string;
  /** A `distcheck repro --keep` try (the repro id): hosts stay running after their test and no sweep removes them. */
  keep?: string;
}

/**
 * The variables, by field. The filters are `DISTCHECK_FILTER_*` so they cannot collide with a host's
 * own settings (the reference host reads `DISTCHECK_HOST_<KEY>`).
 */
export const PROTOCOL_VARIABLES = {
  runId: "DISTCHECK_RUN_ID",
  ownerPid: "DISTCHECK_OWNER_PID",
  parentPid: "DISTCHECK_PARENT_PID",
  matrixFile: "DISTCHECK_MATRIX",
  platforms: "DISTCHECK_FILTER_PLATFORM",
  pythons: "DISTCHECK_FILTER_PYTHON",
  hosts: "DISTCHECK_FILTER_HOST",
  skipImageBuild: "DISTCHECK_SKIP_IMAGE_BUILD",
  resultsDir: "DISTCHECK_RESULTS_DIR",
  mutant: "DISTCHECK_MUTANT",
  dockerHost: "DOCKER_HOST",
  keep: "DISTCHECK_KEEP",
} as const satisfies Record<keyof RunProtocol, string>;

/** Earlier names still read (the README documented them for direct vitest runs); the new name wins when both are set. */
export const PROTOCOL_ALIASES = {
  platforms: "DISTCHECK_PLATFORM",
  pythons: "DISTCHECK_PYTHON",
} as const satisfies Partial<Record<keyof RunProtocol, string>>;

const V = PROTOCOL_VARIABLES;

/**
 * The environment of a vitest child. Every distcheck variable is written, empty when the field is
 * absent, so nothing the starting process inherited (an old filter, another run's id) leaks into the
 * child; `DOCKER_HOST` only when set. The testcontainers reaper is always off: label sweeping does
 * its job, and its image cannot be pulled without a registry.
 */
export function toEnv(protocol: RunProtocol): Record<string, string> {
  const env: Record<string, string> = {
    [V.runId]: protocol.runId ?? "",
    [V.ownerPid]: protocol.ownerPid === undefined ? "" : String(protocol.ownerPid),
    [V.parentPid]: protocol.parentPid === undefined ? "" : String(protocol.parentPid),
    [V.matrixFile]: protocol.matrixFile ?? "",
    [V.platforms]: (protocol.platforms ?? []).join(","),
    [V.pythons]: (protocol.pythons ?? []).join(","),
    [V.hosts]: (protocol.hosts ?? []).join(","),
    [V.skipImageBuild]: protocol.skipImageBuild ? "1" : "",
    [V.resultsDir]: protocol.resultsDir ?? "",
    [V.mutant]: protocol.mutant ?? "",
    [V.keep]: protocol.keep ?? "",
    TESTCONTAINERS_RYUK_DISABLED: "true",
  };
  if (protocol.dockerHost) env[V.dockerHost] = protocol.dockerHost;
  return env;
}

/** Reads the protocol back; an empty variable is an absent field, and an empty filter is no filter. */
export function fromEnv(env: Readonly<Record<string, string | undefined>> = process.env): RunProtocol {
  const text = (name: string): string | undefined => (env[name] ? env[name] : undefined);
  const pid = (name: string): number | undefined => {
    const n = Number(text(name));
    return Number.isInteger(n) && n > 0 ? n : undefined;
  };
  // A new name that is present, even empty, was written by toEnv and overrides an inherited alias.
  const list = (name: string, alias?: string): string[] | undefined => {
    const items = (env[name] ?? (alias ? env[alias] : undefined) ?? "").split(",").map((v) => v.trim()).filter(Boolean);
    return items.length > 0 ? items : undefined;
  };
  const protocol: RunProtocol = {
    runId: text(V.runId),
    ownerPid: pid(V.ownerPid),
    parentPid: pid(V.parentPid),
    matrixFile: text(V.matrixFile),
    platforms: list(V.platforms, PROTOCOL_ALIASES.platforms),
    pythons: list(V.pythons, PROTOCOL_ALIASES.pythons),
    hosts: list(V.hosts),
    skipImageBuild: env[V.skipImageBuild] === "1" ? true : undefined,
    resultsDir: text(V.resultsDir),
    mutant: text(V.mutant),
    dockerHost: text(V.dockerHost),
    keep: text(V.keep),
  };
  return Object.fromEntries(Object.entries(protocol).filter(([, v]) => v !== undefined)) as RunProtocol;
}
